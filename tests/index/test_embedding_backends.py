"""The embedding backends run the bundled model and agree with torch; ONNX exports are cached and repaired."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bot.settings import Settings
from index import onnx_export
from index.embedding import BACKENDS, DEFAULT_MODEL, SentenceTransformerEmbedder
from index.onnx_export import int8_config_for_cpu, model_cache_key

PASSAGES = [
    "Max Verstappen gewann am Sonntag den Großen Preis von Italien in Monza vor Lando Norris.",
    "Die Wiener Börse schloss den Handelstag mit deutlichen Verlusten bei den Bankaktien.",
    "Für den Teig Mehl, Butter und Zucker verkneten und eine Stunde kühl stellen.",
    "Alpine will 2025 mit einem eigenen Prototyp in der IMSA-Serie in Nordamerika antreten.",
]
QUERIES = ["Wer hat das Rennen in Monza gewonnen?", "Is Alpine entering IMSA?"]
EXPECTED_BEST = [0, 3]


class Counter:
    """Wraps a function and counts its calls."""

    def __init__(self, function):
        self.function = function
        self.calls = 0

    def __call__(self, *args, **kwargs):
        self.calls += 1
        return self.function(*args, **kwargs)


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("onnx-cache")


@pytest.fixture(scope="module")
def embedders(cache_dir):
    return {
        backend: SentenceTransformerEmbedder(backend=backend, cache_dir=cache_dir) for backend in BACKENDS
    }


@pytest.fixture()
def counted(monkeypatch):
    export = Counter(onnx_export.export_onnx)
    quantize = Counter(onnx_export.quantize_int8)
    monkeypatch.setattr(onnx_export, "export_onnx", export)
    monkeypatch.setattr(onnx_export, "quantize_int8", quantize)
    return export, quantize


def test_unknown_backend_is_rejected_with_the_valid_ones():
    with pytest.raises(ValueError, match=r"'tensorrt'.*torch, onnx, onnx-int8"):
        SentenceTransformerEmbedder(backend="tensorrt")


def test_onnx_backends_refuse_a_gpu_device():
    with pytest.raises(ValueError, match="CPU only"):
        SentenceTransformerEmbedder(backend="onnx", device="cuda")


@pytest.mark.parametrize(
    ("cpuinfo", "expected"),
    [
        ("flags\t\t: fpu sse avx2 avx512f avx512bw avx512_vnni\n", "avx512_vnni"),
        ("flags\t\t: fpu sse avx2 avx512f avx512bw\n", "avx512"),
        ("flags\t\t: fpu sse avx avx2 fma\n", "avx2"),
        ("Features\t: fp asimd evtstrm aes\n", "arm64"),
    ],
)
def test_int8_config_follows_the_cpu_flags(cpuinfo, expected):
    assert int8_config_for_cpu(cpuinfo) == expected


def test_model_cache_key_changes_when_model_files_change(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    before = model_cache_key("my-model", str(tmp_path))
    (tmp_path / "config.json").write_text('{"hidden_size": 8}')
    assert model_cache_key("my-model", str(tmp_path)) != before
    assert before.startswith("my-model-")


@pytest.mark.integration
@pytest.mark.parametrize("backend", BACKENDS)
def test_backend_returns_unit_float32_vectors(embedders, backend):
    vectors = embedders[backend].embed_passages(PASSAGES)
    assert vectors.dtype == np.float32
    assert vectors.shape == (len(PASSAGES), 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert embedders[backend].dimension == 384


@pytest.mark.integration
@pytest.mark.parametrize(("backend", "floor"), [("onnx", 0.99), ("onnx-int8", 0.9)])
def test_onnx_vectors_match_torch(embedders, backend, floor):
    reference = embedders["torch"].embed_passages(PASSAGES + QUERIES)
    vectors = embedders[backend].embed_passages(PASSAGES + QUERIES)
    cosines = np.sum(reference * vectors, axis=1)
    assert cosines.min() > floor, cosines


@pytest.mark.integration
@pytest.mark.parametrize("backend", BACKENDS)
def test_query_ranking_agrees_with_torch(embedders, backend):
    def best(embedder):
        scores = embedder.embed_queries(QUERIES) @ embedder.embed_passages(PASSAGES).T
        return scores.argmax(axis=1).tolist()

    assert best(embedders["torch"]) == EXPECTED_BEST
    assert best(embedders[backend]) == EXPECTED_BEST


def _expected_int8_config() -> str:
    """The best int8 kernel this CPU has, read from /proc/cpuinfo here, apart from `int8_config_for_cpu`."""
    text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    flags = {
        word
        for line in text.splitlines()
        if line.startswith(("flags", "Features"))
        for word in line.split(":", 1)[1].split()
    }
    for flag, config in (
        ("avx512_vnni", "avx512_vnni"),
        ("avx512f", "avx512"),
        ("avx2", "avx2"),
        ("asimd", "arm64"),
    ):
        if flag in flags:
            return config
    pytest.skip("a CPU without avx2 or asimd flags")


@pytest.mark.integration
def test_model_id_separates_backends_whose_vectors_differ(embedders):
    assert embedders["torch"].model_id == DEFAULT_MODEL
    assert embedders["onnx"].model_id == DEFAULT_MODEL  # same vectors to ~1e-5: indexes stay compatible
    int8 = embedders["onnx-int8"]
    assert int8.model_id == f"{DEFAULT_MODEL}+onnx-int8-{_expected_int8_config()}"
    assert int8.model_id.endswith("+" + int8.onnx_path.parent.name)  # names the weights actually quantized


@pytest.mark.integration
@pytest.mark.parametrize("backend", BACKENDS)
def test_settings_give_the_model_id_the_embedder_records(embedders, backend):
    """The service checks an index against `Settings.model_id` before loading the model: it must be the id
    the embedder of the same settings writes into the index."""
    assert (
        Settings(embedding_model=DEFAULT_MODEL, embedding_backend=backend).model_id
        == embedders[backend].model_id
    )


@pytest.mark.integration
def test_cached_export_is_reused(embedders, cache_dir, counted):
    export, quantize = counted
    files = sorted(cache_dir.glob("*/*/model.onnx"))
    assert len(files) == 2  # fp32 and int8
    mtimes = [file.stat().st_mtime_ns for file in files]

    again = SentenceTransformerEmbedder(backend="onnx-int8", cache_dir=cache_dir)

    assert (export.calls, quantize.calls) == (0, 0)
    assert [file.stat().st_mtime_ns for file in files] == mtimes
    assert again.onnx_path == embedders["onnx-int8"].onnx_path


@pytest.mark.integration
@pytest.mark.parametrize("damage", ["truncated", "corrupted", "no-marker", "stale-temp-only"])
def test_partial_cache_is_rebuilt(embedders, tmp_path, counted, damage):
    export, _ = counted
    built = embedders["onnx"].onnx_path.parent
    target = tmp_path / built.parent.name / built.name
    if damage == "stale-temp-only":
        (tmp_path / built.parent.name / ".onnx-crashed").mkdir(parents=True)
        (tmp_path / built.parent.name / ".onnx-crashed" / "model.onnx").write_bytes(b"half")
    else:
        target.mkdir(parents=True)
        data = (built / "model.onnx").read_bytes()
        if damage == "truncated":
            data = data[: len(data) // 2]
        elif damage == "corrupted":
            data = data[:1000] + bytes(1000) + data[2000:]
        (target / "model.onnx").write_bytes(data)
        if damage in ("truncated", "corrupted"):
            (target / "done.json").write_text((built / "done.json").read_text())

    rebuilt = SentenceTransformerEmbedder(backend="onnx", cache_dir=tmp_path)

    assert export.calls == 1
    marker = json.loads((target / "done.json").read_text())
    assert marker["size"] == (target / "model.onnx").stat().st_size
    reference = embedders["torch"].embed_passages(PASSAGES)
    assert np.sum(reference * rebuilt.embed_passages(PASSAGES), axis=1).min() > 0.99
