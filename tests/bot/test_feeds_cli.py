"""`pitwall feeds`, `pitwall fetch` and `pitwall add` against a news site on 127.0.0.1: exit statuses, the
JSON contract, and (with the real bundled model) a question answered from an article that just came in."""

from __future__ import annotations

import json

import pytest
from werkzeug import Response

from bot import cli
from bot.service import AnswerService
from tests.fakes import FakeEmbedder
from tests.feed_site import ALPINE, COMMENT, HAAS, RELATED_TEASER, rss, started_site


@pytest.fixture
def site():
    yield from started_site()


@pytest.fixture
def env(tmp_path, monkeypatch):
    for name, value in {
        "CORPUS_DIR": tmp_path / "corpus",
        "INDEX_DIR": tmp_path / "index",
        "FEEDS_DB": tmp_path / "data" / "feeds.sqlite3",
        "FETCH_ALLOW_PRIVATE": "true",  # the site is on 127.0.0.1
        "FETCH_HOST_DELAY_SECONDS": "0",
    }.items():
        monkeypatch.setenv(f"PITWALL_{name}", str(value))
    monkeypatch.setattr(cli, "_service", lambda settings: AnswerService(settings, lambda _: FakeEmbedder()))
    return tmp_path


def run(capsys, *argv):
    status = cli.main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_feeds_add_list_remove_export(env, site, capsys):
    url = site.url("/rss.xml")
    assert run(capsys, "feeds", "add", url, "--name", "Rennsport")[0] == cli.EXIT_OK
    status, out, _ = run(capsys, "feeds", "list", "--json")
    (feed,) = json.loads(out)
    assert (status, feed["url"], feed["name"], feed["articles"], feed["failing"]) == (
        0,
        url,
        "Rennsport",
        0,
        False,
    )
    status, out, _ = run(capsys, "feeds", "export")
    assert f'xmlUrl="{url}"' in out
    assert run(capsys, "feeds", "remove", url)[0] == cli.EXIT_OK
    status, _, err = run(capsys, "feeds", "remove", url)
    assert status == cli.EXIT_ERROR and "not following" in err


def test_feeds_add_refuses_a_bad_url_with_one_line(env, capsys, monkeypatch):
    monkeypatch.setenv("PITWALL_FETCH_ALLOW_PRIVATE", "false")
    status, _, err = run(capsys, "feeds", "add", "http://127.0.0.1/rss.xml")
    assert status == cli.EXIT_ERROR
    assert err.strip() == (
        "pitwall: refused 127.0.0.1: 127.0.0.1 is a loopback address "
        "(set PITWALL_FETCH_ALLOW_PRIVATE=true to fetch from your own network)"
    )


def test_fetch_json_report_written_and_indexed_then_nothing_new(env, site, capsys):
    site.serve_feed("/rss.xml", rss(site.base, [HAAS, ALPINE]))
    site.serve_story(HAAS)
    site.serve_story(ALPINE)
    run(capsys, "feeds", "add", site.url("/rss.xml"), "--name", "Rennsport")
    status, out, _ = run(capsys, "fetch", "--json")
    report = json.loads(out)
    assert status == cli.EXIT_OK
    assert set(report) == {"feeds", "written", "index"}
    (feed,) = report["feeds"]
    assert {k: feed[k] for k in ("url", "name", "new", "updated", "unchanged", "failed", "error")} == {
        "url": site.url("/rss.xml"),
        "name": "Rennsport",
        "new": 2,
        "updated": 0,
        "unchanged": 0,
        "failed": 0,
        "error": None,
    }
    assert len(report["written"]) == 2 and all(p.startswith("feeds/127.0.0.1/") for p in report["written"])
    assert (report["index"]["articles"], report["index"]["added"]) == (2, 2)
    status, out, _ = run(capsys, "fetch", "--json")
    again = json.loads(out)
    assert (status, again["written"], again["index"]["added"]) == (0, [], 0)
    status, out, _ = run(capsys, "feeds", "list", "--json")
    assert json.loads(out)[0]["articles"] == 2


def test_fetch_exit_3_when_a_feed_fails_and_the_others_come_in(env, site, capsys):
    site.serve_feed("/good.xml", rss(site.base, [ALPINE]))
    site.serve_story(ALPINE)
    site.serve("/html", "<!doctype html><html><body><p>Kein Feed</p></body></html>")
    run(capsys, "feeds", "add", site.url("/html"))
    run(capsys, "feeds", "add", site.url("/good.xml"))
    status, out, err = run(capsys, "fetch", "--no-index")
    assert status == cli.EXIT_SOME_REJECTED
    assert "failed: expected an RSS or Atom feed, got an HTML page (text/html)" in out
    assert "1 new" in out and "1 articles written" in out
    assert not (env / "index").exists()  # --no-index only writes


def test_fetch_exit_1_when_nothing_could_be_fetched(env, site, capsys):
    site.route("/down.xml", lambda _r: Response(status=500))
    run(capsys, "feeds", "add", site.url("/down.xml"))
    status, out, _ = run(capsys, "fetch", "--json", "--no-index")
    report = json.loads(out)
    assert status == cli.EXIT_ERROR
    assert report["feeds"][0]["error"] == f"HTTP 500 from {site.url('/down.xml')}"


def test_add_one_article_link(env, site, capsys):
    site.serve_story(HAAS)
    status, out, _ = run(capsys, "add", site.url(f"/news/{HAAS.slug}?utm_campaign=x"), "--json")
    report = json.loads(out)
    assert (status, report["feeds"][0]["new"], report["index"]["articles"]) == (0, 1, 1)
    status, out, err = run(capsys, "add", site.url("/news/missing"))
    assert status == cli.EXIT_ERROR
    assert f"HTTP 404 from {site.url('/news/missing')}" in out


@pytest.mark.integration
def test_a_question_is_answered_from_a_fetched_article_with_its_url(
    env, site, capsys, monkeypatch, real_embedder
):
    """`feeds add` + `fetch`, then `ask`: the quote is from the article body, never navigation or teasers,
    and the citation links to the article (the real bundled model)."""
    monkeypatch.setattr(cli, "_service", lambda settings: AnswerService(settings, lambda _: real_embedder))
    site.serve_feed("/rss.xml", rss(site.base, [HAAS, ALPINE]))
    site.serve_story(HAAS)
    site.serve_story(ALPINE)
    assert run(capsys, "feeds", "add", site.url("/rss.xml"), "--name", "Rennsport")[0] == cli.EXIT_OK
    assert run(capsys, "fetch")[0] == cli.EXIT_OK
    status, out, _ = run(capsys, "ask", "Wo eröffnet Haas ein zweites Werk?", "--json")
    answer = json.loads(out)
    assert status == cli.EXIT_OK and not answer["abstained"]
    first = answer["citations"][0]
    assert "Banbury" in first["quote"]
    assert first["quote"] in HAAS.body()
    assert first["quote"] not in COMMENT and first["quote"] not in RELATED_TEASER
    assert first["url"] == site.url(f"/news/{HAAS.slug}")
    assert first["link"].startswith(site.url(f"/news/{HAAS.slug}"))
    assert first["source"] == "Rennsport"
