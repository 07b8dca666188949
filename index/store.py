"""The index directory: generations of files published atomically, and a manifest checked on load.

Layout of INDEX_DIR:
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
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from index.dense import DenseIndex
from index.documents import Article, Chunk
from index.errors import UserError
from index.lexical import LexicalIndex

FORMAT_VERSION = 2  # 2: quote units and their vectors
CURRENT = "current"


class IndexStoreError(UserError):
    """The index cannot be read or written; the message says what to do."""


class IndexNotFound(IndexStoreError):
    pass


class IndexMismatch(IndexStoreError):
    pass


class IndexBusy(IndexStoreError):
    pass


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
    dense_index: str = "flat"  # the FAISS index type (index/dense.py KINDS); older manifests lack it

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> Manifest:
        defaults = {"dense_index": "flat"}
        return cls(
            **{field: data[field] if field in data else defaults[field] for field in cls.__dataclass_fields__}
        )


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
    link = index_dir / CURRENT
    return link.resolve() if link.is_symlink() and link.resolve().is_dir() else None


def read_manifest(index_dir: Path) -> Manifest | None:
    generation = current_generation(index_dir)
    if generation is None:
        return None
    try:
        return Manifest.from_json(json.loads((generation / "manifest.json").read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def load_index(index_dir: Path, *, model_id: str, mmap: bool | None = None) -> IndexData:
    """The published index, checked against the settings it will be queried with.

    `mmap`: True maps every array from disk, False reads them into memory, None (the default) maps the
    vectors and the FAISS index of a large (approximate) index and reads a small one.
    """
    for _ in range(3):
        generation = current_generation(index_dir)
        if generation is None:
            raise IndexNotFound(f"no index in {index_dir}: run `pitwall index` to build it")
        try:
            return _load_generation(generation, index_dir, model_id, mmap)
        except (OSError, RuntimeError):
            if generation.exists():
                raise
            # two builds were published while we read, and the generation we chose is gone: read the new one
    raise IndexStoreError(f"the index in {index_dir} keeps changing while it is read; try again")


def _load_generation(generation: Path, index_dir: Path, model_id: str, mmap: bool | None) -> IndexData:
    try:
        manifest = Manifest.from_json(json.loads((generation / "manifest.json").read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise IndexMismatch(
            f"the index in {index_dir} has an unreadable manifest ({error}): re-index"
        ) from error
    if manifest.format_version != FORMAT_VERSION:
        raise IndexMismatch(
            f"the index in {index_dir} has format {manifest.format_version}, this Pitwall reads format "
            f"{FORMAT_VERSION}: re-index with `pitwall index`"
        )
    if manifest.model_id != model_id:
        raise IndexMismatch(
            f"the index in {index_dir} was built with the model {manifest.model_id!r}, but the settings "
            f"ask for {model_id!r}: re-index with `pitwall index` "
            f"(or set PITWALL_EMBEDDING_MODEL={manifest.model_id})"
        )
    with open(generation / "articles.jsonl", encoding="utf-8") as lines:
        articles = tuple(Article.from_json(json.loads(line)) for line in lines)
    map_vectors = mmap if mmap is not None else manifest.dense_index != "flat"
    array_mode = "r" if map_vectors else None
    chunk_table = np.load(generation / "chunks.npy", allow_pickle=False)
    vectors = np.load(generation / "vectors.npy", allow_pickle=False, mmap_mode=array_mode)
    return IndexData(
        manifest=manifest,
        articles=articles,
        chunk_table=chunk_table,
        vectors=vectors,
        dense=DenseIndex.load(generation / "dense.faiss", mmap=map_vectors),
        lexical=LexicalIndex.load(generation / "bm25", size=len(chunk_table), mmap=bool(mmap)),
        unit_table=np.load(generation / "units.npy", allow_pickle=False),
        unit_vectors=np.load(generation / "unit_vectors.npy", allow_pickle=False, mmap_mode=array_mode),
    )


def publish(index_dir: Path, data: IndexData) -> Path:
    """Write `data` as a new generation and swap it in; the previous generation serves until the swap."""
    index_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="tmp-", dir=index_dir))
    staging.chmod(0o755)
    try:
        with open(staging / "articles.jsonl", "w", encoding="utf-8") as out:
            for article in data.articles:
                out.write(json.dumps(article.to_json(), ensure_ascii=False) + "\n")
        np.save(staging / "chunks.npy", data.chunk_table, allow_pickle=False)
        np.save(staging / "vectors.npy", data.vectors, allow_pickle=False)
        np.save(staging / "units.npy", data.unit_table, allow_pickle=False)
        np.save(staging / "unit_vectors.npy", data.unit_vectors, allow_pickle=False)
        data.dense.save(staging / "dense.faiss")
        data.lexical.save(staging / "bm25")
        # The manifest comes last: a generation without one was never finished.
        (staging / "manifest.json").write_text(
            json.dumps(data.manifest.to_json(), indent=2), encoding="utf-8"
        )
        _fsync_tree(staging)
        generation = index_dir / f"gen-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S%f}"
        staging.rename(generation)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    link = index_dir / f".{CURRENT}.tmp"
    link.unlink(missing_ok=True)
    link.symlink_to(generation.name)
    os.replace(link, index_dir / CURRENT)
    _remove_old_generations(index_dir, keep={generation.name})
    return generation


@contextmanager
def build_lock(index_dir: Path) -> Iterator[None]:
    """Only one build at a time per index directory; leftovers of a killed build are cleared."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / ".lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as error:
            raise IndexBusy(
                f"another build of {index_dir} is running; try again when it has finished"
            ) from error
        for leftover in index_dir.glob("tmp-*"):
            shutil.rmtree(leftover, ignore_errors=True)
        yield


def _remove_old_generations(index_dir: Path, keep: set[str]) -> None:
    """Keep the new generation and the one before it (a reader may still be loading it)."""
    generations = sorted(path for path in index_dir.glob("gen-*") if path.name not in keep)
    for old in generations[:-1]:
        trash = index_dir / f"tmp-old-{old.name}"
        old.rename(trash)  # gone at once for readers, then deleted at leisure
        shutil.rmtree(trash, ignore_errors=True)


def _fsync_tree(directory: Path) -> None:
    for path in directory.rglob("*"):
        if path.is_file():
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())
