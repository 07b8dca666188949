"""End to end: feeds in `pitwall bot`. The bot's own client, the real answer and feed services and the
bundled model against the local Discord, and a local news site on 127.0.0.1 with an RSS feed and article
pages. The scheduled refresh runs every REFRESH seconds."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from werkzeug import Response

from bot.feeds import FeedService
from bot.service import AnswerService, make_embedder
from bot.settings import Settings
from index.embed.embedding import SpanEmbedder
from index.store.generations import build_lock
from tests.discord_harness import Sent
from tests.discord_harness.session import BotSession
from tests.feed_site import HAAS, Site, Story, article_page, rss, started_site

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

ROOT = Path(__file__).resolve().parent.parent
FEED = "/feed.xml"
REFRESH = 1.0  # seconds between refreshes (PITWALL_FEED_REFRESH_MINUTES in production)
ALPINE = "Is Alpine entering IMSA?"
HAAS_QUESTION = "Wo eröffnet Haas ein zweites Werk?"
HAAS_QUOTE = "dass der Rennstall im kommenden Frühjahr ein zweites Werk in Banbury eröffnen wird"
SCHLEIZ = Story(
    "schleiz-asphalt",
    "Schleiz bekommt neuen Asphalt",
    (
        "Das Schleizer Dreieck erhält für das DTM-Wochenende im August eine neue Asphaltdecke.",
        "Die Sanierung der drei Kilometer langen Strecke kostet 2,5 Millionen Euro und wird vom Land "
        "Thüringen zur Hälfte bezahlt, erklärte der Vereinsvorsitzende am Montag.",
        "Die Arbeiten beginnen nach dem letzten Motorradrennen im Oktober und enden im Frühjahr, damit die "
        "Fahrer vor dem ersten Lauf noch testen können.",
        "Die Strecke durch die Stadt gilt als eine der ältesten Naturrennstrecken Deutschlands; seit 1923 "
        "wird dort gefahren, und zu den großen Wochenenden kommen mehr als 50.000 Zuschauer.",
    ),
    "Neuer Belag in Schleiz.",
)
HOCKENHEIM = Story(
    "hockenheim-dtm",
    "Hockenheim verlängert mit der DTM",
    (
        "Der Hockenheimring hat den Vertrag mit der DTM bis 2030 verlängert, wie die Rennstrecke am "
        "Mittwoch bekannt gab.",
        "Damit bleibt das Saisonfinale in Baden-Württemberg, wo die Serie seit ihrer Gründung jedes Jahr zu "
        "Gast war. Der Vertrag umfasst auch das Frühjahrsrennen im April.",
        "Geschäftsführer Jorn Teske sprach von einem wichtigen Signal für die Region und die vielen "
        "Zuschauer, die jedes Jahr zu den Rennen kommen; im vergangenen Jahr waren es mehr als 100.000.",
    ),
    "DTM bleibt.",
)
PAYWALL = Story("abo-teaser", "Nur für Abonnenten", ("Lesen Sie weiter mit Rennsport Plus.",), "Abo.")


class GatedEmbedder:
    """The bot's embedder; while `gate` is an event, embedding passages (a build) waits until it is set."""

    def __init__(self, inner: SpanEmbedder) -> None:
        self.inner = inner
        self.gate: threading.Event | None = None
        self.building = threading.Event()  # set when a build reached the gate

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def _wait(self) -> None:
        if self.gate is not None:
            self.building.set()
            self.gate.wait(60)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        self._wait()
        return self.inner.embed_passages(texts)

    def embed_passages_and_spans(
        self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]]
    ) -> tuple[np.ndarray, np.ndarray]:
        self._wait()
        return self.inner.embed_passages_and_spans(texts, spans)


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BotSession]:
    base = tmp_path_factory.mktemp("discord-feeds")
    corpus = base / "corpus"
    shutil.copytree(ROOT / "corpus", corpus)
    settings = Settings(
        corpus_dir=corpus,
        index_dir=base / "index",
        feeds_db=base / "feeds.sqlite3",
        fetch_allow_private=True,  # the news site is on 127.0.0.1
        fetch_host_delay_seconds=0.0,
    )
    bundled = make_embedder(settings)  # the bundled model, as `pitwall bot` runs it
    assert isinstance(bundled, SpanEmbedder)
    embedder = GatedEmbedder(bundled)
    answers = AnswerService(settings, lambda _: embedder)
    answers.reindex()  # `pitwall bot` brings the index up to date before it connects
    sites = started_site()
    site = next(sites)
    site.serve_feed(FEED, rss(site.base, []))
    session = BotSession(answers, base)
    session.embedder = embedder  # type: ignore[attr-defined]
    session.stories = []  # type: ignore[attr-defined]  # what the feed lists
    session.site = site  # type: ignore[attr-defined]
    session.settings_ = settings  # type: ignore[attr-defined]
    session.feeds = FeedService(settings, answers)  # type: ignore[attr-defined]
    d = session.discord
    session.alice = d.add_member("alice")  # type: ignore[attr-defined]
    session.boss = d.add_member("boss", roles=[d.manager_role])  # type: ignore[attr-defined]
    # alice asks more than the default 6 questions a minute here
    session.start(
        bot_options={"feeds": session.feeds, "feed_refresh_seconds": REFRESH},  # type: ignore[attr-defined]
        rate_limit_per_minute=30,
    )
    yield session
    try:
        assert session.stop() == 0
        assert not session.log.take_errors()
    finally:
        sites.close()


def final(env: BotSession, member: dict, command: str, /, timeout: float = 60, **options: object) -> Sent:
    d = env.discord
    return env.run(d.wait_final(env.run(d.slash(member, command, **options)), timeout=timeout), timeout + 10)


def site_of(env: BotSession) -> Site:
    return env.site  # type: ignore[attr-defined,no-any-return]


def feed_url(env: BotSession) -> str:
    return site_of(env).url(FEED)


def publish(env: BotSession, story: Story, *, in_feed: bool = True) -> str:
    """The story's page on the site (and, `in_feed`, a new version of the feed listing it); its URL."""
    site = site_of(env)
    site.serve_story(story)
    if in_feed:
        env.stories.append(story)  # type: ignore[attr-defined]
        version = f'"v{len(env.stories)}"'  # type: ignore[attr-defined]
        site.serve_feed(
            FEED, rss(site.base, env.stories), etag=version, modified=1727775000 + len(env.stories)
        )  # type: ignore[attr-defined]
    return site.url(f"/news/{story.slug}")


def hold(env: BotSession, story: Story) -> threading.Event:
    """Requests for the story's page wait until the returned event is set."""
    released = threading.Event()
    page = article_page(story)

    def slow(_request: object) -> Response:
        released.wait(60)
        return Response(page, headers={"Content-Type": "text/html; charset=utf-8"})

    site_of(env).route(f"/news/{story.slug}", slow)
    return released


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"no {what} in {timeout} s"
        time.sleep(0.02)


def rounds(env: BotSession) -> int:
    return env.bot.refresh.rounds  # type: ignore[union-attr]


def wait_for_rounds(env: BotSession, count: int) -> None:
    wait_until(lambda: rounds(env) >= count, f"{count} refresh rounds")


def test_feed_commands_are_synced_and_refused_privately_to_a_member(env: BotSession) -> None:
    assert env.synced()
    names = {c["name"] for c in env.discord.commands}
    assert names == {"ask", "search", "source", "reindex", "status", "feeds", "add"}
    feeds = next(c for c in env.discord.commands if c["name"] == "feeds")
    assert [o["name"] for o in feeds["options"]] == ["add", "list", "remove"]
    for command, options in [
        ("feeds add", {"url": feed_url(env)}),
        ("feeds list", {}),
        ("feeds remove", {"url": feed_url(env)}),
        ("add", {"url": site_of(env).url("/news/x")}),
    ]:
        refused = final(env, env.alice, command, **options)  # type: ignore[attr-defined]
        assert refused.ephemeral, command
        assert "Only members with the Manage Server permission" in refused.content, command
    assert env.feeds.list() == []  # type: ignore[attr-defined]
    assert site_of(env).paths() == []


def test_an_admin_adds_a_feed_and_the_scheduled_refresh_brings_its_article_in_while_questions_are_answered(
    env: BotSession,
) -> None:
    article_url = publish(env, HAAS)
    before = final(env, env.alice, "ask", question=HAAS_QUESTION)  # type: ignore[attr-defined]
    assert HAAS_QUOTE not in before.text()
    page = hold(env, HAAS)  # the refresh will wait for the page until released
    embedder: GatedEmbedder = env.embedder  # type: ignore[attr-defined]
    embedder.gate = threading.Event()  # and its build for the embedder

    added = final(env, env.boss, "feeds add", url=feed_url(env), name="Rennsport")  # type: ignore[attr-defined]
    assert not added.ephemeral
    assert "Following [Rennsport](" in added.content and "next refresh" in added.content
    wait_until(lambda: f"/news/{HAAS.slug}" in site_of(env).paths(), "request for the article page")
    assert env.bot.refresh.state().kind == "running"  # type: ignore[union-attr]  # a round is mid-fetch
    during = final(env, env.alice, "ask", question=ALPINE)  # type: ignore[attr-defined]
    assert "IMSA" in during.text()  # answered from the live index while the refresh runs
    status = final(env, env.alice, "status")  # type: ignore[attr-defined]
    assert "**Next refresh:** running now" in status.embeds[0]["description"]
    done = rounds(env)
    page.set()
    wait_until(embedder.building.is_set, "build of the fetched article")
    assert "IMSA" in final(env, env.alice, "ask", question=ALPINE).text()  # type: ignore[attr-defined]
    not_yet = final(env, env.alice, "ask", question=HAAS_QUESTION)  # type: ignore[attr-defined]
    assert HAAS_QUOTE not in not_yet.text()  # the old index answers until the new one is published
    embedder.gate.set()
    embedder.gate = None
    wait_for_rounds(env, done + 1)  # the round that fetched the page has written and indexed it

    written = list((env.settings_.corpus_dir / "feeds").rglob("*.md"))  # type: ignore[attr-defined]
    assert len(written) == 1
    answer = final(env, env.alice, "ask", question=HAAS_QUESTION)  # type: ignore[attr-defined]
    assert HAAS_QUOTE in answer.text().replace("\\", "")
    assert article_url in answer.embeds[0]["fields"][0]["value"]  # the article's URL is the citation link
    [feed] = env.feeds.list()  # type: ignore[attr-defined]
    assert feed.articles == 1 and feed.last_success is not None and not feed.failing


def test_status_shows_each_feed_and_when_the_next_refresh_runs(env: BotSession) -> None:
    embed = final(env, env.alice, "status").embeds[0]  # type: ignore[attr-defined]
    assert "**Feeds:** 1 followed" in embed["description"]
    assert "**Next refresh:** <t:" in embed["description"] or "running now" in embed["description"]
    [field] = [f for f in embed["fields"] if f["name"] == "Rennsport"]
    assert "1 articles" in field["value"] and "last success <t:" in field["value"]


def test_feeds_list_is_private_and_remove_suggests_the_subscribed_feeds(env: BotSession) -> None:
    d = env.discord
    listing = final(env, env.boss, "feeds list")  # type: ignore[attr-defined]
    assert listing.ephemeral and listing.embeds[0]["title"] == "Feeds: 1 followed"
    assert feed_url(env) in listing.embeds[0]["description"]
    ix = env.run(d.autocomplete(env.boss, "feeds remove", "url", "rennsp"))  # type: ignore[attr-defined]
    choices = env.run(d.wait_final(ix)).body["data"]["choices"]
    assert choices == [{"name": f"Rennsport · {feed_url(env)}", "value": feed_url(env)}]
    ix = env.run(d.autocomplete(env.alice, "feeds remove", "url", ""))  # type: ignore[attr-defined]
    assert env.run(d.wait_final(ix)).body["data"]["choices"] == []  # members see no feed list


def test_add_and_reindex_name_a_running_build_privately_and_a_skipped_refresh_is_logged(
    env: BotSession,
) -> None:
    d = env.discord
    url = publish(env, SCHLEIZ)
    with build_lock(env.settings_.index_dir):  # type: ignore[attr-defined]  # another build is running
        done = rounds(env)
        busy = final(env, env.boss, "add", url=url)  # type: ignore[attr-defined]
        wait_for_rounds(env, done + 1)
        ix = env.run(d.slash(env.boss, "reindex"))  # type: ignore[attr-defined]
        reindex = env.run(d.wait_for(lambda s: s.token == ix.token and "Re-index failed" in s.content))
    assert "Re-index failed: another build of" in reindex.content  # /reindex names the running build too
    assert busy.ephemeral
    assert "another build of" in busy.content and "goes into the index with the next build" in busy.content
    assert "feeds: refresh skipped, the index is being built: another build of" in env.log.text()
    done = rounds(env)
    wait_for_rounds(env, done + 1)  # the next round builds what the skipped ones could not
    answer = final(env, env.alice, "ask", question="Wie viel kostet die Sanierung in Schleiz?")  # type: ignore[attr-defined]
    assert "2,5 Millionen Euro" in answer.text()


def test_add_brings_one_article_in_or_says_privately_why_not(env: BotSession) -> None:
    teaser = publish(env, PAYWALL, in_feed=False)
    refused = final(env, env.boss, "add", url=teaser)  # type: ignore[attr-defined]
    assert refused.ephemeral and refused.content.startswith(f"Could not add {teaser}: the page gave")
    url = publish(env, HOCKENHEIM, in_feed=False)
    added = final(env, env.boss, "add", url=url)  # type: ignore[attr-defined]
    assert not added.ephemeral
    assert added.content.startswith(f"Added [{url}]({url}) (`") and "Index: 1 added" in added.content
    answer = final(env, env.alice, "ask", question="Bis wann fährt die DTM in Hockenheim?")  # type: ignore[attr-defined]
    assert "bis 2030" in answer.text()


def test_remove_stops_following(env: BotSession) -> None:
    removed = final(env, env.boss, "feeds remove", url=feed_url(env))  # type: ignore[attr-defined]
    assert not removed.ephemeral and "No longer following" in removed.content
    assert env.feeds.list() == []  # type: ignore[attr-defined]
    again = final(env, env.boss, "feeds remove", url=feed_url(env))  # type: ignore[attr-defined]
    assert again.ephemeral and "Pitwall follows no feed" in again.content
