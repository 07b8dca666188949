"""The bench's corpus: the 10kGNAD German news articles, repeated with small changes to reach a size in
chunks, and an embedder that reuses the vectors of the original articles for their copies."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import re
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from index.documents import Article
from index.embed.embedding import Embedder

DEFAULT_GNAD = Path("../shared/eval/10kGNAD/test.csv")
NOISE = 0.02  # length of the random nudge a copy's vector gets (unit vectors: cosine to the original ~0.9998)
_VARIANT = re.compile(r"(?:^| )(?:Fassung|Aktualisiert) \d+\.")
_FIRST_DAY = dt.date(2015, 1, 1)


class GnadMissing(ValueError):
    """The 10kGNAD CSV is not where the bench looks for it."""


def read_gnad(path: Path) -> list[Article]:
    """The articles of a 10kGNAD CSV (`label;text`, quotechar `'`), dated one a day from 2015-01-01."""
    if not path.is_file():
        raise GnadMissing(
            f"{path} not found: `pitwall bench` reads the 1,028 German news articles of the 10kGNAD test set "
            "(a 'label;text' CSV) from ../shared/eval/10kGNAD/test.csv beside the repository; "
            "pass --gnad PATH to read it from elsewhere"
        )
    with open(path, encoding="utf-8", newline="") as handle:
        rows = [row for row in csv.reader(handle, delimiter=";", quotechar="'") if len(row) == 2 and row[1]]
    if not rows:
        raise GnadMissing(f"{path} holds no 'label;text' rows; expected the 10kGNAD test.csv")
    return [
        Article(
            id=f"gnad-{number:04d}",
            title=f"{label}: {_first_words(text)}",
            text=text.strip(),
            source="10kGNAD",
            published=_FIRST_DAY + dt.timedelta(days=number),
            language="de",
        )
        for number, (label, text) in enumerate(rows)
    ]


def _first_words(text: str, words: int = 8) -> str:
    return " ".join(text.split()[:words])


def variant(article: Article, copy: int) -> Article:
    """Copy number `copy` of an article (0: the article itself): its own id and one sentence more."""
    if copy == 0:
        return article
    return replace(article, id=f"{article.id}-v{copy}", text=f"{article.text} Fassung {copy}.")


def changed(article: Article, round_: int = 1) -> Article:
    """The article as an editor updated it."""
    return replace(article, text=f"{article.text} Aktualisiert {round_}.")


def articles_for_size(base: Sequence[Article], chunks_per_article: Sequence[int], size: int) -> list[Article]:
    """Base articles, then numbered copies of them, until their chunks (counted on the base) reach `size`."""
    if not base or sum(chunks_per_article) == 0:
        raise ValueError("the bench needs at least one base article with text")
    articles: list[Article] = []
    total, copy = 0, 0
    while total < size:
        for article, chunks in zip(base, chunks_per_article, strict=True):
            if total >= size:
                break
            articles.append(variant(article, copy))
            total += chunks
        copy += 1
    return articles


def write_corpus(articles: Sequence[Article], folder: Path, per_file: int = 1000) -> None:
    """The articles as JSON Lines files of `per_file` articles (the loader takes files up to 10 MB)."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.jsonl"):
        old.unlink()
    for begin in range(0, len(articles), per_file):
        with open(folder / f"articles-{begin // per_file:04d}.jsonl", "w", encoding="utf-8") as out:
            for article in articles[begin : begin + per_file]:
                fields = article.to_json()
                fields.pop("path")
                out.write(json.dumps(fields, ensure_ascii=False) + "\n")


def base_key(text: str) -> str:
    """A copy's chunk text as the original's (the variant sentences taken out)."""
    return _VARIANT.sub("", text)


class ReusedVectors:
    """An Embedder for the bench's corpus: a chunk of a copy gets the vector of the original's chunk plus a
    small random nudge; texts never seen before (chunk borders that moved) go to the real embedder, once:
    the other copies of such a chunk reuse that vector."""

    def __init__(self, embedder: Embedder, vectors: dict[str, np.ndarray]) -> None:
        self._embedder = embedder
        self._vectors = vectors
        self._by_start = {text[:200]: vector for text, vector in vectors.items()}
        self.model_id = embedder.model_id
        self.dimension = embedder.dimension
        self.max_tokens = embedder.max_tokens
        self.reused = 0
        self.embedded = 0
        self.embedding_seconds = 0.0  # spent in the real embedder

    def token_lengths(self, texts: Sequence[str]) -> list[int]:
        return self._embedder.token_lengths(texts)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._embedder.embed_queries(texts)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        missing = []
        for row, text in enumerate(texts):
            key = base_key(text)
            vector = self._vectors.get(key)
            if vector is None:
                vector = self._by_start.get(key[:200])
            if vector is None:
                missing.append(row)
                continue
            out[row] = vector if key == text else _nudged(vector, text)
        if missing:
            started = time.perf_counter()
            out[missing] = self._embedder.embed_passages([texts[row] for row in missing])
            self.embedding_seconds += time.perf_counter() - started
            for row in missing:
                self._vectors[base_key(texts[row])] = out[row]
        self.reused += len(texts) - len(missing)
        self.embedded += len(missing)
        return out


def _nudged(vector: np.ndarray, text: str) -> np.ndarray:
    seed = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")
    noise = np.random.default_rng(seed).standard_normal(vector.shape[0]).astype(np.float32)
    moved = vector + NOISE * noise / np.linalg.norm(noise)
    return moved / np.linalg.norm(moved)
