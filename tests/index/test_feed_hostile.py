"""Hostile and impolite cases of fetching: each is one line in the report, and everything else still comes
in. Every test here fails when its guard is removed (checked by removing each once)."""

from __future__ import annotations

import gzip
import time

import pytest
from werkzeug import Response

from index.ingest.feeds.addresses import AddressGuard
from index.ingest.feeds.polling import fetch_link
from tests.feed_site import ALPINE, HAAS, rss, started_site
from tests.index.feed_helpers import USER_AGENT, article_files, corpus_articles, poll, poll_context

RSS_TYPE = "application/rss+xml"


@pytest.fixture
def site():
    yield from started_site()


def good_feed(site) -> str:
    site.serve_feed("/good.xml", rss(site.base, [ALPINE]))
    site.serve_story(ALPINE)
    return site.url("/good.xml")


def test_malformed_xml_keeps_the_entries_it_still_has_and_reports_the_rest(site, tmp_path):
    broken = rss(site.base, [HAAS]).replace("</channel></rss>", "<item><title>kaputt &nbsp <b></channel>")
    site.serve("/broken.xml", broken, RSS_TYPE)
    site.serve("/garbage.xml", "<rss><<<>>>&&&", RSS_TYPE)
    site.serve_story(HAAS)
    with poll_context(tmp_path) as context:
        broken_result = poll(context, site.url("/broken.xml"))
        garbage = poll(context, site.url("/garbage.xml"))
        good = poll(context, good_feed(site))
    assert broken_result.new == 1 and "not well-formed" in broken_result.warning
    assert garbage.error.startswith("the feed is not well-formed (")
    assert garbage.error.endswith("not well-formed (invalid token)); no entry could be read")
    assert good.new == 1


def test_entity_expansion_is_refused_before_parsing(site, tmp_path):
    laughs = "".join(f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">' for n in range(1, 10))
    bomb = f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY lol0 "lol">{laughs}]>' + rss(site.base, []).split(
        "?>", 1
    )[1].replace("<title>Rennsport-Nachrichten</title>", "<title>&lol9;</title>")
    site.serve("/laughs.xml", bomb, RSS_TYPE)
    with poll_context(tmp_path) as context:
        started = time.monotonic()
        result = poll(context, site.url("/laughs.xml"))
        good = poll(context, good_feed(site))
    assert result.error == "the feed declares XML entities (refused: entity expansion can exhaust memory)"
    assert time.monotonic() - started < 10
    assert good.new == 1


def test_html_where_a_feed_was_expected(site, tmp_path):
    site.serve("/feed", "<!DOCTYPE html><html><body><h1>Willkommen</h1><p>Kein Feed hier.</p></body></html>")
    with poll_context(tmp_path) as context:
        result = poll(context, site.url("/feed"))
    assert result.error == "expected an RSS or Atom feed, got an HTML page (text/html)"


def test_a_gzip_bomb_stops_at_the_size_cap(site, tmp_path):
    bomb = gzip.compress(b"<rss>" + b" " * 64_000_000, compresslevel=9)  # 64 MB in about 60 kB
    site.serve("/bomb.xml", bomb, RSS_TYPE, **{"Content-Encoding": "gzip"})
    with poll_context(tmp_path, max_bytes=5_000_000) as context:
        result = poll(context, site.url("/bomb.xml"))
        good = poll(context, good_feed(site))
    assert result.error == f"{site.url('/bomb.xml')} is larger than 5,000,000 bytes (stopped reading there)"
    assert good.new == 1


def test_a_gzipped_feed_is_read(site, tmp_path):
    site.serve(
        "/gz.xml", gzip.compress(rss(site.base, [HAAS]).encode()), RSS_TYPE, **{"Content-Encoding": "gzip"}
    )
    site.serve_story(HAAS)
    with poll_context(tmp_path) as context:
        assert poll(context, site.url("/gz.xml")).new == 1


def test_a_50_mb_page_stops_at_the_size_cap_and_the_other_entries_come_in(site, tmp_path):
    def huge(_request):  # streamed without a Content-Length: only counting the bytes can stop it
        return Response((b"<p>" + b"x" * 1_000_000 + b"</p>" for _ in range(50)), content_type="text/html")

    site.serve_feed("/rss.xml", rss(site.base, [HAAS, ALPINE]))
    site.route(f"/news/{HAAS.slug}", huge)
    site.serve_story(ALPINE)
    with poll_context(tmp_path) as context:
        result = poll(context, site.url("/rss.xml"))
        titles = [a.title for a in corpus_articles(context)]
    assert (result.new, result.failed) == (1, 1)
    assert "is larger than 5,000,000 bytes (stopped reading there)" in result.problems[0]
    assert titles == [ALPINE.title]


def test_a_page_that_never_ends_stops_at_the_timeout(site, tmp_path):
    def endless(_request):
        def trickle():
            while True:
                yield b"<p>noch ein Absatz</p>\n"
                time.sleep(0.05)

        return Response(trickle(), content_type="text/html")

    site.route("/endless", endless)
    with poll_context(tmp_path, timeout=1.5) as context:
        started = time.monotonic()
        result = fetch_link(site.url("/endless"), context)
    assert result.error.startswith(f"{site.url('/endless')} was still sending after 1.5 s (stopped)")
    assert time.monotonic() - started < 10


def test_redirect_loops_and_long_redirect_chains_stop(site, tmp_path):
    site.route("/a", lambda _r: Response(status=302, headers={"Location": "/b"}))
    site.route("/b", lambda _r: Response(status=301, headers={"Location": site.url("/a")}))
    for n in range(7):
        site.route(f"/r{n}", lambda _r, n=n: Response(status=307, headers={"Location": f"/r{n + 1}"}))
    site.serve("/r7", rss(site.base, []), RSS_TYPE)
    site.route("/r2-ok", lambda _r: Response(status=302, headers={"Location": "/r5"}))
    with poll_context(tmp_path) as context:
        loop = poll(context, site.url("/a"))
        chain = poll(context, site.url("/r0"))
        five = poll(context, site.url("/r2-ok"))  # /r5, /r6, /r7: three redirects are fine
    assert loop.error == f"redirect loop: {site.url('/a')} redirects back to itself"
    assert chain.error == f"more than 5 redirects, stopped at {site.url('/r6')}"
    assert five.error is None


def test_private_addresses_are_refused_unless_allowed(site, tmp_path):
    url = good_feed(site)
    with poll_context(tmp_path, guard=AddressGuard(allow_private=False)) as context:
        refused = poll(context, url)
        assert site.hits == []  # not even robots.txt
    with poll_context(tmp_path, guard=AddressGuard(allow_private=True)) as context:
        allowed = poll(context, url)
    assert refused.error == (
        "refused 127.0.0.1: 127.0.0.1 is a loopback address "
        "(set PITWALL_FETCH_ALLOW_PRIVATE=true to fetch from your own network)"
    )
    assert (allowed.error, allowed.new) == (None, 1)


def test_every_redirect_hop_is_checked(site, tmp_path):
    # 127.0.0.1 stands in for a public server; its redirect to another loopback address must be refused
    port = site.server.port
    site.route("/feed", lambda _r: Response(status=302, headers={"Location": f"http://127.0.0.2:{port}/x"}))
    guard = AddressGuard(allow_private=False, treat_as_public=frozenset({"127.0.0.1"}))
    with poll_context(tmp_path, guard=guard) as context:
        to_ip = poll(context, site.url("/feed"))
    assert to_ip.error.startswith("refused 127.0.0.2: 127.0.0.2 is a loopback address")


def test_robots_txt_disallow_is_obeyed(site, tmp_path):
    site.serve("/robots.txt", "User-agent: *\nDisallow: /news/\n", "text/plain")
    site.serve_feed("/rss.xml", rss(site.base, [HAAS]))
    site.serve_story(HAAS)
    with poll_context(tmp_path) as context:
        result = poll(context, site.url("/rss.xml"))
        files = article_files(context)
    assert result.failed == 1 and "robots.txt of" in result.problems[0] and "disallows" in result.problems[0]
    assert f"/news/{HAAS.slug}" not in site.paths()
    assert files == []


def test_robots_txt_for_another_agent_does_not_stop_pitwall(site, tmp_path):
    site.serve("/robots.txt", "User-agent: OtherBot\nDisallow: /\n\nUser-agent: *\nAllow: /\n", "text/plain")
    url = good_feed(site)
    with poll_context(tmp_path) as context:
        assert poll(context, url).new == 1


def test_one_request_per_second_per_host_and_the_user_agent(site, tmp_path):
    url = good_feed(site)
    with poll_context(tmp_path, host_delay=1.0) as context:
        poll(context, url)
    assert site.paths() == ["/robots.txt", "/good.xml", f"/news/{ALPINE.slug}"]
    gaps = [later.time - earlier.time for earlier, later in zip(site.hits, site.hits[1:], strict=False)]
    assert min(gaps) >= 0.95, gaps
    assert {hit.headers.get("User-Agent") for hit in site.hits} == {USER_AGENT}


def test_429_with_a_short_retry_after_is_waited_out_once(site, tmp_path):
    answers = iter([Response(status=429, headers={"Retry-After": "1"})])
    site.serve_feed("/later.xml", rss(site.base, [ALPINE]))
    feed_route = site.routes["/later.xml"]
    site.route("/later.xml", lambda r: next(answers, None) or feed_route(r))
    site.serve_story(ALPINE)
    with poll_context(tmp_path) as context:
        result = poll(context, site.url("/later.xml"))
    feed_hits = [hit for hit in site.hits if hit.path == "/later.xml"]
    assert (result.error, result.new, len(feed_hits)) == (None, 1, 2)
    assert feed_hits[1].time - feed_hits[0].time >= 0.95


def test_503_with_a_long_retry_after_fails_the_feed_until_then(site, tmp_path):
    site.route("/busy.xml", lambda _r: Response(status=503, headers={"Retry-After": "3600"}))
    with poll_context(tmp_path, max_retry_wait=60) as context:
        first = poll(context, site.url("/busy.xml"))
        hits = len(site.hits)
        second = poll(context, site.url("/busy.xml"))
        record = context.state.feed(site.url("/busy.xml"))
    assert first.error.startswith(f"HTTP 503 from {site.url('/busy.xml')}: the server asks to wait 3600 s")
    assert second.error.startswith("not asked before") and len(site.hits) == hits  # no request at all
    assert record.retry_at is not None and record.failures_in_row == 1


def test_a_feed_that_keeps_failing_is_marked_failing_and_kept(site, tmp_path):
    site.route("/gone.xml", lambda _r: Response("nope", status=404))
    with poll_context(tmp_path) as context:
        for _ in range(3):
            poll(context, site.url("/gone.xml"))
        (record,) = context.state.feeds()
        site.serve_feed("/gone.xml", rss(site.base, []))
        poll(context, site.url("/gone.xml"))
        (recovered,) = context.state.feeds()
    assert (record.failing, record.failures_in_row, record.last_error) == (
        True,
        3,
        f"HTTP 404 from {site.url('/gone.xml')}",
    )
    assert (recovered.failing, recovered.failures_in_row, recovered.last_error) == (False, 0, None)
    assert recovered.last_success is not None
