"""Search with date filters: bounds are inclusive, undated articles only without a filter, in every mode
(fake embedder: fast, deterministic)."""

import datetime as dt

import pytest

from index.build import build_index
from index.search import MODES, Searcher
from index.store.generations import load_index
from tests.conftest import write_article
from tests.fakes import FakeEmbedder

DATES = {"early": "2024-01-10", "mid": "2024-06-15", "late": "2025-02-01", "undated": None}
D = dt.date.fromisoformat


@pytest.fixture(scope="module")
def searcher(tmp_path_factory) -> Searcher:
    folder = tmp_path_factory.mktemp("search")
    for name, published in DATES.items():
        meta = {"published": published} if published else {}
        write_article(
            folder / "corpus", name, name.title(), f"Das Rennen in Daytona, Bericht {name}.", **meta
        )
    embedder = FakeEmbedder()
    build_index(folder / "corpus", folder / "index", model_id="fake", get_embedder=lambda: embedder)
    return Searcher(load_index(folder / "index", model_id="fake"), embedder)


def found(searcher, mode, **filters) -> set[str]:
    return {hit.article.id for hit in searcher.search("Rennen Daytona", 10, mode=mode, **filters)}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, {"early", "mid", "late", "undated"}),  # without a filter an undated article counts
        ({"since": D("2024-06-15")}, {"mid", "late"}),  # the bound itself is included
        ({"since": D("2024-06-16")}, {"late"}),
        ({"until": D("2024-06-15")}, {"early", "mid"}),
        ({"until": D("2024-06-14")}, {"early"}),
        ({"since": D("2024-06-15"), "until": D("2024-06-15")}, {"mid"}),
        ({"since": D("2024-01-01"), "until": D("2030-01-01")}, {"early", "mid", "late"}),  # never undated
        ({"since": D("2030-01-01")}, set()),
        ({"since": D("2025-01-01"), "until": D("2024-01-01")}, set()),  # an empty range
    ],
)
def test_date_filters(searcher, mode, filters, expected):
    assert found(searcher, mode, **filters) == expected


@pytest.mark.parametrize("mode", MODES)
def test_the_best_hits_within_the_dates_fill_k(searcher, mode):
    hits = searcher.search("Bericht late", 2, mode=mode, since=D("2024-06-01"))
    assert [hit.article.id for hit in hits][:1] == ["late"]
    assert all(hit.article.published >= D("2024-06-01") for hit in hits)
    assert len(hits) == 2
