"""Embedding throughput on real text: what `pitwall bench` and `scripts/bench_embedding.py` report."""

from __future__ import annotations

import csv
import statistics
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from index.embed.embedding import Embedder


def news_chunks(csv_path: str | Path, count: int = 300, size: int = 800) -> list[str]:
    """`count` pieces of about `size` characters, cut at spaces, from a 10kGNAD-style CSV (label;text)."""
    path = Path(csv_path)
    if not path.is_file():
        raise FileNotFoundError(
            f"no news CSV at {path}: expected 10kGNAD's test.csv (`;`-separated, quote `'`)"
        )
    chunks: list[str] = []
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.reader(handle, delimiter=";", quotechar="'"):
            text = row[-1]
            while len(text) >= size and len(chunks) < count:
                cut = text.rfind(" ", size // 2, size)
                cut = size if cut < 0 else cut
                chunks.append(text[:cut])
                text = text[cut:].lstrip()
            if len(chunks) >= count:
                break
    return chunks


def measure_embedding(embedder: Embedder, texts: Sequence[str], repeats: int = 3) -> dict[str, float]:
    """Median chunks/s and model tokens/s of `embed_passages` over `repeats` runs, after one warm-up batch.

    Model tokens are the word pieces the model reads: each text's own, capped at `embedder.max_tokens`.
    """
    if not texts or repeats < 1:
        raise ValueError("measure_embedding needs at least one text and one repeat")
    tokens = sum(min(n, embedder.max_tokens) for n in embedder.token_lengths(texts))
    embedder.embed_passages(texts[:8])
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        embedder.embed_passages(texts)
        seconds.append(time.perf_counter() - started)
    median = statistics.median(seconds)
    return {
        "chunks": len(texts),
        "tokens": tokens,
        "seconds": median,
        "chunks_per_s": len(texts) / median,
        "tokens_per_s": tokens / median,
    }


def cosine_to(reference: np.ndarray, vectors: np.ndarray) -> dict[str, float]:
    """Mean and minimum row-wise cosine of two matrices of unit vectors."""
    cosines = np.sum(reference * vectors, axis=1)
    return {"mean": float(cosines.mean()), "min": float(cosines.min())}
