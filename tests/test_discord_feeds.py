"""End to end: feeds in `pitwall bot`. The bot's own client, the real answer and feed services (the fake
embedder: the feature is the flow, not the ranking) against the local Discord, and a local news site on
127.0.0.1 with an RSS feed and article pages. The scheduled refresh runs every REFRESH seconds."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.feeds import FeedService
from bot.service import AnswerService
from bot.settings import Settings
from index.store.generations import build_lock
from tests.discord_harness import Sent
from tests.discord_harness.news_site import NewsSite
from tests.discord_harness.session import BotSession
from tests.fakes import FakeEmbedder

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parent.parent
REFRESH = 1.0  # seconds between refreshes (PITWALL_FEED_REFRESH_MINUTES in production)
ALPINE = "Is Alpine entering IMSA?"
RING_QUESTION = "Wie viel kostet das neue Boxengebäude am Nürburgring?"
RING_QUOTE = "Das neue Boxengebäude kostet 48 Millionen Euro"
RING = [
    "Der Nürburgring bekommt zur Saison 2027 ein neues Boxengebäude mit 40 Garagen.",
    f"{RING_QUOTE}, wie die Betreibergesellschaft am Dienstag in Nürburg mitteilte.",
    "Die Bauarbeiten beginnen im Januar und sollen vor dem 24-Stunden-Rennen im Mai abgeschlossen sein.",
    "Geschäftsführer Mirco Markfort sprach von der größten Investition an der Strecke seit dem Bau der "
    "Grand-Prix-Strecke im Jahr 1984. Die alten Boxen aus den Achtzigerjahren werden abgerissen.",
    "Für die Zuschauer entsteht über den Garagen eine neue Tribüne mit 3.000 Sitzplätzen und einem "
    "Restaurant, von dem aus die gesamte Start-und-Ziel-Gerade zu sehen ist.",
]
SCHLEIZ = [
    "Der Schleizer Dreieck erhält für das DTM-Wochenende im August eine neue Asphaltdecke.",
    "Die Sanierung der drei Kilometer langen Strecke kostet 2,5 Millionen Euro und wird vom Land Thüringen "
    "zur Hälfte bezahlt, erklärte der Vereinsvorsitzende am Montag.",
    "Die Arbeiten beginnen nach dem letzten Motorradrennen im Oktober und enden im Frühjahr, damit die "
    "Fahrer vor dem ersten Lauf noch testen können.",
    "Die Strecke durch die Stadt gilt als eine der ältesten Naturrennstrecken Deutschlands; seit 1923 wird "
    "dort gefahren, und bis heute kommen zu den großen Wochenenden mehr als 50.000 Zuschauer an die Strecke.",
    "Der Verein hofft, mit dem neuen Belag auch die Motorrad-Weltmeisterschaft der Seitenwagen wieder nach "
    "Thüringen zu holen, die zuletzt vor sechs Jahren in Schleiz zu Gast war.",
]

HOCKENHEIM = [
    "Der Hockenheimring hat den Vertrag mit der DTM bis 2030 verlängert, wie die Rennstrecke am Mittwoch "
    "bekannt gab.",
    "Damit bleibt das Saisonfinale in Baden-Württemberg, wo die Serie seit ihrer Gründung jedes Jahr zu Gast "
    "war. Der Vertrag umfasst auch das Frühjahrsrennen im April.",
    "Geschäftsführer Jorn Teske sprach von einem wichtigen Signal für die Region und die vielen Zuschauer, "
    "die jedes Jahr zu den Rennen kommen. Im vergangenen Jahr waren es an beiden Wochenenden zusammen mehr "
    "als 100.000.",
    "Die Strecke investiert zudem in eine neue Beleuchtung, damit künftig auch Rennen in der Dämmerung "
    "möglich sind; die Arbeiten sollen im Winter beginnen.",
]


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
    answers = AnswerService(settings, lambda _: FakeEmbedder())
    answers.reindex()  # `pitwall bot` brings the index up to date before it connects
    site = NewsSite()
    session = BotSession(answers, base)
    session.site = site  # type: ignore[attr-defined]
    session.settings_ = settings  # type: ignore[attr-defined]
    session.feeds = FeedService(settings, answers)  # type: ignore[attr-defined]
    d = session.discord
    session.alice = d.add_member("alice")  # type: ignore[attr-defined]
    session.boss = d.add_member("boss", roles=[d.manager_role])  # type: ignore[attr-defined]
    session.start(bot_options={"feeds": session.feeds, "feed_refresh_seconds": REFRESH})  # type: ignore[attr-defined]
    yield session
    try:
        assert session.stop() == 0
        assert not session.log.take_errors()
    finally:
        site.close()


def final(env: BotSession, member: dict, command: str, /, timeout: float = 60, **options: object) -> Sent:
    d = env.discord
    return env.run(d.wait_final(env.run(d.slash(member, command, **options)), timeout=timeout), timeout + 10)


def rounds(env: BotSession) -> int:
    return env.bot.refresh.rounds  # type: ignore[union-attr]


def wait_for_rounds(env: BotSession, count: int, timeout: float = 60) -> None:
    deadline = dt.datetime.now() + dt.timedelta(seconds=timeout)
    while rounds(env) < count:
        assert dt.datetime.now() < deadline, f"only {rounds(env)} refresh rounds in {timeout} s"
        env.run(_sleep(0.05))


async def _sleep(seconds: float) -> None:
    import asyncio

    await asyncio.sleep(seconds)


def test_feed_commands_are_synced_and_refused_privately_to_a_member(env: BotSession) -> None:
    assert env.synced()
    assert {c["name"] for c in env.discord.commands} == {
        "ask",
        "search",
        "source",
        "reindex",
        "status",
        "feeds",
        "add",
    }
    feeds = next(c for c in env.discord.commands if c["name"] == "feeds")
    assert [o["name"] for o in feeds["options"]] == ["add", "list", "remove"]
    for command, options in [
        ("feeds add", {"url": env.site.feed_url}),  # type: ignore[attr-defined]
        ("feeds list", {}),
        ("feeds remove", {"url": env.site.feed_url}),  # type: ignore[attr-defined]
        ("add", {"url": env.site.base + "/artikel/x.html"}),  # type: ignore[attr-defined]
    ]:
        refused = final(env, env.alice, command, **options)  # type: ignore[attr-defined]
        assert refused.ephemeral, command
        assert "Only members with the Manage Server permission" in refused.content, command
    assert env.feeds.list() == []  # type: ignore[attr-defined]
    assert env.site.seen == []  # type: ignore[attr-defined]


def test_an_admin_adds_a_feed_and_the_scheduled_refresh_brings_its_article_in_while_questions_are_answered(
    env: BotSession,
) -> None:
    site: NewsSite = env.site  # type: ignore[attr-defined]
    article_url = site.publish(
        "/artikel/boxen.html",
        "Nürburgring baut neues Boxengebäude",
        RING,
        day=dt.date(2026, 11, 17),
        teaser="Der Ring investiert.",
    )
    before = final(env, env.alice, "ask", question=RING_QUESTION)  # type: ignore[attr-defined]
    assert RING_QUOTE not in before.text()
    page = site.hold("/artikel/boxen.html")  # the refresh will wait for the page until released

    added = final(env, env.boss, "feeds add", url=site.feed_url, name="Rennsport Lokal")  # type: ignore[attr-defined]
    assert not added.ephemeral
    assert "Following [Rennsport Lokal](" in added.content and "next refresh" in added.content
    site.wait_for_request("/artikel/boxen.html")  # a scheduled round is fetching the new entry now
    assert env.bot.refresh.state().kind == "running"  # type: ignore[union-attr]
    during = final(env, env.alice, "ask", question=ALPINE)  # type: ignore[attr-defined]
    assert "IMSA" in during.text()  # answered from the live index while the refresh runs
    status = final(env, env.alice, "status")  # type: ignore[attr-defined]
    assert "**Next refresh:** running now" in status.embeds[0]["description"]
    done = rounds(env)
    page.set()
    wait_for_rounds(env, done + 1)  # the round that fetched the page has written and indexed it

    written = list((env.settings_.corpus_dir / "feeds").rglob("*.md"))  # type: ignore[attr-defined]
    assert len(written) == 1
    answer = final(env, env.alice, "ask", question=RING_QUESTION)  # type: ignore[attr-defined]
    assert RING_QUOTE in answer.text().replace("\\", "")
    assert article_url in answer.embeds[0]["fields"][0]["value"]  # the article's URL is the citation link
    [feed] = env.feeds.list()  # type: ignore[attr-defined]
    assert feed.articles == 1 and feed.last_success is not None and not feed.failing


def test_status_shows_each_feed_and_when_the_next_refresh_runs(env: BotSession) -> None:
    embed = final(env, env.alice, "status").embeds[0]  # type: ignore[attr-defined]
    assert "**Feeds:** 1 followed" in embed["description"]
    assert "**Next refresh:** <t:" in embed["description"] or "running now" in embed["description"]
    [field] = [f for f in embed["fields"] if f["name"] == "Rennsport Lokal"]
    assert "1 articles" in field["value"] and "last success <t:" in field["value"]


def test_feeds_list_is_private_and_remove_suggests_the_subscribed_feeds(env: BotSession) -> None:
    d = env.discord
    site: NewsSite = env.site  # type: ignore[attr-defined]
    listing = final(env, env.boss, "feeds list")  # type: ignore[attr-defined]
    assert listing.ephemeral and listing.embeds[0]["title"] == "Feeds: 1 followed"
    assert site.feed_url in listing.embeds[0]["description"]
    ix = env.run(d.autocomplete(env.boss, "feeds remove", "url", "lokal"))  # type: ignore[attr-defined]
    choices = env.run(d.wait_final(ix)).body["data"]["choices"]
    assert choices == [{"name": f"Rennsport Lokal · {site.feed_url}", "value": site.feed_url}]
    ix = env.run(d.autocomplete(env.alice, "feeds remove", "url", ""))  # type: ignore[attr-defined]
    assert env.run(d.wait_final(ix)).body["data"]["choices"] == []  # members see no feed list


def test_add_reports_a_running_build_privately_and_a_skipped_refresh_is_logged(env: BotSession) -> None:
    d = env.discord
    site: NewsSite = env.site  # type: ignore[attr-defined]
    url = site.publish(
        "/artikel/schleiz.html",
        "Schleiz bekommt neuen Asphalt",
        SCHLEIZ,
        day=dt.date(2026, 11, 18),
        teaser="Neuer Belag.",
    )
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
    site: NewsSite = env.site  # type: ignore[attr-defined]
    teaser = site.publish(
        "/abo/teaser.html",
        "Nur für Abonnenten",
        ["Lesen Sie weiter mit Rennsport Plus."],
        day=dt.date(2026, 11, 19),
        teaser="Abo.",
    )
    refused = final(env, env.boss, "add", url=teaser)  # type: ignore[attr-defined]
    assert refused.ephemeral and refused.content.startswith(f"Could not add {teaser}: the page gave")
    url = site.publish(
        "/artikel/hockenheim.html",
        "Hockenheim verlängert mit der DTM",
        HOCKENHEIM,
        day=dt.date(2026, 11, 19),
        teaser="DTM.",
    )
    added = final(env, env.boss, "add", url=url)  # type: ignore[attr-defined]
    assert not added.ephemeral
    assert (
        added.content.startswith(f"Added [{url}]({url}) (`2026-11-19-hockenheim")
        and "Index: 1 added" in added.content
    )
    answer = final(env, env.alice, "ask", question="Bis wann fährt die DTM in Hockenheim?")  # type: ignore[attr-defined]
    assert "bis 2030" in answer.text()


def test_remove_stops_following(env: BotSession) -> None:
    site: NewsSite = env.site  # type: ignore[attr-defined]
    removed = final(env, env.boss, "feeds remove", url=site.feed_url)  # type: ignore[attr-defined]
    assert not removed.ephemeral and "No longer following" in removed.content
    assert env.feeds.list() == []  # type: ignore[attr-defined]
    again = final(env, env.boss, "feeds remove", url=site.feed_url)  # type: ignore[attr-defined]
    assert again.ephemeral and "Pitwall follows no feed" in again.content
