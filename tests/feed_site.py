"""A news site on 127.0.0.1 for the feed tests: boilerplate-heavy article pages, RSS 2.0 and Atom feeds that
answer conditional requests with 304, hostile responses, and a log of every request (time, path, headers).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.utils import format_datetime
from html import escape
from urllib.parse import urlsplit

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

Route = Callable[[Request], Response]

# Navigation, cookie banner, teasers of other articles, comments: what must never be quoted.
NAVIGATION = "Startseite Formel 1 MotoGP WEC IMSA Ergebnisse Kalender Fahrerwertung Newsletter abonnieren"
COOKIE_BANNER = "Wir verwenden Cookies, um Ihnen das beste Nutzererlebnis zu bieten. Alle akzeptieren."
RELATED_TEASER = "Lesen Sie auch: Warum Haas in Banbury angeblich gar kein Werk baut und was Komatsu plant"
COMMENT = "Kommentar von Rennfan88: Banbury ist doch viel zu klein für ein zweites Werk, glaubt mir."


@dataclass(frozen=True)
class Story:
    slug: str
    title: str
    paragraphs: tuple[str, ...]
    teaser: str
    published: str = "Tue, 01 Oct 2024 09:30:00 +0000"

    def body(self) -> str:
        return "\n\n".join(self.paragraphs)


HAAS = Story(
    "haas-werk",
    "Haas eröffnet zweites Werk in Banbury",
    (
        "Das Haas-Team baut seine Präsenz in Großbritannien aus. Teamchef Ayao Komatsu bestätigte am "
        "Dienstag, dass der Rennstall im kommenden Frühjahr ein zweites Werk in Banbury eröffnen wird.",
        "In der neuen Fabrik sollen zunächst 120 Mitarbeiter an der Aerodynamik und am Getriebe arbeiten. "
        "Der Standort liegt nur wenige Kilometer von der bisherigen Basis entfernt.",
        "Komatsu erklärte, die Investition sei Teil eines langfristigen Plans mit dem Eigentümer Gene "
        "Haas. Das Team wolle bis 2026 regelmäßig um Punkte kämpfen und die Abhängigkeit von Ferrari "
        "verringern.",
    ),
    "Haas plant Großes: Was Komatsu angekündigt hat.",
)
ALPINE = Story(
    "alpine-imsa",
    "Alpine bestätigt Einstieg in die IMSA-Serie",
    (
        "Alpine wird ab der Saison 2026 mit zwei Prototypen in der nordamerikanischen IMSA-Serie antreten. "
        "Das gab Teamchef Bruno Famin bei einer Pressekonferenz in Daytona bekannt.",
        "Die Autos basieren auf dem A424, der bereits in der Langstrecken-Weltmeisterschaft eingesetzt "
        "wird. Als Partner fungiert das französische Team Signatech, das die Einsätze organisiert.",
        "Famin sagte, der amerikanische Markt sei für die Marke von großer Bedeutung. Die Fahrerpaarungen "
        "sollen im Dezember bekannt gegeben werden.",
    ),
    "Alpine und die IMSA: Famin mit großer Ankündigung.",
    "Wed, 02 Oct 2024 14:00:00 +0000",
)


def article_page(story: Story, *, body: str | None = None) -> str:
    """A page as news sites serve them: the article inside a heap of navigation, banners and teasers."""
    paragraphs = body if body is not None else "".join(f"<p>{escape(p)}</p>" for p in story.paragraphs)
    links = "".join(f'<li><a href="/{word.lower()}">{word}</a></li>' for word in NAVIGATION.split())
    teasers = "".join(
        f'<li class="teaser"><a href="/t{n}">{escape(RELATED_TEASER)} ({n})</a></li>' for n in range(8)
    )
    return f"""<!doctype html>
<html lang="de"><head><meta charset="utf-8"><title>{escape(story.title)} | Rennsport-Nachrichten</title>
<meta property="og:title" content="{escape(story.title)}">
<meta name="author" content="Redaktion">
<script>window.dataLayer = [];</script></head>
<body>
<div id="cookie-banner" class="cookie-consent"><p>{COOKIE_BANNER}</p><button>OK</button></div>
<header><div class="logo">Rennsport-Nachrichten</div><nav><ul>{links}</ul></nav></header>
<div class="ad-banner"><p>Jetzt Tickets für den Großen Preis sichern! Nur heute 20 Prozent Rabatt.</p></div>
<main><article>
<h1>{escape(story.title)}</h1>
<p class="byline">Von Redaktion, 01.10.2024</p>
{paragraphs}
</article>
<aside class="related"><h3>Das könnte Sie auch interessieren</h3><ul>{teasers}</ul></aside>
<section id="comments" class="comments"><h3>Kommentare</h3>
<div class="comment"><p>{COMMENT}</p></div></section>
</main>
<footer><p>Impressum Datenschutz Kontakt Mediadaten AGB</p><p>© 2024 Rennsport-Nachrichten</p></footer>
</body></html>"""


def rss(base: str, stories: list[Story], *, full_content: bool = False, extra: str = "") -> str:
    items = "".join(
        f"""<item><title>{escape(s.title)}</title><link>{base}/news/{s.slug}?utm_source=rss&amp;utm_medium=feed</link>
<guid isPermaLink="false">story-{s.slug}</guid><pubDate>{s.published}</pubDate>
<description>{escape(s.teaser)}</description>"""
        + (
            f"<content:encoded><![CDATA[{''.join(f'<p>{p}</p>' for p in s.paragraphs)}]]></content:encoded>"
            if full_content
            else ""
        )
        + "</item>"
        for s in stories
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>
<title>Rennsport-Nachrichten</title><link>{base}/</link><language>de</language>
<description>Nachrichten</description>{items}{extra}</channel></rss>"""


def atom(base: str, stories: list[Story]) -> str:
    entries = "".join(
        f"""<entry><title>{escape(s.title)}</title><link rel="alternate" href="/news/{s.slug}"/>
<id>urn:story:{s.slug}</id><updated>2024-10-02T14:00:00Z</updated><summary>{escape(s.teaser)}</summary></entry>"""
        for s in stories
    )
    return f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:base="{base}/"><title>Rennsport Atom</title>
<id>urn:feed</id><updated>2024-10-02T14:00:00Z</updated>{entries}</feed>"""


@dataclass(frozen=True)
class Hit:
    time: float
    path: str
    headers: dict[str, str]


class Site:
    """Routes by path; every request is logged. A path without a route is 404 (robots.txt too)."""

    def __init__(self, server: HTTPServer) -> None:
        self.server = server
        self.routes: dict[str, Route] = {}
        self.hits: list[Hit] = []
        self._lock = threading.Lock()
        server.expect_request(re.compile(".*")).respond_with_handler(self._dispatch)

    @property
    def base(self) -> str:
        return self.server.url_for("").rstrip("/")

    def url(self, path: str) -> str:
        return self.base + path

    def _dispatch(self, request: Request) -> Response:
        with self._lock:
            self.hits.append(Hit(time.monotonic(), request.path, dict(request.headers)))
        route = self.routes.get(request.path)
        return route(request) if route else Response("not found", status=404)

    def paths(self) -> list[str]:
        return [hit.path for hit in self.hits]

    def serve(
        self, path: str, body: str | bytes, content_type: str = "text/html; charset=utf-8", **headers
    ) -> None:
        self.routes[path] = lambda _request: Response(body, headers={"Content-Type": content_type, **headers})

    def serve_feed(self, path: str, xml: str, *, etag: str = '"v1"', modified: float = 1727775000) -> None:
        """A feed that answers If-None-Match / If-Modified-Since with 304, as a good server does."""
        last_modified = format_datetime(_utc(modified), usegmt=True)

        def route(request: Request) -> Response:
            if (
                request.headers.get("If-None-Match") == etag
                or request.headers.get("If-Modified-Since") == last_modified
            ):
                return Response(status=304, headers={"ETag": etag})
            return Response(
                xml,
                headers={
                    "Content-Type": "application/rss+xml; charset=utf-8",
                    "ETag": etag,
                    "Last-Modified": last_modified,
                },
            )

        self.routes[path] = route

    def serve_story(self, story: Story, **kwargs) -> None:
        self.serve(f"/news/{story.slug}", article_page(story, **kwargs))

    def route(self, path: str, route: Route) -> None:
        self.routes[path] = route


def _utc(timestamp: float):
    import datetime as dt

    return dt.datetime.fromtimestamp(timestamp, dt.UTC)


def host_of(url: str) -> str:
    return urlsplit(url).netloc


def started_site() -> Iterator[Site]:
    """For a fixture: a threaded server (a hanging response never holds up the next request)."""
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    try:
        yield Site(server)
    finally:
        server.clear()
        server.stop()
