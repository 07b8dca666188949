"""Feeds into the corpus folder (index/ingest/feeds/polling.py) against a news site on 127.0.0.1."""

from __future__ import annotations

import datetime as dt

import pytest

from index.ingest.feeds.articles import article_id, normalize_url
from index.ingest.feeds.polling import fetch_link
from tests.feed_site import (
    ALPINE,
    COMMENT,
    COOKIE_BANNER,
    HAAS,
    NAVIGATION,
    RELATED_TEASER,
    Story,
    article_page,
    atom,
    rss,
    started_site,
)
from tests.index.feed_helpers import article_files, corpus_articles, poll, poll_context


@pytest.fixture
def site():
    yield from started_site()


def test_rss_entries_become_articles_with_the_body_and_nothing_around_it(site, tmp_path):
    site.serve_feed("/rss.xml", rss(site.base, [HAAS, ALPINE]))
    site.serve_story(HAAS)
    site.serve_story(ALPINE)
    with poll_context(tmp_path) as context:
        result = poll(context, site.url("/rss.xml"))
        articles = {a.title: a for a in corpus_articles(context)}
    assert (result.new, result.updated, result.unchanged, result.failed, result.error) == (2, 0, 0, 0, None)
    haas = articles[HAAS.title]
    for paragraph in HAAS.paragraphs:
        assert paragraph in haas.text
    for furniture in (
        NAVIGATION.split()[3],
        COOKIE_BANNER,
        RELATED_TEASER,
        COMMENT,
        HAAS.teaser,
        "Impressum",
    ):
        assert furniture not in haas.text
    assert haas.url == site.url(f"/news/{HAAS.slug}")  # tracking parameters dropped
    assert haas.id == article_id(site.url(f"/news/{HAAS.slug}?utm_source=x"))
    assert (haas.source, haas.language, haas.published) == ("Rennsport", "de", dt.date(2024, 10, 1))
    assert sorted(result.written) == [
        "feeds/127.0.0.1/2024-10-01-haas-eroeffnet-zweites-werk-in-banbury.md",
        "feeds/127.0.0.1/2024-10-02-alpine-bestaetigt-einstieg-in-die-imsa-serie.md",
    ]


def test_atom_entries_with_relative_links_are_read(site, tmp_path):
    site.serve_feed("/atom.xml", atom(site.base, [ALPINE]))
    site.serve_story(ALPINE)
    with poll_context(tmp_path) as context:
        result = poll(context, site.url("/atom.xml"))
        (article,) = corpus_articles(context)
    assert (result.new, result.failed) == (1, 0)
    assert article.url == site.url(f"/news/{ALPINE.slug}")
    assert ALPINE.paragraphs[1] in article.text


def test_a_second_fetch_asks_conditionally_gets_304_and_writes_nothing(site, tmp_path):
    site.serve_feed("/rss.xml", rss(site.base, [HAAS]), etag='"abc"')
    site.serve_story(HAAS)
    with poll_context(tmp_path) as context:
        poll(context, site.url("/rss.xml"))
        before = {path: path.stat().st_mtime_ns for path in article_files(context)}
        site.hits.clear()
        again = poll(context, site.url("/rss.xml"))
        after = {path: path.stat().st_mtime_ns for path in article_files(context)}
    feed_hits = [hit for hit in site.hits if hit.path == "/rss.xml"]
    assert feed_hits[0].headers.get("If-None-Match") == '"abc"'
    assert feed_hits[0].headers.get("If-Modified-Since")
    assert [hit.path for hit in site.hits] == ["/rss.xml"]  # robots.txt read once a round, no page
    assert (again.new, again.updated, again.unchanged, again.written) == (0, 0, 0, ())
    assert before == after


def test_a_changed_article_updates_its_file_and_is_not_duplicated(site, tmp_path):
    site.serve_feed("/rss.xml", rss(site.base, [HAAS]), etag='"1"')
    site.serve_story(HAAS)
    with poll_context(tmp_path) as context:
        first = poll(context, site.url("/rss.xml"))
        changed = Story(
            HAAS.slug,
            HAAS.title + " (aktualisiert)",
            (
                *HAAS.paragraphs,
                "Update: Der Bau beginnt im März, bestätigte das Team am Mittwochabend in einer Mitteilung.",
            ),
            HAAS.teaser,
        )
        site.serve_feed("/rss.xml", rss(site.base, [changed]), etag='"2"', modified=1727800000)
        site.serve_story(changed)
        second = poll(context, site.url("/rss.xml"))
        (article,) = corpus_articles(context)
        files = article_files(context)
    assert (second.new, second.updated) == (0, 1)
    assert second.written == first.written  # the same file, rewritten
    assert len(files) == 1
    assert "Der Bau beginnt im März" in article.text
    assert article.title.endswith("(aktualisiert)")


def test_the_same_article_from_two_feeds_and_by_link_is_one_file(site, tmp_path):
    site.serve_feed("/rss.xml", rss(site.base, [HAAS]))
    site.serve_feed("/other.xml", rss(site.base, [HAAS]).replace("utm_source=rss", "utm_source=other"))
    site.serve_story(HAAS)
    with poll_context(tmp_path) as context:
        poll(context, site.url("/rss.xml"))
        other = poll(context, site.url("/other.xml"), "Andere")
        link = fetch_link(site.url(f"/news/{HAAS.slug}?fbclid=1"), context)
        files = article_files(context)
    assert (other.new, other.unchanged) == (0, 1)
    assert (link.new, link.unchanged, link.error) == (0, 1, None)
    assert len(files) == 1


def test_a_guid_seen_with_a_new_link_is_the_same_article(site, tmp_path):
    site.serve_feed("/rss.xml", rss(site.base, [HAAS]), etag='"1"')
    site.serve_story(HAAS)
    with poll_context(tmp_path) as context:
        poll(context, site.url("/rss.xml"))
        moved = rss(site.base, [HAAS]).replace(f"/news/{HAAS.slug}", "/news/haas-werk-banbury")
        site.serve_feed("/rss.xml", moved, etag='"2"', modified=1727800000)
        site.serve("/news/haas-werk-banbury", article_page(HAAS))
        second = poll(context, site.url("/rss.xml"))
        files = article_files(context)
    assert (second.new, second.updated + second.unchanged) == (0, 1)
    assert len(files) == 1


def test_a_teaser_is_never_indexed_and_the_feeds_full_content_is_used_when_the_page_is_walled(site, tmp_path):
    walled = Story("walled", "Paywall-Artikel über Porsche", ("Nur für Abonnenten.",), "Porsche plant etwas.")
    site.serve("/rss.xml", rss(site.base, [walled]), "application/rss+xml")  # no 304: read every time
    site.serve_feed("/full.xml", rss(site.base, [HAAS], full_content=True))
    site.serve_story(walled)  # a consent wall: almost no text
    # HAAS's page is missing (404): its text comes from the feed's content:encoded
    with poll_context(tmp_path) as context:
        teaser = poll(context, site.url("/rss.xml"))
        full = poll(context, site.url("/full.xml"))
        articles = corpus_articles(context)
        again = poll(context, site.url("/rss.xml"))
    assert (teaser.new, teaser.failed) == (0, 1)
    assert "characters of article text" in teaser.problems[0] and "not indexed" in teaser.problems[0]
    assert (full.new, full.failed) == (1, 0)
    assert [a.title for a in articles] == [HAAS.title]
    assert HAAS.paragraphs[2] in articles[0].text
    assert (again.failed, again.unchanged) == (0, 1)  # a skipped teaser is reported once, until it changes


def test_one_bad_entry_does_not_stop_the_others_and_is_tried_again(site, tmp_path):
    site.serve_feed("/rss.xml", rss(site.base, [HAAS, ALPINE]))
    site.serve_story(ALPINE)
    site.route(f"/news/{HAAS.slug}", lambda _r: __import__("werkzeug").Response("boom", status=500))
    with poll_context(tmp_path) as context:
        first = poll(context, site.url("/rss.xml"))
        site.serve_story(HAAS)
        second = poll(context, site.url("/rss.xml"))
        titles = sorted(a.title for a in corpus_articles(context))
    assert (first.new, first.failed) == (1, 1)
    assert "HTTP 500" in first.problems[0]
    assert (second.new, second.unchanged, second.failed) == (1, 1, 0)  # no 304: the feed was read again
    assert titles == sorted([HAAS.title, ALPINE.title])


def test_a_fetch_killed_after_writing_a_file_repeats_nothing(site, tmp_path, monkeypatch):
    site.serve_feed("/rss.xml", rss(site.base, [HAAS]))
    site.serve_story(HAAS)
    with poll_context(tmp_path) as context:

        def killed(*args, **kwargs):  # the file is on disk, the state never heard of it
            raise KeyboardInterrupt

        monkeypatch.setattr(context.state, "article_written", killed)
        with pytest.raises(KeyboardInterrupt):
            poll(context, site.url("/rss.xml"))
        monkeypatch.undo()
        result = poll(context, site.url("/rss.xml"))
        files = article_files(context)
    assert len(files) == 1
    assert result.written == (str(files[0].relative_to(context.corpus_dir)),)  # taken over, not a -2 file


def test_a_fetch_killed_while_writing_leaves_no_half_written_article(site, tmp_path):
    site.serve_feed("/rss.xml", rss(site.base, [HAAS]))
    site.serve_story(HAAS)
    with poll_context(tmp_path) as context:
        # what kill -9 in the middle of a write leaves: the temporary file, never the article's own name
        leftover = context.corpus_dir / "feeds" / "127.0.0.1" / ".pitwall-writing-4242-2024-10-01-haas.md"
        leftover.parent.mkdir(parents=True)
        leftover.write_text("---\ntitle: Haas eröff")
        assert corpus_articles(context) == ()  # the loader never reads it
        result = poll(context, site.url("/rss.xml"))
        assert (result.new, len(article_files(context))) == (1, 1)
        assert not leftover.exists()  # the next round clears it away


def test_articles_with_the_same_day_and_title_get_their_own_files(site, tmp_path):
    twin = Story(
        "haas-werk-2", HAAS.title, tuple(p.replace("Banbury", "Oxford") for p in HAAS.paragraphs), "t"
    )
    site.serve_feed("/rss.xml", rss(site.base, [HAAS, twin]))
    site.serve_story(HAAS)
    site.serve_story(twin)
    with poll_context(tmp_path) as context:
        result = poll(context, site.url("/rss.xml"))
        articles = corpus_articles(context)
    assert result.new == 2 and len({a.id for a in articles}) == 2
    assert sorted(path.rsplit("-", 1)[-1] for path in result.written) == ["2.md", "banbury.md"]


def test_normalized_urls_drop_tracking_parameters_only():
    assert (
        normalize_url("HTTPS://Example.ORG:443/a?utm_source=x&id=5&fbclid=y#top")
        == "https://example.org/a?id=5"
    )
    assert normalize_url("http://example.org") == "http://example.org/"
    assert article_id("https://example.org/a?utm_medium=rss") == article_id("https://EXAMPLE.org/a")
    assert article_id("https://example.org/a?id=1") != article_id("https://example.org/a?id=2")
