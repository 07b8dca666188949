"""`pitwall index --ray local`: the shipped corpus embedded by Ray workers, against a local build
(real bundled model; one Ray session for the module, as starting Ray costs seconds)."""

import json
import shutil

import numpy as np
import pytest

pytest.importorskip("ray")

from bot import cli  # noqa: E402
from bot.service import AnswerService, embedder_recipe, make_embedder  # noqa: E402
from bot.settings import Settings  # noqa: E402
from index.embed import ray_embedding  # noqa: E402
from index.store.generations import load_index  # noqa: E402
from tests.conftest import SHIPPED_CORPUS  # noqa: E402

pytestmark = pytest.mark.integration
QUESTION = "Is Alpine entering IMSA?"


@pytest.fixture(scope="module")
def ray_session():
    started = ray_embedding.connect("local", cpus=2)
    yield
    if started:
        ray_embedding.shutdown()


@pytest.fixture(scope="module")
def local_embedder():
    """The default embedder (ONNX int8, pooling quote units from their chunk's forward pass)."""
    return make_embedder(Settings())


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("corpus")
    shutil.copytree(SHIPPED_CORPUS, folder, dirs_exist_ok=True)
    return folder


def service_for(corpus, index_dir, embedder) -> AnswerService:
    return AnswerService(
        Settings(corpus_dir=corpus, index_dir=index_dir), embedder_factory=lambda _: embedder
    )


def quotes(service: AnswerService) -> list[tuple[str, str]]:
    return [(c.article_id, c.quote) for c in service.ask(QUESTION).citations]


def test_ray_build_equals_a_local_build_and_a_rerun_embeds_nothing(
    ray_session, corpus, tmp_path, local_embedder, monkeypatch, capsys
):
    local = service_for(corpus, tmp_path / "local", local_embedder)
    assert local.reindex().engine == "local"
    monkeypatch.setattr(cli, "_service", lambda _: service_for(corpus, tmp_path / "ray", local_embedder))

    status = cli.main(["index", "--ray", "local", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert status == 0
    assert report["embedding"] == {"engine": "ray", "workers": 2}
    assert report["embedded_chunks"] == report["chunks"] > 0

    by_ray = service_for(corpus, tmp_path / "ray", local_embedder)
    assert quotes(by_ray) == quotes(local) != []
    model = local_embedder.model_id
    a, b = load_index(tmp_path / "local", model_id=model), load_index(tmp_path / "ray", model_id=model)
    for mine, theirs in ((a.vectors, b.vectors), (a.unit_vectors, b.unit_vectors)):
        cosines = np.sum(np.asarray(mine, np.float32) * np.asarray(theirs, np.float32), axis=1)
        assert mine.shape == theirs.shape and cosines.min() >= 0.999

    again = by_ray.reindex(ray="local")
    assert (again.embedded_chunks, again.engine, again.workers) == (0, "ray", 0)  # Ray not even needed


def test_a_worker_with_another_model_is_refused(ray_session, local_embedder):
    with pytest.raises(ray_embedding.RayEmbeddingError, match="same model"):
        ray_embedding.ray_embedder(local_embedder, embedder_recipe(Settings(embedding_backend="onnx")), 1)


def test_two_workers_share_a_call_and_embed_as_this_machine(ray_session, local_embedder):
    texts = [f"Satz {n}: " + "Alpine plant keinen Einstieg in die IMSA. " * (n % 7 + 1) for n in range(100)]
    spans = [[(0, 4), (len(f"Satz {n}: "), len(f"Satz {n}: Alpine"))] for n in range(len(texts))]
    embedder = ray_embedding.ray_embedder(local_embedder, embedder_recipe(Settings()), 2)
    try:
        assert [len(part) for part in embedder._plan(texts)] == [64, 36]  # whole batches of 32
        vectors, pooled = embedder.embed_passages_and_spans(texts, spans)
    finally:
        embedder.close()
    expected, expected_pooled = local_embedder.embed_passages_and_spans(texts, spans)
    assert np.sum(vectors * expected, axis=1).min() >= 0.999
    assert np.sum(pooled * expected_pooled, axis=1).min() >= 0.999
