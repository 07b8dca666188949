"""The feed replies are pure: every one fits Discord's limits and shows feed names, errors and URLs safely."""

from __future__ import annotations

import datetime as dt
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.discord_bot.discord_text import Reply
from bot.discord_bot.feed_panels import (
    RefreshState,
    article_added_reply,
    article_problem,
    feed_added_reply,
    feed_list_reply,
    feed_removed_reply,
    refresh_line,
    with_feeds,
)
from bot.discord_bot.panels import status_reply
from bot.feeds import FeedStatus, FetchReport
from bot.service import ServiceStatus
from index.build import IndexReport
from index.ingest.feeds.polling import FeedResult
from tests.test_discord_formatting import assert_within_limits, long_text, nasty, urls

moments = st.one_of(st.none(), st.datetimes(timezones=st.just(dt.UTC)))
statuses = st.builds(
    FeedStatus,
    url=urls,
    name=long_text,
    added=st.datetimes(timezones=st.just(dt.UTC)),
    last_success=moments,
    last_error=st.one_of(st.none(), long_text),
    failures_in_row=st.integers(0, 10**6),
    articles=st.integers(0, 10**6),
    failing=st.booleans(),
)
states = st.builds(
    RefreshState,
    kind=st.sampled_from(["scheduled", "running", "off", "elsewhere"]),
    at=moments,
    every_minutes=st.sampled_from([1 / 60, 0.5, 1, 30, 1440]),
)
results = st.builds(
    FeedResult,
    url=urls,
    name=nasty,
    new=st.integers(0, 1),
    updated=st.integers(0, 1),
    unchanged=st.integers(0, 1),
    failed=st.integers(0, 1),
    error=st.one_of(st.none(), long_text),
    problems=st.lists(long_text, max_size=3).map(tuple),
)
STATUS = ServiceStatus(3, 15, "bundled:all-MiniLM-L6-v2", "2025-01-02T03:04:00+00:00", None)
PROPERTY = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)


def assert_safe(reply: Reply) -> None:
    assert_within_limits(reply.content, reply.embed)
    everything = reply.content + str(reply.embed)
    assert "@everyone" not in everything and "@here" not in everything
    assert re.search(r"<@\d", everything) is None


@PROPERTY
@given(st.lists(statuses, max_size=60), states)
def test_feed_lists_and_status_fit_discords_limits(feeds: list[FeedStatus], state: RefreshState) -> None:
    assert_safe(feed_list_reply(feeds, state))
    assert_safe(with_feeds(status_reply(STATUS), feeds, state))


@PROPERTY
@given(statuses, states, urls)
def test_added_and_removed_feeds_fit_discords_limits(feed: FeedStatus, state: RefreshState, url: str) -> None:
    assert_safe(feed_added_reply(feed, state))
    assert_safe(feed_removed_reply(url))


@PROPERTY
@given(results, st.lists(long_text, max_size=3))
def test_added_articles_fit_discords_limits(result: FeedResult, written: list[str]) -> None:
    report = FetchReport([result], written, IndexReport(2, 9, 1, 0, 0, 4, (), 0.3))
    if article_problem(report) is None:
        assert_safe(article_added_reply(report))


def feed(**changes: object) -> FeedStatus:
    values: dict = {
        "url": "https://example.com/rss.xml",
        "name": "Motorsport *News*",
        "added": dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        "last_success": dt.datetime(2026, 1, 2, 3, 4, tzinfo=dt.UTC),
        "last_error": None,
        "failures_in_row": 0,
        "articles": 12,
        "failing": False,
    }
    return FeedStatus(**(values | changes))


def test_status_lists_failing_feeds_first_with_their_error_and_the_next_refresh() -> None:
    ok = feed()
    broken = feed(
        url="https://example.org/atom", name="Broken", last_error="HTTP 503", failures_in_row=4, failing=True
    )
    next_run = dt.datetime(2026, 1, 2, 4, 0, tzinfo=dt.UTC)
    reply = with_feeds(status_reply(STATUS), [ok, broken], RefreshState("scheduled", next_run, 30))
    assert reply.embed is not None
    description = reply.embed["description"]
    assert description.startswith("**Articles:** 3")
    assert "**Feeds:** 2 followed, 1 ⚠️ failing" in description
    assert f"**Next refresh:** <t:{int(next_run.timestamp())}:R> (every 30 min)" in description
    first, second = reply.embed["fields"]
    assert first["name"] == "⚠️ Broken"
    assert "**⚠️ failing** (4 in a row)" in first["value"] and "last error: HTTP 503" in first["value"]
    assert second["name"] == "Motorsport \\*News\\*"
    assert second["value"] == "last success <t:1767323040:R> · 12 articles"


def test_status_shows_at_most_ten_feeds_and_points_to_the_list() -> None:
    reply = with_feeds(
        status_reply(STATUS), [feed(url=f"https://e.com/{i}") for i in range(13)], RefreshState("off")
    )
    assert reply.embed is not None
    assert len(reply.embed["fields"]) == 11
    assert reply.embed["fields"][-1]["value"] == "…and 3 more: /feeds list"


def test_refresh_lines() -> None:
    at = dt.datetime(2026, 1, 2, 4, 0, tzinfo=dt.UTC)
    assert refresh_line(RefreshState("off")).startswith("off (PITWALL_FEED_REFRESH_MINUTES=0")
    assert (
        refresh_line(RefreshState("elsewhere", None, 30))
        == "done by the bot process that runs shard 0 (every 30 min)"
    )
    assert (
        refresh_line(RefreshState("running", at, 0.5))
        == f"running now (started <t:{int(at.timestamp())}:R>; every 30 s)"
    )


def test_a_long_feed_list_is_cut_with_a_count_of_the_rest() -> None:
    feeds = [feed(url=f"https://example.com/{i}/" + "x" * 150, name=f"Feed {i}") for i in range(60)]
    reply = feed_list_reply(feeds, RefreshState("scheduled", None, 30))
    assert reply.embed is not None
    description = reply.embed["description"]
    assert re.search(r"…and \d+ more\n\n\*\*Next refresh:\*\* soon \(every 30 min\)$", description)
    assert reply.embed["title"] == "Feeds: 60 followed"


def test_an_added_article_names_its_file_and_the_index_update() -> None:
    result = FeedResult(
        "https://example.com/a.html", "", new=1, written=("feeds/example.com/2026-01-02-a.md",)
    )
    report = FetchReport([result], list(result.written), IndexReport(2, 9, 1, 0, 0, 4, (), 0.3))
    assert article_problem(report) is None
    assert article_added_reply(report).content == (
        "Added [https://example.com/a.html](https://example.com/a.html) (`2026-01-02-a.md`). "
        "Index: 1 added, 0 changed, 0 removed, 0 rejected; 2 articles, 9 chunks in 0.3 s."
    )
    failed = FetchReport([FeedResult("https://example.com/b", "", error="HTTP 404")])
    assert article_problem(failed) == "HTTP 404"
