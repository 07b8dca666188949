"""The ONNX backends of the embedder, without torch: `tokenizers` splits the text, ONNX Runtime runs the
transformer, numpy pools and normalizes. Serving (`pitwall ask`, `pitwall bot`) imports nothing else; torch
and sentence-transformers are loaded only once, to export the model when the cache has no ONNX file yet.

A build embeds thousands of passages: they are tokenized once, sorted by length, cut into batches padded
only to their longest passage, and the batches run on one thread per core (one ONNX Runtime thread each:
on this 2-core machine two single-threaded runs side by side beat one run on two threads by ~25%).
`embed_passages_and_spans` also pools sub-spans of each passage (its sentences) from the same forward pass:
mean of the span's token states, in the passage's context.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from index.embed.latin_tokenizer import LatinFirstTokenizer

BATCH_SIZE = 32  # passages per forward pass (sorted by length, so padding stays small)
Spans = Sequence[Sequence[tuple[int, int]]]  # per passage: (start, end) character spans in that passage


class UnsupportedModel(ValueError):
    """A model the ONNX backends cannot run (they know Transformer + mean/CLS pooling + Normalize)."""


@dataclass(frozen=True)
class ModelLayout:
    """What a sentence-transformers model folder says about running it."""

    folder: Path  # the transformer's folder: tokenizer.json, config.json
    max_seq_length: int
    pooling: str  # "mean" or "cls"
    include_prompt: bool
    prompts: dict[str, str]


def read_layout(model_path: str | os.PathLike[str]) -> ModelLayout:
    """The layout of a local sentence-transformers model folder (or a plain transformers one)."""
    root = Path(model_path)
    if not root.is_dir():
        raise UnsupportedModel(f"{model_path} is not a model folder")
    modules = _json(root / "modules.json", default=[])
    kinds = [str(module.get("type", "")).rsplit(".", 1)[-1] for module in modules]
    if kinds and (kinds[0] != "Transformer" or any(k not in ("Pooling", "Normalize") for k in kinds[1:])):
        raise UnsupportedModel(
            f"modules {kinds} of {root}: the ONNX backends run Transformer, Pooling, Normalize"
        )
    transformer = root / (modules[0].get("path", "") if modules else "")
    pooling_path = next(
        (m.get("path", "") for m, k in zip(modules, kinds, strict=True) if k == "Pooling"), None
    )
    pooling = _json(root / pooling_path / "config.json", default={}) if pooling_path else {}
    if pooling.get("pooling_mode_cls_token"):
        mode = "cls"
    elif pooling.get("pooling_mode_mean_tokens", True) and not any(
        pooling.get(key) for key in ("pooling_mode_max_tokens", "pooling_mode_mean_sqrt_len_tokens")
    ):
        mode = "mean"
    else:
        raise UnsupportedModel(f"pooling {pooling} of {root}: the ONNX backends pool by mean or CLS token")
    if not (transformer / "tokenizer.json").is_file():
        raise UnsupportedModel(f"{transformer} has no tokenizer.json (a fast tokenizer is needed)")
    config = _json(transformer / "config.json", default={})
    st_config = _json(transformer / "sentence_bert_config.json", default={})
    limits = [
        st_config.get("max_seq_length"),
        _json(transformer / "tokenizer_config.json", default={}).get("model_max_length"),
        config.get("max_position_embeddings"),
    ]
    max_seq_length = min(int(n) for n in limits if isinstance(n, int | float) and 0 < n < 1e6)
    prompts = _json(root / "config_sentence_transformers.json", default={}).get("prompts") or {}
    return ModelLayout(transformer, max_seq_length, mode, bool(pooling.get("include_prompt", True)), prompts)


def _json(path: Path, default: Any) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return default


class OnnxEmbedder:
    """An Embedder over an ONNX file of a sentence-transformers model (see `index.embed.embedding`)."""

    def __init__(
        self,
        layout: ModelLayout,
        onnx_file: Path,
        *,
        model_id: str,
        query_prompt: str | None = None,
        passage_prompt: str | None = None,
        batch_size: int = BATCH_SIZE,
        threads: int | None = None,
        tokenizer_cache: Path | None = None,
    ) -> None:
        import onnxruntime

        self.model_id = model_id
        self.onnx_path = onnx_file
        self.batch_size = batch_size
        self.threads = threads or len(os.sched_getaffinity(0))
        self._layout = layout
        self.query_prompt = query_prompt if query_prompt is not None else layout.prompts.get("query", "")
        if passage_prompt is None:
            passage_prompt = layout.prompts.get("passage", layout.prompts.get("document", ""))
        self.passage_prompt = passage_prompt

        # One tokenizer, never truncating (`_encode_within_limit` cuts): a unigram vocabulary of 250,000
        # pieces (multilingual-e5-small) takes ~250 MB in `tokenizers`, a second copy for counting as much.
        # Its Latin-script part is loaded first (latin_tokenizer.py: 0.18 s instead of 0.6 s, same ids).
        self._tokenizer = LatinFirstTokenizer(
            layout.folder / "tokenizer.json", tokenizer_cache or onnx_file.parent
        )

        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = 1  # parallel over batches instead: see the module docstring
        options.inter_op_num_threads = 1
        self._session = onnxruntime.InferenceSession(
            str(onnx_file), options, providers=["CPUExecutionProvider"]
        )
        self._inputs = [node.name for node in self._session.get_inputs()]
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()
        self.dimension = int(self._session.get_outputs()[0].shape[-1])
        specials = len(self._tokenizer.encode("", add_special_tokens=True).ids)
        prompt_tokens = self.token_lengths([self.passage_prompt])[0] if self.passage_prompt else 0
        self.max_tokens = layout.max_seq_length - specials - prompt_tokens

    def token_lengths(self, texts: Sequence[str]) -> list[int]:
        if not texts:
            return []
        return [len(e.ids) for e in self._tokenizer.encode_batch(list(texts), add_special_tokens=False)]

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, self.passage_prompt, [()] * len(texts))[0]

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, self.query_prompt, [()] * len(texts))[0]

    def embed_passages_and_spans(self, texts: Sequence[str], spans: Spans) -> tuple[np.ndarray, np.ndarray]:
        """Vectors of the passages, and of each span of each passage (in order: passage by passage) pooled
        from the passage's own forward pass. A span whose tokens were cut off (past the model's limit) gets
        a vector of zeros: the caller embeds it on its own."""
        if len(spans) != len(texts):
            raise ValueError(f"{len(texts)} passages but spans for {len(spans)}")
        return self._encode(texts, self.passage_prompt, spans)

    def _encode(self, texts: Sequence[str], prompt: str, spans: Spans) -> tuple[np.ndarray, np.ndarray]:
        span_offsets = np.cumsum([0, *(len(s) for s in spans)])
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        span_vectors = np.zeros((int(span_offsets[-1]), self.dimension), dtype=np.float32)
        if not texts:
            return vectors, span_vectors
        prompted = [prompt + text for text in texts]
        encodings = self._encode_within_limit(prompted)
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        batches = [order[b : b + self.batch_size] for b in range(0, len(order), self.batch_size)]

        def run(batch: list[int]) -> None:
            hidden, mask = self._forward([encodings[i] for i in batch])
            if prompt and not self._layout.include_prompt:  # pool the text's tokens only
                mask[:, 1 : 1 + self.token_lengths([prompt])[0]] = 0
            vectors[batch] = self._pool_passages(hidden, mask)
            for row, i in enumerate(batch):
                if spans[i]:
                    first = span_offsets[i]
                    span_vectors[first : first + len(spans[i])] = _pool_spans(
                        hidden[row], encodings[i], prompted[i], spans[i], len(prompt)
                    )

        if len(batches) == 1 or self.threads == 1:
            for batch in batches:
                run(batch)
        else:
            list(self._executor().map(run, batches))  # list(): re-raises a worker's error here
        return vectors, span_vectors

    def _encode_within_limit(self, texts: list[str]) -> list[Any]:
        """Encodings with special tokens; a text longer than the model reads is encoded up to the word piece
        that would pass the limit (pieces split words alike in a text and its beginning), as truncation
        would: its spans past the cut pool to zeros."""
        limit = self._layout.max_seq_length
        encodings = self._tokenizer.encode_batch(texts, add_special_tokens=True)
        for i, encoding in enumerate(encodings):
            text = texts[i]
            while len(encoding.ids) > limit and text:
                # keep <s> and the pieces up to position limit - 2; the piece at limit - 1 makes room for </s>
                cut = min(encoding.offsets[limit - 1][0], len(text) - 1)
                text = text[:cut]
                encoding = self._tokenizer.encode(text, add_special_tokens=True)
            encodings[i] = encoding
        return encodings

    def _executor(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="pitwall-embed")
            return self._pool

    def _forward(self, encodings: list[Any]) -> tuple[np.ndarray, np.ndarray]:
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(encodings), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        for row, encoding in enumerate(encodings):
            ids[row, : len(encoding.ids)] = encoding.ids
            mask[row, : len(encoding.ids)] = 1
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        hidden = self._session.run(None, {name: feeds[name] for name in self._inputs})[0]
        return hidden, mask

    def _pool_passages(self, hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
        if self._layout.pooling == "cls":
            pooled = hidden[:, 0]
        else:
            weights = mask[:, :, None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        return _normalized(pooled)


def _pool_spans(
    hidden: np.ndarray, encoding: Any, text: str, spans: Sequence[tuple[int, int]], shift: int
) -> np.ndarray:
    """Mean of the token states of each character span (a token belongs to the span its first character
    other than a space is in: a SentencePiece word piece such as "▁Satz" spans the space before it)."""
    specials = np.asarray(encoding.special_tokens_mask, dtype=bool)
    starts = np.asarray([_visible_start(text, s, e) for s, e in encoding.offsets], dtype=np.int64) - shift
    starts[specials] = -1
    positions = np.flatnonzero(~specials)
    token_starts = starts[positions]  # ascending: tokens in text order
    out = np.zeros((len(spans), hidden.shape[-1]), dtype=np.float32)
    for k, (start, end) in enumerate(spans):
        low, high = np.searchsorted(token_starts, [start, end])
        if high > low and (high < len(token_starts) or _reaches(encoding, shift, end)):
            out[k] = hidden[positions[low:high]].mean(axis=0)
    return _normalized(out)


def _visible_start(text: str, start: int, end: int) -> int:
    while start < end - 1 and text[start].isspace():
        start += 1
    return start


def _reaches(encoding: Any, shift: int, end: int) -> bool:
    """Whether the (possibly truncated) encoding covers the text up to `end`."""
    pairs = zip(encoding.offsets, encoding.special_tokens_mask, strict=True)
    last = max((stop for (_, stop), special in pairs if not special), default=shift)
    return last - shift >= end


def _normalized(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return np.ascontiguousarray(matrix / np.where(norms > 0, norms, 1.0), dtype=np.float32)
