"""`pitwall fetch` killed with SIGKILL in the middle of a round: no half-written article, and the next round
repeats nothing already written (a real process, a real kill)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from werkzeug import Response

from bot import cli
from index.ingest.loading import load_corpus
from tests.feed_site import ALPINE, HAAS, article_page, rss, started_site


@pytest.fixture
def site():
    yield from started_site()


def test_a_fetch_killed_mid_round_leaves_whole_articles_and_repeats_nothing(site, tmp_path, monkeypatch):
    release = threading.Event()

    def slow_alpine(_request):  # the round is stuck here when it is killed
        release.wait(60)
        return Response(article_page(ALPINE), content_type="text/html")

    site.serve_feed("/rss.xml", rss(site.base, [HAAS, ALPINE]))
    site.serve_story(HAAS)
    site.route(f"/news/{ALPINE.slug}", slow_alpine)
    env = {
        **os.environ,
        "PITWALL_CORPUS_DIR": str(tmp_path / "corpus"),
        "PITWALL_INDEX_DIR": str(tmp_path / "index"),
        "PITWALL_FEEDS_DB": str(tmp_path / "feeds.sqlite3"),
        "PITWALL_FETCH_ALLOW_PRIVATE": "true",
        "PITWALL_FETCH_HOST_DELAY_SECONDS": "0",
    }
    for name, value in env.items():
        if name.startswith("PITWALL_"):
            monkeypatch.setenv(name, value)
    assert cli.main(["feeds", "add", site.url("/rss.xml")]) == cli.EXIT_OK
    process = subprocess.Popen([sys.executable, "-m", "bot", "fetch", "--no-index"], env=env)
    try:
        deadline = time.monotonic() + 60
        while f"/news/{ALPINE.slug}" not in site.paths() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert f"/news/{ALPINE.slug}" in site.paths(), "the fetch never reached the second article"
        os.kill(process.pid, signal.SIGKILL)
        process.wait(10)
    finally:
        release.set()
        if process.poll() is None:
            process.kill()
    assert process.returncode == -signal.SIGKILL
    first = load_corpus(tmp_path / "corpus")
    assert [a.title for a in first.articles] == [HAAS.title] and first.errors == ()

    assert cli.main(["fetch", "--no-index", "--json"]) == cli.EXIT_OK
    again = load_corpus(tmp_path / "corpus")
    assert sorted(a.title for a in again.articles) == sorted([HAAS.title, ALPINE.title])
    assert len(list((tmp_path / "corpus").rglob("*"))) == 4  # feeds/, its host folder and two articles
    assert site.paths().count(f"/news/{HAAS.slug}") == 1  # not fetched (nor written) a second time
