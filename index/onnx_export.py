"""ONNX backends of the embedder: export a sentence-transformers model's transformer to ONNX, quantize it to
int8 for this CPU, cache both on disk, and run the forward pass in ONNX Runtime.

The cache is `<root>/<model-key>/<variant>/{model.onnx,done.json}`. A variant is built in a temporary sibling
folder and renamed into place; `done.json` records the file's size and sha256, and a folder whose file does
not match (a crash, a full disk, a hand edit) is rebuilt. The one module that imports onnxruntime; it never
imports sentence_transformers (it receives the loaded model).
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
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ONNX_OPSET = 17
EXPORT_VERSION = 2  # bump when the export or quantization changes: old caches are then ignored
_MARKER = "done.json"
_MODEL_FILE = "model.onnx"

log = logging.getLogger(__name__)


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


def ensure_onnx(model: Any, folder: Path, variant: str) -> Path:
    """The cached ONNX file of `variant` ("onnx", "onnx-int8-<config>"), built if missing or broken."""
    target = folder / variant
    if _cache_is_valid(target):
        return target / _MODEL_FILE
    if variant == "onnx":
        build: Callable[[Path], None] = lambda out: export_onnx(model, out)  # noqa: E731
    else:
        source = ensure_onnx(model, folder, "onnx")
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


def use_onnx_forward(model: Any, onnx_file: Path) -> None:
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
