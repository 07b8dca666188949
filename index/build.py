"""Build or update the index from the corpus folder: only new and changed articles are embedded."""

from __future__ import annotations

import datetime as dt
import time
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index.documents import Article, Chunk, LoadError
from index.embed.embedding import Embedder, SpanEmbedder
from index.errors import UserError
from index.ingest.loading import KnownFile, LoadResult, known_files, load_corpus
from index.store.dense import DenseIndex
from index.store.generations import (
    FORMAT_VERSION,
    IndexDamaged,
    IndexData,
    IndexStoreError,
    Manifest,
    claim_index_folder,
    load_index,
    publish,
    read_articles,
    read_manifest,
    record_sources,
    verify_index,
)
from index.store.lease import Lease, build_lock
from index.text.chunking import OVERLAP_SENTENCES, ChunkingParams, chunk_article
from index.text.lexical import LexicalIndex, passage_tokens
from index.text.sentences import quote_units

EMBED_SLICE = 512  # texts handed to the embedder at a time (it batches and spreads them over the cores)

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
    engine: str = "local"  # what embedded: "local" (this process) or "ray"
    workers: int = 1  # processes that embedded (Ray workers; 0 if Ray had nothing to embed)
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
            "embedding": {"engine": self.engine, "workers": self.workers},
        }


def build_index(
    corpus_dir: Path,
    index_dir: Path,
    *,
    model_id: str,
    get_embedder: Callable[[], Embedder],
    overlap_sentences: int = OVERLAP_SENTENCES,
    target_tokens: int | None = None,
    progress: Progress | None = None,
    lease: Lease | None = None,
) -> IndexReport:
    """Bring the index in `index_dir` up to date with `corpus_dir` and publish it atomically, holding the
    index's `lease` (taken here when none is given: IndexBusy when another build holds it).

    Four steps: read the corpus, compare it with the published index, embed what is new or changed,
    and assemble and publish the new generation. The embedder is only asked for when something has to
    be chunked and embedded, so a run with nothing changed does not load the model.
    """
    started = time.perf_counter()
    claim_index_folder(index_dir, corpus_dir)
    with nullcontext(lease) if lease is not None else build_lock(index_dir) as held:
        previous = read_manifest(index_dir)
        articles, loaded = _read_corpus(corpus_dir, _known_files(index_dir, previous))
        changes = _compare(articles, previous, model_id, overlap_sentences, target_tokens)
        if changes.nothing_changed and _sound(index_dir):
            if previous is not None and previous.sources != loaded.sources:
                record_sources(index_dir, loaded.sources)  # the next run parses only what changes
            return changes.report(changes.previous_chunks, 0, loaded, time.perf_counter() - started)

        old = _reusable_index(index_dir, model_id) if changes.reusable else None
        kept = _vectors_by_article(old, changes.hashes) if old else {}
        embedder = get_embedder()
        chunking = ChunkingParams(embedder.max_tokens, overlap_sentences, target_tokens)
        to_embed = [article for article in articles if article.id not in kept]
        fresh = _chunk_and_embed(to_embed, embedder, chunking, progress)

        data = _assemble(articles, {**kept, **fresh}, changes.hashes, model_id, chunking, loaded.sources)
        publish(index_dir, data, held)
        embedded = sum(len(item.chunks) for item in fresh.values())
        return changes.report(data.manifest.chunks, embedded, loaded, time.perf_counter() - started)


def _sound(index_dir: Path) -> bool:
    """The published files are the ones their build wrote (else a run with nothing changed rebuilds)."""
    try:
        verify_index(index_dir)
    except IndexDamaged:
        return False
    return True


def _reusable_index(index_dir: Path, model_id: str) -> IndexData | None:
    """The published index whose vectors unchanged articles keep; None when it is damaged (then every
    article is embedded again)."""
    try:
        return load_index(index_dir, model_id=model_id)
    except IndexDamaged:
        return None


def _known_files(index_dir: Path, previous: Manifest | None) -> dict[str, KnownFile]:
    """What the published index read from each corpus file: unchanged files are not parsed again."""
    if previous is None or not previous.sources:
        return {}
    try:
        return known_files(previous.sources, read_articles(index_dir))
    except IndexStoreError:
        return {}


def _read_corpus(
    corpus_dir: Path, known: dict[str, KnownFile] | None = None
) -> tuple[list[Article], LoadResult]:
    """The corpus's articles in id order, and what was read (with the rejected files and the warnings);
    nothing at all is an error."""
    loaded = load_corpus(corpus_dir, known=known)
    if not loaded.articles:
        reason = "every file was rejected" if loaded.errors else "it holds no article files"
        raise NothingToIndex(f"nothing to index in {corpus_dir}: {reason}", loaded.errors)
    return sorted(loaded.articles, key=lambda article: article.id), loaded


@dataclass(frozen=True)
class _Changes:
    """How the corpus differs from the published index. When the published index cannot be reused
    (none yet, another format, model or chunking) every article counts as added."""

    hashes: dict[str, str]  # content hash of every article now in the corpus
    reusable: bool  # the published index's vectors can be kept for unchanged articles
    previous_chunks: int
    added: int
    changed: int
    removed: int

    @property
    def nothing_changed(self) -> bool:
        return self.reusable and not (self.added or self.changed or self.removed)

    def report(self, chunks: int, embedded: int, loaded: LoadResult, seconds: float) -> IndexReport:
        return IndexReport(
            len(self.hashes),
            chunks,
            self.added,
            self.changed,
            self.removed,
            embedded,
            loaded.errors,
            seconds,
            warnings=loaded.warnings,
        )


def _compare(
    articles: list[Article],
    previous: Manifest | None,
    model_id: str,
    overlap_sentences: int,
    target_tokens: int | None,
) -> _Changes:
    hashes = {article.id: article.content_hash() for article in articles}
    reusable = (
        previous is not None
        and previous.format_version == FORMAT_VERSION
        and previous.model_id == model_id
        and previous.chunking
        == ChunkingParams(previous.max_tokens, overlap_sentences, target_tokens).to_json()
    )
    old_hashes = previous.article_hashes if reusable else {}
    return _Changes(
        hashes=hashes,
        reusable=reusable,
        previous_chunks=previous.chunks if previous is not None else 0,
        added=sum(1 for id_ in hashes if id_ not in old_hashes),
        changed=sum(1 for id_, digest in hashes.items() if id_ in old_hashes and old_hashes[id_] != digest),
        removed=sum(1 for id_ in old_hashes if id_ not in hashes),
    )


def _assemble(
    articles: list[Article],
    embedded: dict[str, _Embedded],
    hashes: dict[str, str],
    model_id: str,
    chunking: ChunkingParams,
    sources: dict[str, str] | None = None,
) -> IndexData:
    """One generation of the index from every article's chunks, quote units and vectors, in article order."""
    rows: list[tuple[int, int, int, int]] = []
    texts_tokens: list[list[str]] = []
    vector_parts: list[np.ndarray] = []
    unit_rows: list[np.ndarray] = []
    unit_vector_parts: list[np.ndarray] = []
    for row, article in enumerate(articles):
        item = embedded[article.id]
        for chunk in item.chunks:
            rows.append((row, chunk.position, chunk.start, chunk.end))
            texts_tokens.append(passage_tokens(chunk.text, article.language))
        vector_parts.append(item.vectors)
        unit_rows.append(np.column_stack([np.full(len(item.units), row), item.units]))
        unit_vector_parts.append(item.unit_vectors)

    vectors = np.ascontiguousarray(np.concatenate(vector_parts), dtype=np.float32)
    dense = DenseIndex.build(vectors)
    manifest = Manifest(
        format_version=FORMAT_VERSION,
        model_id=model_id,
        dimension=int(vectors.shape[1]),
        max_tokens=chunking.max_tokens,
        chunking=chunking.to_json(),
        sources=dict(sources or {}),
        article_hashes=hashes,
        articles=len(articles),
        chunks=len(rows),
        built_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        dense_index=dense.kind,
    )
    return IndexData(
        manifest=manifest,
        articles=tuple(articles),
        chunk_table=np.asarray(rows, dtype=np.int64).reshape(-1, 4),
        vectors=vectors,
        dense=dense,
        lexical=LexicalIndex.build(texts_tokens),
        unit_table=np.concatenate(unit_rows).astype(np.int64).reshape(-1, 3),
        unit_vectors=np.concatenate(unit_vector_parts).astype(np.float16),
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
    """Chunk the articles and embed their chunks and quote units.

    With an embedder that pools spans (`SpanEmbedder`), a quote unit's vector comes from the forward pass
    of the chunk that holds it (the one where it sits most centrally): each text is read by the model once.
    Units that no chunk holds whole (pieces of over-long sentences) and every unit of other embedders are
    embedded on their own.
    """
    chunks_of = {
        article.id: chunk_article(
            article, embedder.token_lengths, params.max_tokens, params.overlap_sentences, params.target_tokens
        )
        for article in articles
    }
    units_of = {article.id: quote_units(article.text) for article in articles}
    pooled = isinstance(embedder, SpanEmbedder)
    chunk_texts: list[str] = []
    spans: list[list[tuple[int, int]]] = []  # per chunk: the units pooled from it, in chunk coordinates
    homes: list[tuple[int, int] | None] = []  # per unit (all articles): (chunk, k-th span of it) or None
    for article in articles:
        chunks = chunks_of[article.id]
        first = len(chunk_texts)
        chunk_texts += [chunk.text for chunk in chunks]
        spans += [[] for _ in chunks]
        units = units_of[article.id]
        unit_homes = _home_chunks(chunks, units) if pooled else [None] * len(units)
        for (start, end), home in zip(units, unit_homes, strict=True):
            if home is None:
                homes.append(None)
                continue
            chunk = chunks[home]
            spans[first + home].append((start - chunk.start, end - chunk.start))
            homes.append((first + home, len(spans[first + home]) - 1))
    unit_texts = [article.text[s:e] for article in articles for s, e in units_of[article.id]]
    chunk_vectors, unit_vectors = _embed_all(chunk_texts, spans, homes, unit_texts, embedder, progress)
    result = {}
    chunk_offset, unit_offset = 0, 0
    for article in articles:
        chunks, units = chunks_of[article.id], units_of[article.id]
        result[article.id] = _Embedded(
            chunks,
            chunk_vectors[chunk_offset : chunk_offset + len(chunks)],
            np.asarray(units, dtype=np.int64).reshape(-1, 2),
            unit_vectors[unit_offset : unit_offset + len(units)].astype(np.float16),
        )
        chunk_offset += len(chunks)
        unit_offset += len(units)
    return result


def _home_chunks(chunks: list[Chunk], units: list[tuple[int, int]]) -> list[int | None]:
    """For each unit (start, end), the chunk that holds it whole with the most context around it, if any.

    Chunks come in text order (starts and ends rising), so the chunks holding a unit are the run from the
    first that ends at or after it to the last that starts at or before it, found by bisection: linear in
    the article, where trying every chunk for every unit grew with its square."""
    starts = [chunk.start for chunk in chunks]
    ends = [chunk.end for chunk in chunks]
    in_order = all(a <= b for a, b in zip(starts, starts[1:], strict=False)) and all(
        a <= b for a, b in zip(ends, ends[1:], strict=False)
    )
    homes = []
    for start, end in units:
        low, high = (bisect_left(ends, end), bisect_right(starts, start)) if in_order else (0, len(chunks))
        middle = (start + end) / 2
        holding = [i for i in range(low, high) if chunks[i].start <= start and end <= chunks[i].end]
        homes.append(
            min(holding, key=lambda i: abs((chunks[i].start + chunks[i].end) / 2 - middle), default=None)
        )
    return homes


def _embed_all(
    chunk_texts: list[str],
    spans: list[list[tuple[int, int]]],
    homes: list[tuple[int, int] | None],
    unit_texts: list[str],
    embedder: Embedder,
    progress: Progress | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Chunk vectors and unit vectors: units with a home chunk pooled from it, the others embedded alone.

    Texts go to the embedder in slices of similar length (sorted by length; the embedder batches within a
    slice), so progress can be reported; the vectors are put back in text order afterwards."""
    alone = [i for i, home in enumerate(homes) if home is None]
    texts = chunk_texts + [unit_texts[i] for i in alone]
    text_spans = spans + [[] for _ in alone]
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    vectors = np.zeros((len(texts), embedder.dimension), dtype=np.float32)
    pooled: list[np.ndarray | None] = [None] * len(texts)  # per text: its spans' vectors
    for begin in range(0, len(texts), EMBED_SLICE):
        part = order[begin : begin + EMBED_SLICE]
        part_texts = [texts[i] for i in part]
        if isinstance(embedder, SpanEmbedder):
            part_spans = [text_spans[i] for i in part]
            vectors[part], flat = embedder.embed_passages_and_spans(part_texts, part_spans)
            bounds = np.cumsum([0, *(len(s) for s in part_spans)])
            for j, i in enumerate(part):
                pooled[i] = flat[bounds[j] : bounds[j + 1]]
        else:
            vectors[part] = embedder.embed_passages(part_texts)
        if progress:
            progress(begin + len(part), len(texts))
    unit_vectors = np.zeros((len(homes), embedder.dimension), dtype=np.float32)
    for unit, home in enumerate(homes):
        if home is not None:
            unit_vectors[unit] = pooled[home[0]][home[1]]  # type: ignore[index]
    unit_vectors[alone] = vectors[len(chunk_texts) :]
    cut_off = [unit for unit, home in enumerate(homes) if home is not None and not unit_vectors[unit].any()]
    if cut_off:  # spans the model did not read (past its limit): embedded on their own
        unit_vectors[cut_off] = embedder.embed_passages([unit_texts[i] for i in cut_off])
    return vectors[: len(chunk_texts)], unit_vectors
