"""A deterministic embedder for fast unit tests: hashed bag of lower-cased words, no model."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np

_WORD = re.compile(r"\w+|[^\w\s]")


class FakeEmbedder:
    model_id = "fake-hash-embedder"
    dimension = 64

    def __init__(self, max_tokens: int = 254) -> None:
        self.max_tokens = max_tokens
        self.calls: list[int] = []  # how many texts each embed call received

    def token_lengths(self, texts: Sequence[str]) -> list[int]:
        return [len(_WORD.findall(text)) for text in texts]

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed(texts)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed(texts)

    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(len(texts))
        matrix = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                bucket = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=4).digest(), "little")
                matrix[row, bucket % self.dimension] += 1.0
            matrix[row, 0] += 1e-3  # no zero vectors
        return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


class FakeSpanEmbedder(FakeEmbedder):
    """The fake embedder that also pools spans (a `SpanEmbedder`): a span's vector is the fake vector of the
    span's text, so results equal separate embedding; `passages` records every text read."""

    model_id = "fake-hash-span-embedder"

    def __init__(self, max_tokens: int = 254) -> None:
        super().__init__(max_tokens)
        self.passages: list[str] = []

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        self.passages += texts
        return super().embed_passages(texts)

    def embed_passages_and_spans(
        self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]]
    ) -> tuple[np.ndarray, np.ndarray]:
        pieces = [
            text[start:end]
            for text, text_spans in zip(texts, spans, strict=True)
            for start, end in text_spans
        ]
        span_vectors = self._embed(pieces) if pieces else np.zeros((0, self.dimension), dtype=np.float32)
        return self.embed_passages(texts), span_vectors
