"""Read a corpus folder into Articles: Markdown with front matter, plain text, HTML and JSON Lines.

Every file (every JSONL line) becomes an Article or a LoadError; one bad file never stops the rest.
Article text is verbatim apart from a stripped BOM, LF line ends and stripped outer whitespace, because
quotes are later checked as substrings of it. HTML is the exception: its text is extracted from markup.

Only regular files under the corpus folder are read: a symlink whose target lies outside it, a dangling
or looping link and a pipe, device or socket are rejected with the reason. Files are opened relative to the
corpus folder, folder by folder without following links, so a folder swapped for a link after the listing is
not entered. A Pitwall index folder inside the corpus folder is skipped. A URL that is not http(s) is
dropped from its article and reported as a warning.
"""

from __future__ import annotations

import datetime as dt
import errno
import hashlib
import itertools
import json
import logging
import os
import re
import stat
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import BinaryIO
from urllib.parse import urlsplit

import yaml

from index.documents import INDEX_MARKER, Article, LoadError
from index.errors import UserError
from index.ingest.html_text import extract_html
from index.text.language import detect_language

_FORMATS = {".md": "markdown", ".markdown": "markdown", ".txt": "text", ".html": "html", ".htm": "html"}
_JSONL = ".jsonl"
_FIELDS = ("id", "title", "text", "url", "published", "source", "language", "author")
_FRONT_MATTER_START = re.compile(r"\A---[ \t]*\n")
_FRONT_MATTER_END = re.compile(r"^(?:---|\.\.\.)[ \t]*$", re.MULTILINE)
_SETEXT_UNDERLINE = re.compile(r"\A(?:=+|-+)[ \t]*(?:\n|\Z)")
_BLANK_LINE = re.compile(r"\n[ \t]*\n")
_SENTENCE_END = re.compile(r"[^\W\d_]{2}[.!?…](?=\s|\Z)")
_LANGUAGE = re.compile(r"([A-Za-z]{2})(?:[-_][A-Za-z0-9]{1,8})*")
_WEB_SCHEMES = ("http", "https")
# Part of every file digest: bump it when parsing changes what a file gives, and every file is parsed again.
LOADER_VERSION = 1
_MAX_TITLE_LINE = 150  # a longer first line of a .txt file is a paragraph, not a headline
_DERIVED_TITLE = 80
# A metadata field (every one but the text) and the front matter with its YAML aliases written out: aliases
# repeat text without taking room in the file (20,000 of a 10 KB string: a 90 KB file, a 200 MB author).
MAX_FIELD_CHARS = 10_000
MAX_FRONT_MATTER_CHARS = 100_000
# A corpus folder with more files than this of other kinds is likely not the folder meant (`--corpus /`)
MANY_OTHER_FILES = 10_000
LISTING_PROGRESS_EVERY = 100_000  # entries listed between two progress lines
log = logging.getLogger(__name__)
_GENERATION = re.compile(r"gen-[0-9TZ]+")  # what `current` names in a Pitwall index folder
_AN_INDEX = "a Pitwall index folder: skipped, its files are not articles"


_Loaded = Article | LoadError


class CorpusError(UserError):
    """The corpus folder itself cannot be read (missing, not a folder, no permission)."""


@dataclass(frozen=True)
class LoadResult:
    """Articles and problems, each sorted by relative path, then line. `warnings` are articles that were
    indexed without something they had (a URL that is not http or https)."""

    articles: tuple[Article, ...]
    errors: tuple[LoadError, ...]
    warnings: tuple[LoadError, ...] = ()
    # relative path -> digest of each file every entry of which became an article as written: a build
    # records them, and the next one reuses those articles while the bytes are unchanged (KnownFile)
    sources: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class KnownFile:
    """What the last build read from one file: the digest of its bytes and the articles they gave."""

    digest: str
    articles: tuple[Article, ...]


def known_files(sources: Mapping[str, str], articles: Iterable[Article]) -> dict[str, KnownFile]:
    """KnownFile of each source of an index, from its recorded digests and its articles."""
    by_file: dict[str, list[Article]] = {}
    for article in articles:
        source = article.path if article.path in sources else article.path.rpartition(":")[0]
        by_file.setdefault(source, []).append(article)
    return {path: KnownFile(digest, tuple(by_file.get(path, ()))) for path, digest in sources.items()}


class _Rejected(Exception):
    """Why one file or line is not an article; becomes a LoadError."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


def load_corpus(
    root: Path, *, max_file_bytes: int = 10_000_000, known: Mapping[str, KnownFile] | None = None
) -> LoadResult:
    """Load every supported file under `root` (recursively; hidden names and other extensions are skipped).

    `known`: what the last build read from each file (LoadResult.sources and the articles it indexed); a
    file whose bytes are unchanged gives those articles again without being parsed."""
    known = known or {}
    articles: list[Article] = []
    errors: list[LoadError] = []
    warnings: list[LoadError] = []
    sources: dict[str, str] = {}
    first_path_of_id: dict[str, str] = {}
    if Path(os.path.realpath(root)) == Path("/"):
        log.warning("the corpus folder %s is the root of the file system: every file on it is listed", root)
    files, listing_errors, indexes = _list_files(Path(root))
    errors.extend(listing_errors)
    warnings.extend(LoadError(folder, _AN_INDEX) for folder in indexes)
    with _opened_folder(Path(root)) as root_fd:
        for relpath, path in files:
            entries, digest = _load_file(relpath, root_fd, path, max_file_bytes, known.get(relpath))
            clean = bool(digest)  # every entry of the file indexed as it was written
            for line, loaded in entries:
                if isinstance(loaded, LoadError):
                    errors.append(loaded)
                    clean = False
                    continue
                first = first_path_of_id.setdefault(loaded.id, loaded.path)
                if first != loaded.path:  # the first one seen keeps the id; this one is reported
                    message = (
                        f"duplicate id {loaded.id!r}: {first} already has it; give this article its own id"
                    )
                    errors.append(LoadError(relpath, message, line))
                    clean = False
                    continue
                if loaded.url and not _is_web_url(loaded.url):
                    warning = f"url {loaded.url!r} dropped: only http and https links are kept"
                    warnings.append(LoadError(relpath, warning, line))
                    loaded = replace(loaded, url="")
                    clean = False
                articles.append(loaded)
            if clean:
                sources[relpath] = digest
    errors.sort(key=lambda error: (error.path, error.line or 0))
    return LoadResult(tuple(articles), tuple(errors), tuple(warnings), sources)


def _is_web_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return (
        parts.scheme.lower() in _WEB_SCHEMES and bool(parts.netloc) and url.isprintable() and " " not in url
    )


@contextmanager
def _opened_folder(root: Path) -> Iterator[int]:
    """A descriptor of the corpus folder, which every file is read relative to."""
    try:
        fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as error:
        raise CorpusError(f"cannot read corpus folder {root}: {error.strerror or error}") from error
    try:
        yield fd
    finally:
        os.close(fd)


def _list_files(root: Path) -> tuple[list[tuple[str, str]], list[LoadError], list[str]]:
    """(POSIX path relative to root, path to read relative to root) of every supported, non-hidden regular
    file under `root`, sorted by relative path; and the entries rejected on the way (a folder that cannot be
    read, a link out of the corpus, a special file, a name that is not UTF-8); and the folders skipped
    as Pitwall indexes (an index folder inside the corpus folder).

    A symlinked file is read when its target is a regular file inside the corpus folder; symlinked folders
    are not entered (no loops). Only a root that cannot be read at all is a CorpusError."""
    if not root.is_dir():
        problem = "is not a folder" if root.exists() else "does not exist"
        raise CorpusError(f"corpus folder {root} {problem}; expected a folder of .md, .txt, .html, .jsonl")
    real_root = Path(os.path.realpath(root))
    found: list[tuple[str, str]] = []
    errors: list[LoadError] = []
    indexes: list[str] = []
    watch = _ListingWatch(root)
    pending = [(root, "")]
    while pending:
        folder, prefix = pending.pop()
        try:
            with os.scandir(folder) as scan:
                entries = list(scan)
        except OSError as error:
            if not prefix:
                raise CorpusError(f"cannot read corpus folder {folder}: {error.strerror or error}") from error
            errors.append(LoadError(prefix, f"cannot read folder: {error.strerror or error}"))
            continue
        if prefix and _is_index(entries):
            indexes.append(_escaped_name(prefix))
            continue
        for entry in entries:
            relpath = prefix + entry.name
            watch.entry(len(found))
            if entry.name.startswith("."):
                continue
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
                if not is_dir and _extension(entry.name) not in (*_FORMATS, _JSONL):
                    watch.other_file()
                    continue
                if _escaped_name(relpath) != relpath:
                    raise _Rejected("the name is not UTF-8: rename it")
                if is_dir:
                    pending.append((Path(entry.path), relpath + "/"))
                else:
                    found.append((relpath, _regular_file(entry, relpath, real_root)))
            except _Rejected as rejected:
                errors.append(LoadError(_escaped_name(relpath) + ("/" if is_dir else ""), str(rejected)))
            except OSError as error:
                errors.append(LoadError(_escaped_name(relpath), f"cannot read: {error.strerror or error}"))
    return sorted(found), errors, sorted(indexes)


class _ListingWatch:
    """Says on stderr (a warning in the log) how far the listing of a large corpus folder got, and once
    when the folder holds more files of other kinds than a corpus would (`--corpus /`, `--corpus ~`)."""

    def __init__(self, root: Path) -> None:
        self._root = root
        self._listed = self._others = 0

    def entry(self, articles: int) -> None:
        self._listed += 1
        if self._listed % LISTING_PROGRESS_EVERY == 0:
            log.warning(
                "listing the corpus folder %s: %s entries so far, %s article files",
                self._root,
                f"{self._listed:,}",
                f"{articles:,}",
            )

    def other_file(self) -> None:
        self._others += 1
        if self._others == MANY_OTHER_FILES + 1:
            log.warning(
                "the corpus folder %s holds more than %s files that are not articles (.md, .txt, .html, "
                ".jsonl): is it the folder meant?",
                self._root,
                f"{MANY_OTHER_FILES:,}",
            )


def _is_index(entries: list[os.DirEntry[str]]) -> bool:
    """A folder with these entries is a Pitwall index: it has the marker, or a `current` link to a
    generation (an index built before there was a marker)."""
    for entry in entries:
        if entry.name == INDEX_MARKER:
            return True
        if entry.name == "current" and entry.is_symlink():
            try:
                if _GENERATION.fullmatch(os.readlink(entry.path)):
                    return True
            except OSError:
                pass
    return False


def _escaped_name(relpath: str) -> str:
    """The path with bytes that are not UTF-8 written as \\xNN (os.scandir keeps them as surrogates)."""
    return relpath.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _regular_file(entry: os.DirEntry[str], relpath: str, real_root: Path) -> str:
    """The path to read for `entry`, relative to the corpus folder: its own, or a symlink's target's."""
    path = Path(entry.path)
    if entry.is_symlink():
        try:
            target = Path(os.path.realpath(path, strict=True))
        except OSError as error:
            reasons = {errno.ELOOP: "loops", errno.ENOENT: "is dangling (its target does not exist)"}
            reason = reasons.get(error.errno or 0, f"cannot be followed ({error.strerror})")
            raise _Rejected(f"symlink {reason}: point it at a file in the corpus folder") from None
        if not target.is_relative_to(real_root):
            raise _Rejected(
                f"symlink to {target}, outside the corpus folder: only files under the corpus folder are read"
            )
        path, relpath = target, target.relative_to(real_root).as_posix()
    mode = path.stat().st_mode
    if not stat.S_ISREG(mode):
        raise _Rejected(f"not a regular file ({_file_kind(mode)}): only regular files are read")
    return relpath


def _file_kind(mode: int) -> str:
    kinds = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a pipe"), (stat.S_ISSOCK, "a socket"))
    kinds += ((stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))
    return next((name for test, name in kinds if test(mode)), "a special file")


def _load_file(
    relpath: str, root_fd: int, path: str, max_file_bytes: int, known: KnownFile | None
) -> tuple[list[tuple[int | None, _Loaded]], str]:
    """(line, Article or LoadError) for each article the file holds (one, or one per JSONL line), and
    the digest of its bytes ("" when it cannot be read). Unchanged bytes give the known articles."""
    try:
        data = _read(root_fd, path, max_file_bytes)
    except _Rejected as rejected:
        return [(rejected.line, LoadError(relpath, str(rejected), rejected.line))], ""
    digest = f"{LOADER_VERSION}:{hashlib.sha256(data).hexdigest()}"
    if known is not None and known.digest == digest and known.articles:
        return [(_line_of(article, relpath), article) for article in known.articles], digest
    return list(_parse_file(relpath, data)), digest


def _line_of(article: Article, relpath: str) -> int | None:
    return int(article.path.rpartition(":")[2]) if article.path != relpath else None


def _parse_file(relpath: str, data: bytes) -> Iterator[tuple[int | None, _Loaded]]:
    try:
        if _extension(relpath) == _JSONL:
            yield from _jsonl_articles(data, relpath)
            return
        text = _decode(data)
        if not _visible(text):
            raise _Rejected(
                "empty file (nothing but whitespace and invisible characters such as zero-width spaces); "
                "expected an article"
            )
        kind = _FORMATS[_extension(relpath)]
        parse = _markdown if kind == "markdown" else _plain_text if kind == "text" else _html
        yield None, _guarded(parse, text, relpath)
    except _Rejected as rejected:
        yield rejected.line, LoadError(relpath, str(rejected), rejected.line)


def _guarded(parse: Callable[..., Article], *args: object) -> Article:
    """`parse(*args)`, with a failure no check foresaw turned into a rejection of this entry."""
    try:
        return parse(*args)
    except _Rejected:
        raise
    except RecursionError:
        raise _Rejected("nested too deeply to be read: flatten the brackets, lists or tags") from None
    except Exception as error:  # noqa: BLE001 - one bad entry must never stop the build
        raise _Rejected(f"cannot be read ({type(error).__name__}: {error})") from None


def _read(root_fd: int, path: str, max_file_bytes: int) -> bytes:
    """The bytes of the file at `path` under the corpus folder `root_fd`, its size checked on the open file
    first; rejects binary and empty files.

    Opened without following a symlink anywhere on its path and without blocking, so a file or folder
    swapped for a link or a pipe after the listing is not read."""
    try:
        fd = _open_below(root_fd, path)
        with os.fdopen(fd, "rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise _Rejected(
                    f"not a regular file ({_file_kind(info.st_mode)}): only regular files are read"
                )
            if info.st_size > max_file_bytes:
                raise _Rejected(
                    f"file is too large: {info.st_size:,} bytes, the limit is {max_file_bytes:,} bytes; "
                    "split it into smaller files or raise max_file_bytes"
                )
            data = _read_at_most(handle, max_file_bytes)
    except OSError as error:
        reason = "it is a symlink" if error.errno == errno.ELOOP else error.strerror or error
        raise _Rejected(f"cannot read file: {reason}") from error
    if b"\x00" in data:
        raise _Rejected("binary file (contains NUL bytes); expected UTF-8 text")
    if not data.removeprefix(b"\xef\xbb\xbf").strip():  # a BOM alone is empty too
        raise _Rejected("empty file (nothing but whitespace); expected an article")
    return data


def _open_below(root_fd: int, path: str) -> int:
    """A descriptor of the file at `path` under the folder `root_fd`, each folder on the way opened relative
    to the one before and without following a link."""
    *folders, name = path.split("/")
    fd = root_fd
    try:
        for folder in folders:
            try:
                inner = os.open(
                    folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd
                )
            except OSError as error:
                if error.errno not in (errno.ELOOP, errno.ENOTDIR):
                    raise
                raise _Rejected(
                    f"the folder {folder!r} on its path was replaced by a symlink or a file after the "
                    "listing: nothing outside the corpus folder is read; run the build again"
                ) from None
            if fd != root_fd:
                os.close(fd)
            fd = inner
        return os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=fd)
    finally:
        if fd != root_fd:
            os.close(fd)


def _read_at_most(handle: BinaryIO, max_file_bytes: int) -> bytes:
    data = handle.read(max_file_bytes + 1)
    if len(data) > max_file_bytes:  # it grew after the size check
        raise _Rejected(f"file is too large: over {max_file_bytes:,} bytes; split it into smaller files")
    return data


def _decode(data: bytes, line: int | None = None) -> str:
    """UTF-8 (a BOM is dropped) with LF line ends."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        bad_line = line or data[: error.start].count(b"\n") + 1
        raise _Rejected(
            f"not UTF-8: byte 0x{data[error.start]:02X} on line {bad_line} cannot be decoded; "
            "save the file as UTF-8",
            bad_line,
        ) from error
    return _normalize_newlines(text)


def _normalize_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


def _markdown(text: str, relpath: str) -> Article:
    start = _FRONT_MATTER_START.match(text)
    if start is None:
        title, body = _split_heading(text.strip())
        if not title:
            raise _Rejected("missing title: the first line is only '#'; start the file with a title line")
        return _article({"title": title, "text": _require_body(body, "after the title line")}, relpath)
    end = _FRONT_MATTER_END.search(text, start.end())
    if end is None:
        raise _Rejected("front matter is not closed: line 1 opens it with '---' but no '---' line ends it", 1)
    fields = _string_fields(_parse_front_matter(text[start.end() : end.start()]))
    fields["text"] = text[end.end() :].strip()
    if not fields["title"]:
        if not fields["text"].startswith("# "):
            raise _Rejected(
                "missing title: add 'title: ...' to the front matter (or start the body with a '# ' heading)"
            )
        fields["title"], fields["text"] = _split_heading(fields["text"])
    _require_body(fields["text"], "after the front matter")
    return _article(fields, relpath)


def _parse_front_matter(source: str) -> Mapping[str, object]:
    try:
        meta = yaml.load(source, Loader=_FrontMatterLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 2 if mark is not None else None  # YAML counts from 0; the opening '---' is line 1
        problem = getattr(error, "problem", None) or str(error)
        raise _Rejected(
            f"front matter is not valid YAML: {problem} on line {line}; "
            "write one 'key: value' per line and quote values that contain ': ' or start with a quote",
            line,
        ) from error
    if meta is None:
        return {}
    if _expanded_size(meta, MAX_FRONT_MATTER_CHARS) > MAX_FRONT_MATTER_CHARS:
        raise _Rejected(
            f"front matter is over {MAX_FRONT_MATTER_CHARS:,} characters with its YAML aliases (*name) "
            "written out: write each value once, without aliases"
        )
    if not isinstance(meta, dict):
        raise _Rejected(f"front matter must be 'key: value' lines (a YAML mapping), not {_kind(meta)}")
    return meta


def _expanded_size(value: object, limit: int) -> int:
    """Characters of `value` with every alias written out (each string, list and mapping counts one more),
    counted only up to just past `limit`: a billion aliases, or a list that holds itself, end the count."""
    size = 0
    pending: list[Iterator[object]] = [iter((value,))]
    while pending and size <= limit:
        item = next(pending[-1], pending)  # the list itself marks the end of an iterator
        if item is pending:
            pending.pop()
            continue
        size += 1 + (len(item) if isinstance(item, str) else 0)
        if isinstance(item, dict):
            pending.append(itertools.chain.from_iterable(item.items()))
        elif isinstance(item, list):
            pending.append(iter(item))
    return size


def _plain_text(text: str, relpath: str) -> Article:
    text = text.strip()
    first, _, rest = text.partition("\n")
    first, rest = first.strip(), rest.strip()
    if rest and _BLANK_LINE.search(text) and _looks_like_title(first):
        return _article({"title": first, "text": rest}, relpath)
    return _article({"title": _title_from(text), "text": text}, relpath)


def _html(text: str, relpath: str) -> Article:
    page = extract_html(text)
    if not page.title:
        raise _Rejected("missing title: the page has no og:title meta tag, <h1> or <title>")
    body = _require_body(page.text, "in the page's <article>, <main> or <body>")
    language = page.language if _LANGUAGE.fullmatch(page.language) else ""  # a page's lang="..." is a hint
    fields = {**asdict(page), "text": body, "language": language, "id": ""}
    return _article(fields, relpath)


def _jsonl_articles(data: bytes, relpath: str) -> Iterator[tuple[int, _Loaded]]:
    """One article per non-blank line; a bad line is a LoadError with its 1-based line number."""
    data = data.removeprefix(b"\xef\xbb\xbf")
    for number, raw in enumerate(data.split(b"\n"), start=1):
        if not raw.strip():
            continue
        try:
            yield number, _guarded(_jsonl_article, raw, relpath, number)
        except _Rejected as rejected:
            yield number, LoadError(relpath, str(rejected), number)


def _jsonl_article(raw: bytes, relpath: str, number: int) -> Article:
    try:
        record = json.loads(_decode(raw, number))
    except json.JSONDecodeError as error:
        message = f"not valid JSON: {error.msg} at column {error.colno}; write one JSON object per line"
        raise _Rejected(message) from error
    if not isinstance(record, dict):
        raise _Rejected(f"expected a JSON object on each line, got {_kind(record)}")
    fields = _string_fields(record)
    fields["text"] = _require_body(_normalize_newlines(fields["text"]).strip(), "in 'text'")
    fields["title"] = fields["title"] or _title_from(fields["text"])
    location = f"{relpath}:{number}"
    return _article(fields, location, default_id=fields["url"] or location)


def _article(fields: Mapping[str, str], path: str, default_id: str | None = None) -> Article:
    """The Article from checked string fields; the id defaults to the path without its extension."""
    language = _language_code(fields.get("language", ""))
    return Article(
        id=fields.get("id") or default_id or str(PurePosixPath(path).with_suffix("")),
        title=fields["title"],
        text=fields["text"],
        source=fields.get("source", ""),
        url=fields.get("url", ""),
        published=_parse_date(fields.get("published", "")),
        language=language or detect_language(f"{fields['title']}\n{fields['text']}"),
        author=fields.get("author", ""),
        path=path,
    )


def _string_fields(record: Mapping[object, object]) -> dict[str, str]:
    """The known fields as stripped strings ("" when absent or null); other types are rejected."""
    fields: dict[str, str] = {}
    for key in _FIELDS:
        value = record.get(key)
        if key == "id" and isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        elif key == "author" and isinstance(value, list) and all(isinstance(name, str) for name in value):
            value = ", ".join(name.strip() for name in value)
        if value is not None and not isinstance(value, str):
            raise _Rejected(f"'{key}' must be a text, not {_kind(value)}: write {key}: \"...\"")
        fields[key] = "" if value is None else value if key == "text" else value.strip()
        if key != "text" and len(fields[key]) > MAX_FIELD_CHARS:
            raise _Rejected(
                f"'{key}' is {len(fields[key]):,} characters long, the limit is {MAX_FIELD_CHARS:,}: "
                "shorten it (the article's text belongs in the body)"
            )
    return fields


def _parse_date(value: str) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.datetime.fromisoformat(value).date()
    except ValueError:
        raise _Rejected(
            f"'published' is not an ISO date: {value!r}; write YYYY-MM-DD (e.g. 2024-10-01) "
            "or an ISO date and time (2024-10-01T09:30:00+02:00)"
        ) from None


def _language_code(value: str) -> str:
    if not value:
        return ""
    match = _LANGUAGE.fullmatch(value)
    if match is None:
        raise _Rejected(f"'language' must be a language code such as 'de', 'en' or 'de-DE', not {value!r}")
    return match.group(1).lower()


def _split_heading(text: str) -> tuple[str, str]:
    """A Markdown title line (leading '#' dropped, a setext underline skipped) and the rest."""
    first, _, rest = text.partition("\n")
    return first.lstrip("#").strip(), _SETEXT_UNDERLINE.sub("", rest, count=1).strip()


def _visible(text: str) -> bool:
    """Whether `text` has a character that shows: not whitespace, not a format character (zero-width
    space and joiner, word joiner, soft hyphen, byte order mark, direction marks)."""
    return any(not char.isspace() and unicodedata.category(char) != "Cf" for char in text)


def _require_body(body: str, where: str) -> str:
    if not _visible(body):
        raise _Rejected(f"missing body: no article text {where}")
    return body


def _looks_like_title(line: str) -> bool:
    """Headlines are short and do not end with a full stop (an ellipsis is fine)."""
    return len(line) <= _MAX_TITLE_LINE and (not line.endswith(".") or line.endswith("..."))


def _title_from(text: str) -> str:
    """The first sentence, or the first ~80 characters cut at a space, of the first line."""
    first_line = text.partition("\n")[0].strip()
    for end in _SENTENCE_END.finditer(first_line):
        if end.end() >= 20:  # skip "Dr." and the like at the start
            if end.end() <= _DERIVED_TITLE + 20:
                return first_line[: end.end()].removesuffix(".")
            break
    if len(first_line) <= _DERIVED_TITLE:
        return first_line
    return first_line[:_DERIVED_TITLE].rsplit(" ", 1)[0].rstrip(" ,;:-") + "…"


def _extension(name: str) -> str:
    return os.path.splitext(name)[1].lower()


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


class _FrontMatterLoader(yaml.CSafeLoader if hasattr(yaml, "CSafeLoader") else yaml.SafeLoader):  # type: ignore[misc]
    """SafeLoader that keeps every plain scalar a string, exactly as written: `published: 2024-10-01`,
    `id: 0012` and `title: yes` stay text instead of becoming a date, the number 10 or True."""

    yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag == "tag:yaml.org,2002:null"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
