"""The ONNX files of the embedder: export a sentence-transformers model's transformer to ONNX once, quantize
it to int8 for this CPU, and keep both in a bounded on-disk cache. Running them is
`index/embed/onnx_embedding.py`.

The cache is `<root>/<model-key>/<variant>/{model.onnx,done.json}`. The model key hashes the content of the
model's files (not their times: a reinstall of the same model finds its export). A variant is built in a
temporary sibling folder (`.onnx-*`) and renamed into place while the model folder is locked; `done.json`
records the files' sizes, times and sha256, and a folder whose file does not match (a crash, a full disk, a
hand edit) is rebuilt; a file whose size and time are the sealed ones is trusted without hashing it again.
Temporary folders of a process that died are removed the next time the folder is locked, and after a build
the least recently used models are removed until the cache fits MAX_CACHE_BYTES. A model folder also holds
the Latin subset of its tokenizer (`latin_tokenizer.py`).
torch and sentence-transformers are only imported to export, never to run.
"""

from __future__ import annotations

import contextlib
import fcntl
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
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ONNX_OPSET = 17
# Bump one when its recipe changes: variants built by another recipe are rebuilt (the export stays when only
# the quantization changes, so no torch is needed for that).
EXPORT_VERSION = 2
# 3: the word-embedding table (Gather) in int8 too: 58 -> 23 MB, 65 MB less memory. 4: the weights in a file
# beside the graph (`model.onnx.data`), which ONNX Runtime maps instead of reading: only the word-embedding
# rows a text uses are in memory (multilingual-e5-small: a session takes 40 MB instead of 220 MB, loads in
# 0.2 s instead of 0.47).
QUANTIZE_VERSION = 4
# A model takes about 150 MB here (fp32 90 MB, int8 58 MB): room for a handful of models, not for every
# model ever tried.
MAX_CACHE_BYTES = 1 << 30
_MARKER = "done.json"
_MODEL_FILE = "model.onnx"
_DATA_FILE = "model.onnx.data"  # the int8 variants' weights (external data of the graph)
_LOCK = ".lock"
_MEMO_ENTRIES = 200  # file digests remembered by path, size and time

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


def model_cache_key(model: str, path: str, memo: Path | None = None) -> str:
    """A folder name for a model: a readable slug plus a hash of the content of its files.

    File times are not part of the key, so reinstalling the same model finds its export again. Hashing a
    model's files takes a moment; `memo` (a JSON file) remembers each file's digest by path, size and mtime.
    """
    fingerprint = hashlib.sha256(b"export-v2")  # a fixed seed: the recipes are checked per variant
    folder = Path(path)
    if folder.is_dir():
        known = _read_memo(memo)
        seen = {}
        for file in sorted(p for p in folder.rglob("*") if p.is_file()):
            stat = file.stat()
            stamp = f"{file}:{stat.st_size}:{stat.st_mtime_ns}"
            digest = known.get(stamp) or _digest(file)
            seen[stamp] = digest
            fingerprint.update(f"{file.relative_to(folder).as_posix()}:{digest}\n".encode())
        if memo is not None and seen.keys() - known.keys():
            _write_memo(memo, known | seen)
    else:  # a name the loader resolves itself: the name is all there is to go by
        fingerprint.update(model.encode())
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", model).strip("_")[-60:]
    return f"{slug}-{fingerprint.hexdigest()[:12]}"


def _read_memo(memo: Path | None) -> dict[str, str]:
    if memo is None:
        return {}
    try:
        data = json.loads(memo.read_text(encoding="utf-8"))
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _write_memo(memo: Path, data: dict[str, str]) -> None:
    """Best effort, written atomically: a lost memo only costs hashing again."""
    try:
        memo.parent.mkdir(parents=True, exist_ok=True)
        entries = dict(list(data.items())[-_MEMO_ENTRIES:])
        tmp = memo.with_name(f".{memo.name}-{os.getpid()}")
        tmp.write_text(json.dumps(entries), encoding="utf-8")
        os.replace(tmp, memo)
    except OSError as error:
        log.debug("could not write %s: %s", memo, error)


def ensure_onnx(load_model: Callable[[], Any], folder: Path, variant: str) -> Path:
    """The cached ONNX file of `variant` ("onnx", "onnx-int8-<config>"), built if missing or broken.

    `load_model` gives the sentence-transformers model; it is only called when something must be exported.
    The model's folder is locked while this runs: temporary folders left by a process that died while
    exporting are removed, and two processes never export the same model at once. After a build the cache
    is trimmed to MAX_CACHE_BYTES.
    """
    folder.mkdir(parents=True, exist_ok=True)
    with locked(folder):
        _remove_temporaries(folder)
        target = folder / variant
        if _cache_is_valid(target, _recipe(variant)):
            _mark_used(target)
            return target / _MODEL_FILE
        _build_variant(load_model, folder, variant)
    prune_cache(folder.parent, keep=folder)
    return target / _MODEL_FILE


def _build_variant(load_model: Callable[[], Any], folder: Path, variant: str) -> None:
    target = folder / variant
    if _cache_is_valid(target, _recipe(variant)):
        return
    if variant == "onnx":
        build: Callable[[Path], None] = lambda out: export_onnx(load_model(), out)  # noqa: E731
    else:
        _build_variant(load_model, folder, "onnx")
        config = variant.removeprefix("onnx-int8-")
        build = lambda out: quantize_int8(folder / "onnx" / _MODEL_FILE, out, config)  # noqa: E731
    _build_atomically(target, build, _recipe(variant))


def _recipe(variant: str) -> str:
    return f"export-v{EXPORT_VERSION}" if variant == "onnx" else f"quantize-v{QUANTIZE_VERSION}"


@contextlib.contextmanager
def locked(folder: Path, *, wait: bool = True) -> Iterator[bool]:
    """An exclusive lock on `folder` (a `.lock` file in it); yields False if `wait` is off and it is taken."""
    with open(folder / _LOCK, "a+b") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _remove_temporaries(folder: Path) -> None:
    """Temporary export folders (`.onnx-*`): under the lock, whoever made them has died."""
    for entry in folder.glob(".onnx*"):
        if entry.is_dir():
            log.info("removing the unfinished export %s", entry)
            shutil.rmtree(entry, ignore_errors=True)


def _mark_used(target: Path) -> None:
    """The marker's time says when a variant was last used: the least recently used go first."""
    with contextlib.suppress(OSError):
        os.utime(target / _MARKER)


def prune_cache(root: Path, *, keep: Path | None = None, max_bytes: int | None = None) -> list[Path]:
    """Remove the least recently used model folders of `root` (never `keep`, never one that is locked)
    until the cache holds at most `max_bytes` (default MAX_CACHE_BYTES). Returns the removed folders."""
    limit = MAX_CACHE_BYTES if max_bytes is None else max_bytes
    folders = [entry for entry in root.iterdir() if entry.is_dir()] if root.is_dir() else []
    sizes = {entry: _bytes_in(entry) for entry in folders}
    total = sum(sizes.values())
    removed = []
    for entry in sorted(folders, key=_last_used):
        if total <= limit:
            break
        if keep is not None and entry.resolve() == keep.resolve():
            continue
        with locked(entry, wait=False) as free:
            if not free:
                continue
            log.info("ONNX cache over %d MB: removing %s", limit // 2**20, entry)
            shutil.rmtree(entry, ignore_errors=True)
        total -= sizes[entry]
        removed.append(entry)
    return removed


def _bytes_in(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def _last_used(folder: Path) -> float:
    times = [marker.stat().st_mtime for marker in folder.glob(f"*/{_MARKER}")]
    return max(times, default=0.0)


def _cache_is_valid(target: Path, recipe: str) -> bool:
    """Whether `target` holds a finished build of `recipe`: each file has the size its marker records, and
    the time it had when it was sealed, or else (copied, touched, rewritten) the sha256 the marker records.
    A file rewritten in place gets a new time, so damage is still found, and the 0.1-0.2 s of hashing the
    int8 weights is paid once after a file's time changed, not on every load. A file whose digest matches
    gets its new time recorded."""
    try:
        marker = json.loads((target / _MARKER).read_text(encoding="utf-8"))
        made_by = marker.get("recipe", "export-v2" if target.name == "onnx" else None)  # older markers
        if made_by != recipe:
            return False
        stamps = {}
        for file, prefix in ((target / _MODEL_FILE, ""), (target / _DATA_FILE, "data_")):
            if prefix and f"{prefix}size" not in marker:
                continue  # a graph without a weights file beside it
            stat = file.stat()
            if stat.st_size != marker[f"{prefix}size"]:
                return False
            if stat.st_mtime_ns != marker.get(f"{prefix}mtime_ns"):
                if _digest(file) != marker[f"{prefix}sha256"]:
                    return False
                stamps[f"{prefix}mtime_ns"] = stat.st_mtime_ns
        if stamps:
            _write_marker(target, marker | stamps)
        return True
    except (OSError, ValueError, KeyError, TypeError):
        return False


def _write_marker(folder: Path, marker: dict[str, Any]) -> None:
    tmp = folder / f".{_MARKER}-{os.getpid()}"
    tmp.write_text(json.dumps(marker), encoding="utf-8")
    os.replace(tmp, folder / _MARKER)


def _build_atomically(target: Path, build: Callable[[Path], None], recipe: str) -> Path:
    """Build into a temporary sibling folder, seal it with a marker, then rename it to `target`."""
    started = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        build(tmp)
        file = tmp / _MODEL_FILE
        marker = {
            "size": file.stat().st_size,
            "mtime_ns": file.stat().st_mtime_ns,
            "sha256": _digest(file),
            "seconds": time.perf_counter() - started,
            "recipe": recipe,
        }
        data = tmp / _DATA_FILE
        if data.is_file():
            stat = data.stat()
            marker |= {
                "data_size": stat.st_size,
                "data_mtime_ns": stat.st_mtime_ns,
                "data_sha256": _digest(data),
            }
        _write_marker(tmp, marker)
        if target.exists():
            log.warning("rebuilding invalid ONNX cache %s", target)
            shutil.rmtree(target, ignore_errors=True)
        os.rename(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    log.info("built %s in %.1f s", target, time.perf_counter() - started)
    return target


def _digest(file: Path) -> str:
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
    """Dynamic int8 quantization of the MatMul weights and the embedding tables (Gather) of `source` for the
    instruction set `config`; the weights are written beside the graph (`model.onnx.data`) to be mapped."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    inline = out_dir / "inline.onnx"
    quantize_dynamic(
        str(source),
        str(inline),
        weight_type=QuantType.QInt8,
        per_channel=True,
        reduce_range=_INT8_REDUCE_RANGE[config],
        op_types_to_quantize=["MatMul", "Gather"],
    )
    onnx.save_model(
        onnx.load(str(inline)),
        str(out_dir / _MODEL_FILE),
        save_as_external_data=True,
        all_tensors_to_one_file=True,
        location=_DATA_FILE,
        size_threshold=1024,
    )
    inline.unlink()
