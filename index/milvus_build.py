"""Build or update the index in Milvus (PITWALL_STORE=milvus): the jobs of index/build.py, written by
article into Milvus instead of into an index directory."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from index.build import IndexReport, Progress, _chunk_and_embed, _compare, _read_corpus
from index.embed.embedding import Embedder
from index.store.dense import choose_kind
from index.store.generations import FORMAT_VERSION, Manifest
from index.store.milvus import MilvusWriter
from index.text.chunking import ChunkingParams
from index.text.lexical import passage_tokens


def build_into_milvus(
    corpus_dir: Path,
    writer: MilvusWriter,
    *,
    model_id: str,
    get_embedder: Callable[[], Embedder],
    overlap_sentences: int = 1,
    target_tokens: int | None = None,
    progress: Progress | None = None,
) -> IndexReport:
    """Bring the Milvus index up to date with `corpus_dir`: new and changed articles are embedded and
    upserted, removed ones deleted, in the live generation; a first build, or one with another model,
    format or chunking, fills a new generation and switches the alias to it when it is complete."""
    started = time.perf_counter()
    articles, loaded = _read_corpus(corpus_dir)
    previous = writer.previous_manifest()
    changes = _compare(articles, previous, model_id, overlap_sentences, target_tokens)
    if changes.nothing_changed:
        return changes.report(changes.previous_chunks, 0, loaded, time.perf_counter() - started)

    old_hashes = previous.article_hashes if previous is not None and changes.reusable else {}
    to_embed = [article for article in articles if old_hashes.get(article.id) != changes.hashes[article.id]]
    embedder = get_embedder()
    chunking = ChunkingParams(embedder.max_tokens, overlap_sentences, target_tokens)
    fresh = _chunk_and_embed(to_embed, embedder, chunking, progress)
    embedded = sum(len(item.chunks) for item in fresh.values())

    incremental = changes.reusable and previous is not None
    writer.start(incremental=incremental, dimension=embedder.dimension, expected_chunks=embedded)
    try:
        for article in to_embed:
            item = fresh[article.id]
            writer.write_article(
                article,
                changes.hashes[article.id],
                item.chunks,
                item.vectors,
                [" ".join(passage_tokens(chunk.text, article.language)) for chunk in item.chunks],
                item.units,
                np.asarray(item.unit_vectors, dtype=np.float32),
            )
        for article_id in old_hashes.keys() - changes.hashes.keys():
            writer.delete_article(article_id)
        chunks = writer.count_chunks()
        manifest = Manifest(
            format_version=FORMAT_VERSION,
            model_id=model_id,
            dimension=embedder.dimension,
            max_tokens=chunking.max_tokens,
            chunking=chunking.to_json(),
            article_hashes={},
            articles=len(articles),
            chunks=chunks,
            built_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            dense_index=previous.dense_index if incremental and previous else choose_kind(embedded),
        )
        writer.publish(manifest)
    except BaseException:
        writer.abandon()  # a new generation that was never published is dropped; the live one serves
        raise
    return changes.report(chunks, embedded, loaded, time.perf_counter() - started)
