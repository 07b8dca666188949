"""Hostile corpora: nothing outside the corpus folder is read, and one bad entry never stops a build.

Every good article is indexed and every bad entry is reported with its path and reason."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from index.build import build_index
from index.ingest.loading import load_corpus
from tests.fakes import FakeEmbedder

SECRET = "DISCORD_TOKEN=sekrit-0123456789"


def write(root: Path, relpath: str | bytes, content: bytes | str) -> Path:
    path = Path(os.fsdecode(os.path.join(os.fsencode(root), os.fsencode(relpath))))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def errors_by_path(result) -> dict[str, str]:
    return {error.path: error.error for error in result.errors}


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A secret beside the corpus folder, as a .env file would be."""
    secret = tmp_path / "outside" / ".env"
    secret.parent.mkdir()
    secret.write_text(SECRET + "\n")
    return secret


def test_links_out_of_the_corpus_are_rejected_and_nothing_outside_is_read(tmp_path, outside):
    corpus = tmp_path / "corpus"
    write(corpus, "good.md", "# Gut\n\nAlpine plant nichts.")
    (corpus / "env.txt").symlink_to(outside)
    (corpus / "passwd.txt").symlink_to("/etc/passwd")
    (corpus / "status.txt").symlink_to("/proc/self/status")
    (corpus / "sub").mkdir()
    (corpus / "sub" / "up.md").symlink_to("../../outside/.env")

    result = load_corpus(corpus)

    assert [a.path for a in result.articles] == ["good.md"]
    errors = errors_by_path(result)
    assert set(errors) == {"env.txt", "passwd.txt", "status.txt", "sub/up.md"}
    assert all("outside the corpus folder" in error for error in errors.values())
    assert str(outside) in errors["env.txt"] and "/proc/" in errors["status.txt"]


def test_a_link_to_a_file_inside_the_corpus_is_read(tmp_path):
    write(tmp_path, "a/real.md", "# Echt\n\nText.")
    (tmp_path / "alias.md").symlink_to("a/real.md")
    result = load_corpus(tmp_path)
    assert [a.path for a in result.articles] == ["a/real.md", "alias.md"]
    assert result.errors == ()


def test_loops_dangling_links_and_special_files_are_reported(tmp_path):
    write(tmp_path, "good.md", "# Gut\n\nText.")
    (tmp_path / "self.md").symlink_to("self.md")
    (tmp_path / "ping.md").symlink_to("pong.md")
    (tmp_path / "pong.md").symlink_to("ping.md")
    (tmp_path / "gone.md").symlink_to("nowhere.md")
    os.mkfifo(tmp_path / "pipe.md")  # reading it would block the build forever
    (tmp_path / "null.txt").symlink_to("/dev/null")

    result = load_corpus(tmp_path)

    assert [a.path for a in result.articles] == ["good.md"]
    errors = errors_by_path(result)
    assert (
        errors["self.md"]
        == errors["ping.md"]
        == errors["pong.md"]
        == ("symlink loops: point it at a file in the corpus folder")
    )
    assert "dangling" in errors["gone.md"]
    assert errors["pipe.md"] == "not a regular file (a pipe): only regular files are read"
    assert "outside the corpus folder" in errors["null.txt"]


def test_a_file_swapped_for_a_pipe_after_the_listing_is_not_read(tmp_path, monkeypatch):
    from index.ingest import loading

    write(tmp_path, "good.md", "# Gut\n\nText.")
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    listed = loading._list_files
    monkeypatch.setattr(loading, "_list_files", lambda root: ([("x.md", "pipe"), *listed(root)[0]], [], []))
    result = load_corpus(tmp_path)
    assert [a.path for a in result.articles] == ["good.md"]
    assert errors_by_path(result) == {"x.md": "not a regular file (a pipe): only regular files are read"}


def test_a_file_swapped_for_a_link_out_of_the_corpus_after_the_listing_is_not_read(tmp_path, monkeypatch):
    from index.ingest import loading

    corpus = tmp_path / "corpus"
    write(corpus, "good.md", "# Gut\n\nText.")
    write(corpus, "swapped.md", "# Harmlos\n\nNichts Besonderes.")
    secret = write(tmp_path, "outside/secret.md", f"# Geheim\n\n{SECRET}\n")  # an article, if it were read
    listed = loading._list_files

    def list_then_swap(root):  # the listing saw a regular file; by the time it is read, it is a link
        found = listed(root)
        (corpus / "swapped.md").unlink()
        (corpus / "swapped.md").symlink_to(secret)
        return found

    monkeypatch.setattr(loading, "_list_files", list_then_swap)
    result = load_corpus(corpus)
    assert [a.path for a in result.articles] == ["good.md"]
    assert not any("sekrit" in a.text for a in result.articles)
    errors = errors_by_path(result)
    assert set(errors) == {"swapped.md"} and "symlink" in errors["swapped.md"]


@pytest.mark.parametrize("url", ["ftp://example.org/x", "javascript://example.org/%0Aalert(1)"])
def test_a_url_with_a_host_but_another_scheme_is_dropped(tmp_path, url):
    write(tmp_path, "a.md", f"---\ntitle: A\nurl: '{url}'\n---\nText.")
    result = load_corpus(tmp_path)
    assert [a.url for a in result.articles] == [""]
    (warning,) = result.warnings
    assert warning.path == "a.md" and f"{url!r} dropped: only http and https" in warning.error


def test_a_folder_swapped_for_a_link_out_of_the_corpus_after_the_listing_is_not_read(tmp_path, monkeypatch):
    """Files are listed first and read later: a sub-folder replaced by a link to a folder outside in
    between must not get the outside file read (every folder on the way is opened without following)."""
    from index.ingest import loading

    corpus, outside = tmp_path / "corpus", tmp_path / "outside"
    write(corpus, "good.md", "# Gut\n\nText.")
    write(corpus, "news/deep/a.md", "# Innen\n\nDer Artikel im Korpus.")
    write(outside, "deep/a.md", f"# Draußen\n\n{SECRET}")
    listed = loading._list_files

    def list_then_swap(root):
        found = listed(root)
        (corpus / "news").rename(tmp_path / "moved")
        (corpus / "news").symlink_to(outside, target_is_directory=True)
        return found

    monkeypatch.setattr(loading, "_list_files", list_then_swap)
    result = load_corpus(corpus)

    assert [a.path for a in result.articles] == ["good.md"]
    assert not any(SECRET in a.text for a in result.articles)
    assert errors_by_path(result) == {
        "news/deep/a.md": "the folder 'news' on its path was replaced by a symlink or a "
        "file after the listing: nothing outside the corpus folder is read; run the build again"
    }


def test_names_that_are_not_utf8_and_paths_too_long_are_reported(tmp_path):
    write(tmp_path, "good.md", "# Gut\n\nText.")
    write(tmp_path, b"caf\xe9.md", "# Café\n\nText.")
    write(tmp_path, b"ordner-\xff/a.md", "# A\n\nText.")
    fd = os.open(tmp_path, os.O_RDONLY)
    try:  # a path of over 5,000 characters, made one folder at a time relative to the last one
        for _ in range(20):
            os.mkdir("d" * 250, dir_fd=fd)
            fd, old = os.open("d" * 250, os.O_RDONLY, dir_fd=fd), fd
            os.close(old)
        with open(os.open("x.md", os.O_WRONLY | os.O_CREAT, dir_fd=fd), "w") as handle:
            handle.write("# Tief\n\nText.")
    finally:
        os.close(fd)

    result = load_corpus(tmp_path)

    assert [a.path for a in result.articles] == ["good.md"]
    errors = errors_by_path(result)
    assert errors["caf\\xe9.md"] == "the name is not UTF-8: rename it"
    assert errors["ordner-\\xff/"] == "the name is not UTF-8: rename it"
    (too_long,) = [path for path in errors if path.startswith("ddd")]
    assert "File name too long" in errors[too_long]


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("deep.jsonl", "[" * 100_000 + "]" * 100_000 + "\n", "nested too deeply"),
        (
            "deep.jsonl",
            '{"title": "T", "text": "x", "author": ' + "[" * 100_000 + "]" * 100_000 + "}\n",
            "nested too deeply",
        ),
        ("deep.md", "---\ntitle: " + "[" * 100_000 + "]" * 100_000 + "\n---\nText.\n", "nesting depth"),
    ],
)
def test_nesting_beyond_the_recursion_limit_rejects_the_entry_only(tmp_path, name, content, expected):
    write(tmp_path, "good.md", "# Gut\n\nText.")
    write(tmp_path, name, content)
    result = load_corpus(tmp_path)
    assert [a.path for a in result.articles] == ["good.md"]
    (error,) = result.errors
    assert error.path == name and expected in error.error


def test_only_http_and_https_urls_are_kept_and_the_rest_reported(tmp_path):
    records = [
        {"title": "A", "text": "Alpha.", "id": "a", "url": "https://example.org/a"},
        {"title": "B", "text": "Beta.", "id": "b", "url": "javascript:alert(document.cookie)"},
        {"title": "C", "text": "Gamma.", "id": "c", "url": "data:text/html,<script>x</script>"},
        {"title": "D", "text": "Delta.", "id": "d", "url": "HTTP://example.org/d"},
        {"title": "E", "text": "Eta.", "id": "e", "url": "https://exa mple.org/\x1b[2J"},
    ]
    write(tmp_path, "dump.jsonl", "".join(json.dumps(r) + "\n" for r in records))
    write(tmp_path, "page.html", '<link rel="canonical" href="file:///etc/passwd"><h1>T</h1><p>Text.</p>')
    result = load_corpus(tmp_path)
    urls = {a.id: a.url for a in result.articles}
    assert urls == {
        "a": "https://example.org/a",
        "b": "",
        "c": "",
        "d": "HTTP://example.org/d",
        "e": "",
        "page": "",
    }
    assert [(w.path, w.line) for w in result.warnings] == [
        ("dump.jsonl", 2),
        ("dump.jsonl", 3),
        ("dump.jsonl", 5),
        ("page.html", None),
    ]
    assert "'javascript:alert(document.cookie)' dropped: only http and https" in result.warnings[0].error
    assert result.errors == ()


def test_a_duplicate_id_keeps_the_first_and_names_the_file_that_lost(tmp_path):
    write(
        tmp_path, "a-dump.jsonl", json.dumps({"id": "zeta", "title": "Dump", "text": "Aus dem Dump."}) + "\n"
    )
    write(tmp_path, "zeta.md", "# Zeta\n\nDer echte Artikel.")
    result = load_corpus(tmp_path)
    assert [(a.id, a.path, a.text) for a in result.articles] == [("zeta", "a-dump.jsonl:1", "Aus dem Dump.")]
    (error,) = result.errors
    assert (error.path, error.line) == ("zeta.md", None)
    assert error.error.startswith("duplicate id 'zeta': a-dump.jsonl:1 already has it")


# --- generated hostile corpora ------------------------------------------------------------------------

_WORDS = st.text(alphabet="abcdefghijklmnopqrstuvwxyzäöüß", min_size=2, max_size=10)
_GOOD = st.builds(
    lambda title, words: (" ".join(title).capitalize(), " ".join(words).capitalize() + "."),
    st.lists(_WORDS, min_size=1, max_size=4),
    st.lists(_WORDS, min_size=3, max_size=30),
)
_NAME = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="/\x00"), max_size=25
)
_EXTENSION = st.sampled_from([".md", ".txt", ".html", ".jsonl", ".markdown", ".htm"])
_REPEATS = st.sampled_from([1, 40, 2_000])
_ALIASES = st.one_of(
    st.builds(  # a list of aliases to one long string
        lambda chars, count, field: (
            f'---\ntitle: T\nx: &a "{"x" * chars}"\n{field}: [{", ".join(["*a"] * count)}]\n---\nText.\n'
        ),
        st.sampled_from([1_000, 10_000]),
        st.sampled_from([200, 20_000]),
        st.sampled_from(["author", "title", "extra"]),
    ),
    st.builds(  # lists of lists of aliases: ten to the ninth strings
        lambda field: (
            "---\ntitle: T\na0: &a0 [lol]\n"
            + "".join(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 10))
            + f"{field}: *a9\n---\nText.\n"
        ),
        st.sampled_from(["author", "extra"]),
    ),
)
_NESTING = st.sampled_from(["[", '{"a":', "<ul><li>", "- ", "> ", "<div>"])


@st.composite
def hostile_entry(draw, number: int):
    """(relative name as bytes, kind, payload): a good article or one of the ways an entry goes bad."""
    kind = draw(
        st.sampled_from(
            ["good", "good", "bytes", "name", "bad-name", "nesting", "outside", "dangling", "loop", "fifo"]
            + ["aliases", "quotes"]
        )
    )
    stem = f"{number:02d}"
    if kind == "good":
        return (f"{stem}-good.md".encode(), kind, draw(_GOOD))
    if kind == "aliases":  # a few KB of YAML that aliases write out to megabytes or more
        return (f"{stem}-aliases.md".encode(), kind, draw(_ALIASES))
    if kind == "quotes":  # one long paragraph of short quotations, each going on after its closing mark
        title, _ = draw(_GOOD)
        quote = draw(st.sampled_from(['"Gut. Wir kommen" sagt Er. ', "„Ja. Nein“, sagt sie. Dr. X kam. "]))
        return (f"{stem}-quotes.md".encode(), kind, (title, (quote * draw(_REPEATS)).strip()))
    if kind == "bytes":
        return (f"{stem}-bytes{draw(_EXTENSION)}".encode(), kind, draw(st.binary(max_size=300)))
    if kind == "name":  # any name, control characters included, with good content
        return (f"{stem}{draw(_NAME)}{draw(_EXTENSION)}".encode(), kind, draw(_GOOD))
    if kind == "bad-name":
        return (
            stem.encode()
            + draw(st.binary(min_size=1, max_size=8)).replace(b"/", b"\xff").replace(b"\x00", b"\xfe")
            + b"\xff.md",
            kind,
            draw(_GOOD),
        )
    if kind == "nesting":
        opener, depth = draw(_NESTING), draw(st.sampled_from([50, 1_500, 5_000]))
        return (f"{stem}-deep{draw(_EXTENSION)}".encode(), kind, opener * depth)
    return (f"{stem}-{kind}{draw(_EXTENSION)}".encode(), kind, None)


def _materialize(corpus: Path, secret: Path, entry) -> None:
    raw_name, kind, payload = entry
    path = os.path.join(os.fsencode(corpus), raw_name)
    if kind in ("good", "name", "bad-name", "quotes"):
        title, body = payload
        with open(path, "wb") as handle:  # every format reads "title line, blank line, body" as an article
            text = f"# {title}\n\n{body}\n"
            if raw_name.endswith(b".jsonl"):
                text = json.dumps({"title": title, "text": body}) + "\n"
            elif raw_name.endswith((b".html", b".htm")):
                text = f"<h1>{title}</h1><p>{body}</p>"
            elif raw_name.endswith(b".txt"):
                text = f"{title}\n\n{body}\n"
            handle.write(text.encode())
    elif kind in ("bytes", "nesting", "aliases"):
        with open(path, "wb") as handle:
            handle.write(payload.encode() if isinstance(payload, str) else payload)
    elif kind == "outside":
        os.symlink(os.fsencode(secret), path)
    elif kind == "dangling":
        os.symlink(b"does-not-exist.md", path)
    elif kind == "loop":
        os.symlink(os.path.basename(path), path)
    elif kind == "fifo":
        os.mkfifo(path)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.integers(), min_size=1, max_size=12).flatmap(
        lambda ids: st.tuples(*[hostile_entry(number) for number in range(len(ids))])
    )
)
def test_a_generated_hostile_corpus_builds_with_every_good_article_and_a_reason_for_every_bad_entry(
    entries,
):
    with tempfile.TemporaryDirectory() as scratch:
        corpus, index_dir = Path(scratch) / "corpus", Path(scratch) / "index"
        corpus.mkdir()
        secret = Path(scratch) / "secret.md"
        secret.write_text(f"# Secret\n\n{SECRET}\n")
        for entry in entries:
            _materialize(corpus, secret, entry)

        result = load_corpus(corpus)
        shown = {raw.decode("utf-8", "backslashreplace"): kind for raw, kind, _ in entries}
        articles_at = {
            a.path.split(".jsonl:")[0] + (".jsonl" if ".jsonl:" in a.path else ""): a for a in result.articles
        }
        errors_at = {error.path: error for error in result.errors}
        for name, kind in shown.items():
            if kind in ("good", "name", "quotes"):
                assert name in articles_at, (name, errors_at.get(name))
                body = next(payload for raw, _, payload in entries if raw.decode("utf-8", "replace") == name)[
                    1
                ]
                assert articles_at[name].text == body
            elif kind in ("bytes", "nesting", "aliases"):  # "[[[..." is a fine plain-text article
                assert (name in articles_at) != (name in errors_at), name
            elif kind == "aliases":
                assert "YAML aliases" in errors_at[name].error or "characters long" in errors_at[name].error
            else:
                assert name in errors_at and errors_at[name].error, (name, kind)
        assert not any("sekrit" in a.text for a in result.articles)

        if result.articles:
            embedder = FakeEmbedder()
            report = build_index(corpus, index_dir, model_id=embedder.model_id, get_embedder=lambda: embedder)
            assert report.articles == len(result.articles)
            assert report.errors == result.errors
