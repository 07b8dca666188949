"""Build or update the index from the corpus folder: only new and changed articles are embedded."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index.chunking import ChunkingParams, chunk_article
from index.dense import DenseIndex
from index.documents import Article, Chunk, LoadError
from index.embedding import Embedder
from index.errors import UserError
from index.lexical import LexicalIndex, tokenize
from index.loading import load_corpus
from index.sentences import quote_units
from index.store import FORMAT_VERSION, IndexData, Manifest, build_lock, load_index, publish, read_manifest

EMBED_BATCH = 64

Progress = Callable[[int, int], None]  # (texts embedded so far, texts to embed: chunks and quote units)


@dataclass(frozen=True)
class _Embedded:
    """What the index holds of one article: its chunks and quote units, and their vectors."""

    chunks: list[Chunk]
    vectors: np.ndarray
    units: np.ndarray  # (k, 2) spans in the article
    unit_vectors: np.ndarray  # float16


class NothingToIndex(UserError):
    """No article could be read: the corpus is empty or every file was rejected."""

    def __init__(self, message: str, errors: tuple[LoadError, ...] = ()) -> None:
        super().__init__(message)
        self.errors = errors


@dataclass(frozen=True)
class IndexReport:
    articles: int
    chunks: int
    added: int
    changed: int
    removed: int
    embedded_chunks: int
    errors: tuple[LoadError, ...]
    seconds: float
    warnings: tuple[LoadError, ...] = ()  # indexed without something (a URL that is not http or https)

    def to_json(self) -> dict:
        return {
            "articles": self.articles,
            "chunks": self.chunks,
            "added": self.added,
            "changed": self.changed,
            "removed": self.removed,
            "embedded_chunks": self.embedded_chunks,
            "errors": [error.to_json() for error in self.errors],
            "warnings": [
                {"warning" if key == "error" else key: value for key, value in warning.to_json().items()}
                for warning in self.warnings
            ],
            "seconds": round(self.seconds, 3),
        }


def build_index(
    corpus_dir: Path,
    index_dir: Path,
    *,
    model_id: str,
    get_embedder: Callable[[], Embedder],
    overlap_sentences: int = 1,
    target_tokens: int | None = None,
    progress: Progress | None = None,
) -> IndexReport:
    """Bring the index in `index_dir` up to date with `corpus_dir` and publish it atomically.

    The embedder is only asked for when something has to be chunked and embedded, so a run with
    nothing changed does not load the model.
    """

    def chunking(max_tokens: int) -> ChunkingParams:
        return ChunkingParams(max_tokens, overlap_sentences, target_tokens)

    started = time.perf_counter()
    loaded = load_corpus(corpus_dir)
    if not loaded.articles:
        reason = "every file was rejected" if loaded.errors else "it holds no article files"
        raise NothingToIndex(f"nothing to index in {corpus_dir}: {reason}", loaded.errors)
    articles = sorted(loaded.articles, key=lambda article: article.id)
    hashes = {article.id: article.content_hash() for article in articles}

    with build_lock(index_dir):
        previous = read_manifest(index_dir)
        reusable = (
            previous is not None
            and previous.format_version == FORMAT_VERSION
            and previous.model_id == model_id
            and previous.chunking == chunking(previous.max_tokens).to_json()
        )
        old_hashes = previous.article_hashes if reusable else {}
        added = sum(1 for id_ in hashes if id_ not in old_hashes)
        changed = sum(1 for id_, digest in hashes.items() if id_ in old_hashes and old_hashes[id_] != digest)
        removed = sum(1 for id_ in old_hashes if id_ not in hashes)

        if reusable and hashes == old_hashes:
            return IndexReport(
                len(articles),
                previous.chunks,
                0,
                0,
                0,
                0,
                loaded.errors,
                time.perf_counter() - started,
                loaded.warnings,
            )

        old = load_index(index_dir, model_id=model_id) if reusable else None
        kept = _vectors_by_article(old, hashes) if old else {}
        to_embed = [article for article in articles if article.id not in kept]
        embedder = get_embedder()
        fresh = _chunk_and_embed(to_embed, embedder, chunking(embedder.max_tokens), progress)

        rows: list[tuple[int, int, int, int]] = []
        texts_tokens: list[list[str]] = []
        vector_parts: list[np.ndarray] = []
        unit_rows: list[np.ndarray] = []
        unit_vector_parts: list[np.ndarray] = []
        for row, article in enumerate(articles):
            embedded = kept.get(article.id) or fresh[article.id]
            for chunk in embedded.chunks:
                rows.append((row, chunk.position, chunk.start, chunk.end))
                texts_tokens.append(tokenize(chunk.text, article.language))
            vector_parts.append(embedded.vectors)
            unit_rows.append(np.column_stack([np.full(len(embedded.units), row), embedded.units]))
            unit_vector_parts.append(embedded.unit_vectors)

        vectors = np.ascontiguousarray(np.concatenate(vector_parts), dtype=np.float32)
        dense = DenseIndex.build(vectors)
        manifest = Manifest(
            format_version=FORMAT_VERSION,
            model_id=model_id,
            dimension=int(vectors.shape[1]),
            max_tokens=embedder.max_tokens,
            chunking=chunking(embedder.max_tokens).to_json(),
            article_hashes=hashes,
            articles=len(articles),
            chunks=len(rows),
            built_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            dense_index=dense.kind,
        )
        publish(
            index_dir,
            IndexData(
                manifest=manifest,
                articles=tuple(articles),
                chunk_table=np.asarray(rows, dtype=np.int64).reshape(-1, 4),
                vectors=vectors,
                dense=dense,
                lexical=LexicalIndex.build(texts_tokens),
                unit_table=np.concatenate(unit_rows).astype(np.int64).reshape(-1, 3),
                unit_vectors=np.concatenate(unit_vector_parts).astype(np.float16),
            ),
        )
        embedded = sum(len(item.chunks) for item in fresh.values())
        return IndexReport(
            len(articles),
            len(rows),
            added,
            changed,
            removed,
            embedded,
            loaded.errors,
            time.perf_counter() - started,
            loaded.warnings,
        )


def _vectors_by_article(old: IndexData, hashes: dict[str, str]) -> dict[str, _Embedded]:
    """Chunks, quote units and their vectors of the old index's articles that are unchanged now."""
    chunk_rows: dict[int, list[int]] = {}
    for row, article_row in enumerate(old.chunk_table[:, 0]):
        chunk_rows.setdefault(int(article_row), []).append(row)
    unit_bounds = np.searchsorted(old.unit_table[:, 0], np.arange(len(old.articles) + 1))
    kept = {}
    for article_row, rows in chunk_rows.items():
        article_id = old.articles[article_row].id
        if hashes.get(article_id) == old.manifest.article_hashes.get(article_id):
            low, high = unit_bounds[article_row], unit_bounds[article_row + 1]
            kept[article_id] = _Embedded(
                [old.chunk(row) for row in rows],
                np.asarray(old.vectors[rows]),
                old.unit_table[low:high, 1:],
                np.asarray(old.unit_vectors[low:high]),
            )
    return kept


def _chunk_and_embed(
    articles: list[Article], embedder: Embedder, params: ChunkingParams, progress: Progress | None
) -> dict[str, _Embedded]:
    """Chunk the articles and embed their chunks and quote units, in one pass over all texts."""
    chunks_of = {
        article.id: chunk_article(
            article, embedder.token_lengths, params.max_tokens, params.overlap_sentences, params.target_tokens
        )
        for article in articles
    }
    units_of = {article.id: quote_units(article.text) for article in articles}
    chunk_texts = [chunk.text for chunks in chunks_of.values() for chunk in chunks]
    unit_texts = [article.text[s:e] for article in articles for s, e in units_of[article.id]]
    vectors = _embed_all(chunk_texts + unit_texts, embedder, progress)
    result = {}
    chunk_offset, unit_offset = 0, len(chunk_texts)  # chunk vectors first, then the units'
    for article in articles:
        chunks, units = chunks_of[article.id], units_of[article.id]
        result[article.id] = _Embedded(
            chunks,
            vectors[chunk_offset : chunk_offset + len(chunks)],
            np.asarray(units, dtype=np.int64).reshape(-1, 2),
            vectors[unit_offset : unit_offset + len(units)].astype(np.float16),
        )
        chunk_offset += len(chunks)
        unit_offset += len(units)
    return result


def _embed_all(texts: list[str], embedder: Embedder, progress: Progress | None) -> np.ndarray:
    # Batches of similar length waste less padding; the vectors are put back in text order afterwards.
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    vectors = np.zeros((len(texts), embedder.dimension), dtype=np.float32)
    for begin in range(0, len(texts), EMBED_BATCH):
        batch = order[begin : begin + EMBED_BATCH]
        vectors[batch] = embedder.embed_passages([texts[i] for i in batch])
        if progress:
            progress(begin + len(batch), len(texts))
    return vectors
