"""Feeds as data (feedparser): the formats, full content, relative links, odd dates; no network."""

from __future__ import annotations

import datetime as dt

import pytest

from index.ingest.feeds.feed_parsing import NotAFeed, parse_feed
from index.ingest.feeds.opml import OpmlError, read_opml

RSS_1 = b"""<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
  xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel rdf:about="https://example.org/"><title>RDF</title><link>https://example.org/</link></channel>
<item rdf:about="https://example.org/a"><title>Ein Artikel</title><link>https://example.org/a</link>
<dc:date>2024-10-01T09:30:00+02:00</dc:date><dc:creator>Anna Muster</dc:creator></item>
</rdf:RDF>"""

RSS_091 = b"""<?xml version="1.0"?><rss version="0.91"><channel><title>Alt</title><link>https://example.org/</link>
<item><title>Alte Meldung</title><link>https://example.org/alt</link><description>Kurz.</description></item>
</channel></rss>"""

RSS_2 = b"""<?xml version="1.0"?><rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">
<channel><title>T</title><link>https://example.org/</link><language>de-DE</language>
<item><title>  Viel   Inhalt </title><link>/relativ/b</link><guid isPermaLink="false">id-b</guid>
<pubDate>Di, 01 Okt 2024 09:30:00 MESZ</pubDate><description>Teaser</description>
<content:encoded><![CDATA[<p>Der ganze Text.</p><p>Zweiter Absatz.</p>]]></content:encoded></item>
</channel></rss>"""


def test_rss_1_0_with_dublin_core():
    (entry,) = parse_feed(RSS_1, {}, "https://example.org/rdf").entries
    assert (entry.title, entry.link, entry.author) == ("Ein Artikel", "https://example.org/a", "Anna Muster")
    assert entry.published == dt.datetime(2024, 10, 1, 7, 30, tzinfo=dt.UTC)


def test_rss_0_91():
    feed = parse_feed(RSS_091, {}, "https://example.org/old")
    assert [(e.title, e.link, e.content) for e in feed.entries] == [
        ("Alte Meldung", "https://example.org/alt", "")
    ]


def test_rss_2_full_content_relative_link_language_and_an_odd_date():
    feed = parse_feed(RSS_2, {"Content-Type": "application/rss+xml"}, "https://example.org/feeds/rss")
    (entry,) = feed.entries
    assert feed.language == "de-DE"
    assert entry.title == "Viel Inhalt" and entry.guid == "id-b"
    assert entry.link == "https://example.org/relativ/b"  # resolved against the feed's address
    assert "Der ganze Text." in entry.content and entry.summary == "Teaser"
    assert entry.published is None  # a date feedparser cannot read is no date, not an error
    assert entry.updated == "Di, 01 Okt 2024 09:30:00 MESZ"


@pytest.mark.parametrize(
    ("body", "headers", "message"),
    [
        (b"", {}, "not an RSS or Atom feed"),
        (b'{"items": []}', {"Content-Type": "application/json"}, "not an RSS or Atom feed"),
        (b"<html><body>Hallo</body></html>", {}, "got an HTML page (no type)"),
        (b'<!DOCTYPE x [<!ENTITY a "b">]><rss version="2.0"/>', {}, "declares XML entities"),
    ],
)
def test_what_is_not_a_feed_says_why(body, headers, message):
    with pytest.raises(NotAFeed, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_feed(body, headers, "https://example.org/x")


def test_opml_folders_are_flattened_and_bad_files_say_why():
    data = b"""<opml version="2.0"><body><outline text="Motorsport">
    <outline type="rss" text="A" xmlUrl="https://example.org/a.xml"/>
    <outline type="rss" title="B" text="b" xmlUrl=" https://example.org/b.xml "/></outline>
    <outline text="no feed"/></body></opml>"""
    assert read_opml(data) == [("https://example.org/a.xml", "A"), ("https://example.org/b.xml", "B")]
    with pytest.raises(OpmlError, match="not well-formed XML"):
        read_opml(b"<opml><body>")
    with pytest.raises(OpmlError, match="its root element is <rss>"):
        read_opml(b"<rss/>")
    with pytest.raises(OpmlError, match="declares XML entities"):
        read_opml(b'<!DOCTYPE opml [<!ENTITY a "b">]><opml/>')
