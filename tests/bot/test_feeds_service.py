"""FeedService subscriptions: add, list, remove, OPML, and the URLs it refuses (no network needed)."""

from __future__ import annotations

import re

import pytest

from bot.feeds import FeedError, FeedService, FeedStatus
from bot.settings import Settings


@pytest.fixture
def service(tmp_path) -> FeedService:
    settings = Settings(
        corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index", feeds_db=tmp_path / "feeds.sqlite3"
    )
    return FeedService(settings, answers=None)  # type: ignore[arg-type] (nothing here indexes)


def test_added_feeds_are_listed_and_survive_a_new_service(service, tmp_path):
    feed = service.add("https://93.184.216.34/rss.xml", "  Motorsport   News ")
    assert isinstance(feed, FeedStatus)
    assert (feed.name, feed.articles, feed.failing, feed.last_success) == ("Motorsport News", 0, False, None)
    service.add("https://93.184.216.35/atom.xml")
    service.close()
    again = FeedService(service.settings, answers=None)  # type: ignore[arg-type]
    assert [(f.url, f.name) for f in again.list()] == [
        ("https://93.184.216.34/rss.xml", "Motorsport News"),
        ("https://93.184.216.35/atom.xml", "93.184.216.35"),
    ]
    assert again.list()[0].to_json()["failing"] is False


def test_adding_again_renames_and_removing_forgets(service):
    service.add("https://93.184.216.34/rss.xml", "Old")
    service.add("https://93.184.216.34/rss.xml", "New")
    assert [f.name for f in service.list()] == ["New"]
    assert service.remove("https://93.184.216.34/rss.xml") is True
    assert service.remove("https://93.184.216.34/rss.xml") is False
    assert service.list() == []


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://93.184.216.34/feed", "must start with http:// or https://"),
        ("file:///etc/passwd", "must start with http:// or https://"),
        ("javascript:alert(1)", "must start with http:// or https://"),
        ("https:///nohost", "name a host"),
        ("http://127.0.0.1:8080/feed", "127.0.0.1 is a loopback address"),
        ("http://10.0.0.7/feed", "10.0.0.7 is a private address"),
        ("http://169.254.169.254/latest/meta-data", "169.254.169.254 is a link-local address"),
        ("http://[::1]/feed", "::1 is a loopback address"),
        ("http://[::ffff:192.168.1.1]/feed", "is a private address"),
    ],
)
def test_urls_that_are_refused_say_why(service, url, message):
    with pytest.raises(FeedError, match=re.escape(message)):
        service.add(url)
    assert service.list() == []


def test_private_addresses_are_allowed_when_the_setting_says_so(tmp_path):
    settings = Settings(feeds_db=tmp_path / "feeds.sqlite3", fetch_allow_private=True)
    service = FeedService(settings, answers=None)  # type: ignore[arg-type]
    assert service.add("http://127.0.0.1:8080/feed").url == "http://127.0.0.1:8080/feed"


def test_opml_round_trip(service, tmp_path):
    service.add("https://93.184.216.34/rss.xml", "Formel 1 & mehr")
    exported = service.export_opml()
    assert 'xmlUrl="https://93.184.216.34/rss.xml"' in exported
    other = FeedService(service.settings.model_copy(update={"feeds_db": tmp_path / "other.sqlite3"}), None)  # type: ignore[arg-type]
    opml = tmp_path / "feeds.opml"
    opml.write_text(exported, encoding="utf-8")
    assert [(f.url, f.name) for f in other.import_opml(opml)] == [
        ("https://93.184.216.34/rss.xml", "Formel 1 & mehr")
    ]


def test_an_opml_file_with_one_bad_feed_adds_none(service, tmp_path):
    opml = tmp_path / "feeds.opml"
    opml.write_text(
        '<opml version="2.0"><body><outline text="a" xmlUrl="https://93.184.216.34/a.xml"/>'
        '<outline text="folder"><outline text="b" xmlUrl="http://192.168.0.1/b.xml"/></outline></body></opml>'
    )
    with pytest.raises(FeedError, match="192.168.0.1 is a private address"):
        service.import_opml(opml)
    assert service.list() == []


def test_an_article_link_at_a_private_address_is_refused_before_any_request(service):
    with pytest.raises(FeedError, match=re.escape("10.1.2.3 is a private address")):
        service.add_article("http://10.1.2.3/news/article")
    with pytest.raises(FeedError, match="must start with http:// or https://"):
        service.add_article("file:///etc/passwd")
