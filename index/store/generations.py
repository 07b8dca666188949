"""The index directory: generations of files published atomically, and a manifest checked on load.

Layout of INDEX_DIR:
    .pitwall-index                          the marker written at the first build: builds write and delete
                                            only in a folder that has it (or an index from before it)
    current -> gen-20261126T101500123456   (a symlink, swapped atomically by each build)
    gen-.../manifest.json                   format, model, dimension, token limit, chunking, article hashes,
                                            FAISS index type
    gen-.../articles.jsonl                  one article per line (metadata and text)
    gen-.../chunks.npy                      int64 rows: article row, position, start, end
    gen-.../vectors.npy                     float32 unit vectors, one per chunk
    gen-.../units.npy                       int64 rows: article row, start, end of each quote unit (sentence)
    gen-.../unit_vectors.npy                float16 unit vectors, one per quote unit
    gen-.../dense.faiss                     the FAISS index over the vectors
    gen-.../bm25/                           the BM25 index (arrays and JSON, no pickle)

The manifest records every other file's size and SHA-256 (index/store/integrity.py); loading checks them and
the counts of what it reads, so a damaged file is one error naming it, never a wrong answer or a crash.
A build publishes a new generation and swaps `current`; it never deletes the generation `current`
points to, and keeps the one before (a reader may still be loading it).
"""

from __future__ import annotations

import datetime as dt
import errno
import json
import os
import re
import shutil
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from index.documents import INDEX_MARKER, Article, Chunk
from index.embed.embedding import settings_for_model_id
from index.errors import UserError
from index.store.dense import DenseIndex
from index.store.integrity import FileDamaged, file_record, json_checksum, verify_files, write_file
from index.text.lexical import LexicalIndex

if TYPE_CHECKING:
    from index.store.lease import Lease

# 2: quote units and their vectors; 3: each file's size and checksum; 4: compounds in BM25; 5: a long
# sentence's quote units in pieces (before, all but its first 320 characters were left out)
FORMAT_VERSION = 5
CURRENT = "current"
_GENERATION = re.compile(r"gen-[0-9TZ]+")
_ARRAYS = ("chunks.npy", "vectors.npy", "units.npy", "unit_vectors.npy")
_FILES = ("articles.jsonl", *_ARRAYS, "dense.faiss")  # and bm25/*


class IndexStoreError(UserError):
    """The index cannot be read or written; the message says what to do."""


class IndexNotFound(IndexStoreError):
    pass


class IndexMismatch(IndexStoreError):
    pass


class IndexBusy(IndexStoreError):
    pass


class IndexDamaged(IndexStoreError):
    """A file of the index is missing, truncated, garbled or does not match the others."""


class IndexFolderRefused(IndexStoreError):
    """The index folder is not one Pitwall may write into: a file, the corpus folder, or a folder of other
    files (a build deletes old generations there)."""


class IndexWriteError(IndexStoreError):
    """A new generation could not be written (no space left, ...); the previous one is still live."""


@dataclass(frozen=True)
class Manifest:
    format_version: int
    model_id: str
    dimension: int
    max_tokens: int
    chunking: dict
    article_hashes: dict[str, str]
    articles: int
    chunks: int
    built_at: str
    dense_index: str = "flat"  # the FAISS index type (index/store/dense.py KINDS)
    files: dict[str, dict] = field(default_factory=dict)  # name -> {"bytes", "sha256"}, filled by publish
    sources: dict[str, str] = field(default_factory=dict)  # corpus file -> digest (loading.LoadResult)

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> Manifest:
        """The manifest from its JSON; KeyError, TypeError or ValueError when a field is missing or wrong."""
        optional = {"sources": {}}
        manifest = cls(
            **{name: data[name] if name in data else optional[name] for name in cls.__dataclass_fields__}
        )
        types = {"format_version": int, "model_id": str, "dimension": int, "chunks": int, "articles": int}
        types |= {"article_hashes": dict, "files": dict, "chunking": dict, "max_tokens": int, "sources": dict}
        for name, kind in types.items():
            if not isinstance(getattr(manifest, name), kind):
                raise TypeError(f"'{name}' is not {kind.__name__}")
        return manifest


@dataclass(frozen=True)
class IndexData:
    """One generation of the index, in memory."""

    manifest: Manifest
    articles: tuple[Article, ...]
    chunk_table: np.ndarray  # (n, 4) int64: article row, position, start, end
    vectors: np.ndarray  # (n, dimension) float32
    dense: DenseIndex
    lexical: LexicalIndex
    unit_table: np.ndarray  # (m, 3) int64: article row, start, end of each quote unit, in article order
    unit_vectors: np.ndarray  # (m, dimension) float16

    def units_of(self, row: int) -> tuple[np.ndarray, np.ndarray]:
        """The quote units overlapping chunk `row`: their (k, 2) spans in the article and their vectors."""
        article_row, _, start, end = (int(x) for x in self.chunk_table[row])
        low, high = np.searchsorted(self.unit_table[:, 0], [article_row, article_row + 1])
        table = self.unit_table[low:high]
        keep = (table[:, 1] < end) & (table[:, 2] > start)
        return table[keep, 1:], np.asarray(self.unit_vectors[low:high][keep], dtype=np.float32)

    def chunk(self, row: int) -> Chunk:
        article_row, position, start, end = (int(x) for x in self.chunk_table[row])
        article = self.articles[article_row]
        return Chunk(article.id, position, start, end, article.text[start:end])

    def article_of(self, row: int) -> Article:
        return self.articles[int(self.chunk_table[row, 0])]


def current_generation(index_dir: Path) -> Path | None:
    """The generation `current` points to (None when there is no `current`); IndexDamaged when it points
    anywhere but at a generation folder of `index_dir`."""
    link = index_dir / CURRENT
    if index_dir.exists() and not index_dir.is_dir():
        raise IndexStoreError(
            f"the index folder {index_dir} is a file, not a folder: name the index folder with --index or "
            "PITWALL_INDEX_DIR"
        )
    try:
        target = os.readlink(link)
    except FileNotFoundError:
        return None
    except OSError as error:  # not a symlink
        raise IndexDamaged(
            f"{link} is not a link to a generation ({error.strerror}): remove it and re-index "
            "with `pitwall index`"
        ) from None
    if not _GENERATION.fullmatch(target):
        raise IndexDamaged(
            f"{link} points to {target!r}, not to a generation in {index_dir}: remove it and re-index "
            "with `pitwall index`"
        )
    return index_dir.resolve() / target


def read_manifest(index_dir: Path) -> Manifest | None:
    """The live generation's manifest; None when there is none or it cannot be read (a build then
    starts from scratch)."""
    try:
        generation = current_generation(index_dir)
        if generation is None:
            return None
        return _read_manifest_file(generation)
    except (IndexDamaged, OSError, ValueError, KeyError, TypeError):
        return None


def _read_manifest_file(generation: Path) -> Manifest:
    """The manifest, checked against its own checksum; OSError, ValueError, KeyError or TypeError."""
    document = json.loads((generation / "manifest.json").read_text(encoding="utf-8"))
    if not isinstance(document, dict):
        raise TypeError("the manifest is not a JSON object")
    checksum = document.pop("checksum", None)
    manifest = Manifest.from_json(document)
    if checksum != json_checksum(document):
        raise ValueError("its checksum does not match its contents")
    return manifest


def _manifest_bytes(manifest: Manifest) -> bytes:
    document = manifest.to_json()
    return json.dumps({**document, "checksum": json_checksum(document)}, indent=2).encode()


def load_index(index_dir: Path, *, model_id: str, mmap: bool | None = None, verify: bool = True) -> IndexData:
    """The published index, checked against the settings it will be queried with and against its
    manifest (sizes and checksums of its files, counts of what they hold).

    `mmap`: True maps every array from disk, False reads them into memory, None (the default) maps the
    vectors and the FAISS index of a large (approximate) index and reads a small one. `verify`: False
    skips the checksums (sizes and counts are always checked).
    """
    for _ in range(3):
        generation = current_generation(index_dir)
        if generation is None:
            raise IndexNotFound(f"no index in {index_dir}: run `pitwall index` to build it")
        try:
            return _load_generation(generation, index_dir, model_id, mmap, verify)
        except IndexDamaged:
            if current_generation(index_dir) == generation and generation.exists():
                raise
            # builds were published while we read, and the generation we chose is gone: read the new one
    raise IndexStoreError(f"the index in {index_dir} keeps changing while it is read; try again")


def read_articles(index_dir: Path) -> tuple[Article, ...]:
    """The live generation's articles alone (its size and checksum checked); IndexStoreError when there
    is no sound index."""
    generation = current_generation(index_dir)
    if generation is None:
        raise IndexNotFound(f"no index in {index_dir}")
    manifest = _verified_manifest(generation, verify=False)
    try:
        verify_files(generation, {"articles.jsonl": manifest.files["articles.jsonl"]})
    except FileDamaged as damage:
        raise _damaged(generation, damage) from None
    return _read(generation, "articles.jsonl", _read_articles)


def record_sources(index_dir: Path, sources: dict[str, str]) -> None:
    """Replace the live manifest's record of the corpus files (atomically: a reader sees the old or the
    new manifest, and the index files they describe are the same). Only a saving for the next run: when
    it cannot be written (a full disk), the manifest stays as it was."""
    generation = current_generation(index_dir)
    if generation is None:
        return
    manifest = replace(_read_manifest_file(generation), sources=dict(sources))
    staged = generation / ".manifest.json.tmp"
    try:
        write_file(staged, lambda out: out.write(_manifest_bytes(manifest)))
        os.replace(staged, generation / "manifest.json")
    except OSError:
        staged.unlink(missing_ok=True)


def verify_index(index_dir: Path) -> None:
    """IndexDamaged unless the live generation's files are the ones its build wrote (sizes, checksums)."""
    generation = current_generation(index_dir)
    if generation is not None:
        _verified_manifest(generation, verify=True)


def _load_generation(
    generation: Path, index_dir: Path, model_id: str, mmap: bool | None, verify: bool
) -> IndexData:
    manifest = _verified_manifest(generation, verify, model_id)
    map_vectors = mmap if mmap is not None else manifest.dense_index != "flat"
    array_mode = "r" if map_vectors else None

    def array(name: str, mode: str | None = None) -> np.ndarray:
        return _read(generation, name, lambda path: np.load(path, allow_pickle=False, mmap_mode=mode))

    data = IndexData(
        manifest=manifest,
        articles=_read(generation, "articles.jsonl", _read_articles),
        chunk_table=array("chunks.npy"),
        vectors=array("vectors.npy", array_mode),
        dense=_read(generation, "dense.faiss", lambda path: DenseIndex.load(path, mmap=map_vectors)),
        lexical=_read(
            generation, "bm25", lambda path: LexicalIndex.load(path, size=manifest.chunks, mmap=bool(mmap))
        ),
        unit_table=array("units.npy"),
        unit_vectors=array("unit_vectors.npy", array_mode),
    )
    try:
        _check_counts(data)
    except FileDamaged as damage:
        raise _damaged(generation, damage) from None
    return data


def _verified_manifest(generation: Path, verify: bool, model_id: str | None = None) -> Manifest:
    """The manifest, the format and model checked, every file's size (and with `verify` its checksum)."""
    try:
        manifest = _read_manifest_file(generation)
    except FileNotFoundError:
        raise _damaged(generation, FileDamaged("manifest.json", "the file is missing")) from None
    except (OSError, ValueError, KeyError, TypeError) as error:
        if isinstance(error, KeyError | TypeError) and _format_of(generation) not in (None, FORMAT_VERSION):
            raise _old_format(generation, _format_of(generation)) from None
        raise _damaged(generation, FileDamaged("manifest.json", _reason(error))) from None
    if manifest.format_version != FORMAT_VERSION:
        raise _old_format(generation, manifest.format_version)
    if model_id is not None and manifest.model_id != model_id:
        raise IndexMismatch(
            f"the index in {generation.parent} was built with the model {manifest.model_id!r}, but the "
            f"settings ask for {model_id!r}: re-index with `pitwall index` "
            f"(or set {settings_for_model_id(manifest.model_id)})"
        )
    missing = [name for name in _FILES if name not in manifest.files]
    if missing or not any(name.startswith("bm25/") for name in manifest.files):
        reason = f"it lists no {missing[0] if missing else 'bm25/ file'}"
        raise _damaged(generation, FileDamaged("manifest.json", reason))
    try:
        verify_files(generation, manifest.files, checksums=verify)
    except FileDamaged as damage:
        raise _damaged(generation, damage) from None
    return manifest


def _format_of(generation: Path) -> object:
    try:
        return json.loads((generation / "manifest.json").read_text(encoding="utf-8")).get("format_version")
    except (OSError, ValueError, AttributeError):
        return None


def _old_format(generation: Path, version: object) -> IndexMismatch:
    return IndexMismatch(
        f"the index in {generation.parent} has format {version}, this Pitwall reads format "
        f"{FORMAT_VERSION}: re-index with `pitwall index`"
    )


def _read(generation: Path, name: str, read: Callable[[Path], object]):
    """`read(generation / name)`; any failure is IndexDamaged naming the file."""
    try:
        return read(generation / name)
    except IndexStoreError:
        raise
    except Exception as error:  # noqa: BLE001 - numpy, faiss, bm25s and json each fail their own way
        raise _damaged(generation, FileDamaged(name, _reason(error))) from None


def _read_articles(path: Path) -> tuple[Article, ...]:
    with open(path, encoding="utf-8") as lines:
        return tuple(Article.from_json(json.loads(line)) for line in lines)


def _check_counts(data: IndexData) -> None:
    """FileDamaged for the first file whose contents do not fit the manifest or the other files."""
    manifest, chunks, units = data.manifest, data.chunk_table, data.unit_table
    if len(data.articles) != manifest.articles:
        raise FileDamaged(
            "articles.jsonl", f"{len(data.articles)} articles, the manifest says {manifest.articles}"
        )
    if {article.id for article in data.articles} != manifest.article_hashes.keys():
        raise FileDamaged("articles.jsonl", "its article ids are not the ones in the manifest")
    expected = {
        "chunks.npy": (chunks, (manifest.chunks, 4), np.int64),
        "vectors.npy": (data.vectors, (manifest.chunks, manifest.dimension), np.float32),
        "units.npy": (units, (len(units), 3), np.int64),
        "unit_vectors.npy": (data.unit_vectors, (len(units), manifest.dimension), np.float16),
    }
    for name, (array, shape, dtype) in expected.items():
        if array.shape != shape or array.dtype != dtype:
            raise FileDamaged(
                name, f"{array.dtype}{list(array.shape)} where {np.dtype(dtype)}{list(shape)} belongs"
            )
    if (len(data.dense), data.dense.dimension) != (manifest.chunks, manifest.dimension):
        raise FileDamaged("dense.faiss", f"{len(data.dense)} vectors of {data.dense.dimension} dimensions")
    if data.lexical.indexed != manifest.chunks:
        raise FileDamaged("bm25", f"{data.lexical.indexed} passages, the manifest says {manifest.chunks}")
    lengths = np.array([len(article.text) for article in data.articles] + [0], dtype=np.int64)
    for name, rows, start, end in (("chunks.npy", chunks[:, 0], chunks[:, 2], chunks[:, 3]),
                                   ("units.npy", units[:, 0], units[:, 1], units[:, 2])):  # fmt: skip
        inside = (rows >= 0) & (rows < len(data.articles)) & (start >= 0) & (start <= end)
        if not inside.all() or (end > lengths[np.where(inside, rows, -1)]).any():
            raise FileDamaged(name, "a row points outside its article")
    if len(units) and (np.diff(units[:, 0]) < 0).any():
        raise FileDamaged("units.npy", "its rows are not in article order")


def _damaged(generation: Path, damage: FileDamaged) -> IndexDamaged:
    return IndexDamaged(
        f"the index file {generation / damage.name} is damaged ({damage.reason}): "
        "re-index with `pitwall index`"
    )


def _reason(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[-1] if text else ''}".strip().rstrip(":")


# What the build lock leaves in an index folder besides the marker (a file, or a lease folder).
_LOCK_NAMES = (".lock", ".lease")


def claim_index_folder(index_dir: Path, corpus_dir: Path) -> None:
    """Make sure a build may write into `index_dir`, and mark it as a Pitwall index at the first build.

    A build deletes old generations and leftovers in its index folder, so it writes only into a new or
    empty folder, one it marked before, or one that already holds a Pitwall index (built before there was
    a marker); never into a file, the corpus folder or a folder of other files (IndexFolderRefused)."""
    where = "choose another folder with --index or PITWALL_INDEX_DIR"
    if index_dir.exists() and not index_dir.is_dir():
        raise IndexFolderRefused(f"the index folder {index_dir} is a file, not a folder: {where}")
    if index_dir.resolve() == corpus_dir.resolve():
        raise IndexFolderRefused(
            f"the index folder {index_dir} is the corpus folder: the index needs a folder of its own; {where}"
        )
    marker = index_dir / INDEX_MARKER
    if marker.is_file():
        return
    if index_dir.is_dir() and not _holds_index(index_dir):
        others = sorted(entry.name for entry in index_dir.iterdir() if entry.name not in _LOCK_NAMES)
        if others:
            raise IndexFolderRefused(
                f"the index folder {index_dir} holds other files ({', '.join(others[:3])}"
                f"{', ...' if len(others) > 3 else ''}) and no Pitwall index; a build would delete some of "
                f"them: {where} (a new or empty one)"
            )
    index_dir.mkdir(parents=True, exist_ok=True)
    write_file(marker, lambda out: out.write(b"A Pitwall index: pitwall index deletes old gen-* here.\n"))


def _holds_index(index_dir: Path) -> bool:
    """`index_dir` holds a Pitwall index built before indexes had a marker: `current` names a generation."""
    try:
        return current_generation(index_dir) is not None
    except IndexDamaged:
        return False


def _reached(step: str) -> None:
    """Called as publishing reaches each step; the crash-injection test kills the build here."""


def publish(index_dir: Path, data: IndexData, lease: Lease | None = None) -> Path:
    """Write `data` as a new generation and swap it in; the previous generation serves until the swap.

    With the build's `lease`, what is about to be created is recorded in it first (the next build removes
    it if this one dies), and the lease is checked (`fence`) just before the swap.

    A failure (no space left, ...) removes the half-written generation and is an IndexWriteError that
    says the previous index is still live."""
    index_dir.mkdir(parents=True, exist_ok=True)
    previous = _live_name(index_dir)
    staging = index_dir / f"tmp-{uuid.uuid4().hex[:16]}"
    generation = index_dir / f"gen-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S%f}"
    link = index_dir / f"{staging.name}.link"  # the new `current`, swapped in by a rename
    files: dict[str, dict] = {}
    name = "the staging folder"
    try:
        if lease is not None:
            for made in (staging, generation, link):
                lease.record(made.name)
        staging.mkdir()
        staging.chmod(0o755)
        name = "articles.jsonl"
        _reached(name)
        files[name] = write_file(staging / name, lambda out: _write_articles(out, data.articles))
        for name, array in zip(
            _ARRAYS, (data.chunk_table, data.vectors, data.unit_table, data.unit_vectors), strict=True
        ):
            _reached(name)
            files[name] = write_file(
                staging / name,
                lambda out, a=array: np.lib.format.write_array(out, np.asarray(a), allow_pickle=False),
            )
        name = "dense.faiss"
        _reached(name)
        files[name] = write_file(staging / name, lambda out: data.dense.write(out.write))
        name = "bm25"
        _reached(name)
        data.lexical.save(staging / name)
        for path in sorted((staging / name).rglob("*")):
            if path.is_file():
                files[path.relative_to(staging).as_posix()] = file_record(path)
        # The manifest comes last: a generation without one was never finished.
        name = "manifest.json"
        _reached(name)
        manifest = _manifest_bytes(replace(data.manifest, files=files))
        write_file(staging / name, lambda out: out.write(manifest))
        _fsync_directory(staging)
        name = "the new generation's folder"
        _reached("rename")
        staging.rename(generation)
        _reached("link")
        link.symlink_to(generation.name)
        _reached("swap")
        if lease is not None:
            lease.fence()
        os.replace(link, index_dir / CURRENT)
        _fsync_directory(index_dir)
    except BaseException as error:
        shutil.rmtree(staging, ignore_errors=True)
        link.unlink(missing_ok=True)
        if generation.exists() and _live_name(index_dir) != generation.name:
            shutil.rmtree(generation, ignore_errors=True)
        if isinstance(error, OSError | RuntimeError):
            raise _write_failure(error, index_dir, name, previous) from error
        raise
    _reached("cleanup")
    _remove_old_generations(index_dir, keep={generation.name, previous or ""}, lease=lease)
    return generation


def _write_articles(out, articles: tuple[Article, ...]) -> None:
    for article in articles:
        out.write((json.dumps(article.to_json(), ensure_ascii=False) + "\n").encode())


def _write_failure(error: BaseException, index_dir: Path, name: str, previous: str | None) -> IndexWriteError:
    state = "the previous index is still live" if previous else "no index was published"
    code = getattr(error, "errno", None)
    if code in (errno.ENOSPC, errno.EDQUOT) or _disk_full(index_dir):
        return IndexWriteError(f"no space left on device while writing {name} in {index_dir}; {state}")
    return IndexWriteError(f"cannot write {name} in {index_dir} ({_reason(error)}); {state}")


def _disk_full(index_dir: Path, margin: int = 1 << 20) -> bool:
    """numpy and faiss may report a full disk without its errno; then the free space tells."""
    try:
        return shutil.disk_usage(index_dir).free < margin
    except OSError:
        return False


def _live_name(index_dir: Path) -> str | None:
    try:
        generation = current_generation(index_dir)
    except IndexDamaged:
        return None
    return generation.name if generation is not None else None


def _remove_old_generations(index_dir: Path, keep: set[str], lease: Lease | None = None) -> None:
    """Delete every generation but `keep` (the new one and the one it replaced: a reader may still be
    loading it) and whatever `current` points to now. Orphans of killed builds go too."""
    live = _live_name(index_dir)
    for old in sorted(path for path in index_dir.glob("gen-*") if _GENERATION.fullmatch(path.name)):
        if old.name in keep or old.name == live:
            continue
        trash = index_dir / f"tmp-old-{old.name}"
        if lease is not None:
            lease.record(trash.name)
        old.rename(trash)  # gone at once for readers, then deleted at leisure
        shutil.rmtree(trash, ignore_errors=True)


def _fsync_directory(directory: Path) -> None:
    """Make the names in `directory` (new files, a rename, a swapped link) survive a power cut."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
