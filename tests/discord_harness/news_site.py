"""A local news site on 127.0.0.1 for the feed tests of the bot: an RSS feed and article pages with the
navigation, cookie banner and teasers of a real site. A page can be held back (`hold`) until the test
releases it, so a refresh can be caught in the middle."""

from __future__ import annotations

import datetime as dt
import email.utils
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PAGE = """<!DOCTYPE html>
<html lang="de"><head><meta charset="utf-8"><title>{title} | Rennsport Lokal</title>
<meta name="author" content="Lena Kurz"><meta property="article:published_time" content="{date}"></head>
<body>
<div class="cookie-banner">Wir verwenden Cookies, um Ihnen das beste Erlebnis zu bieten.
<button>Alle akzeptieren</button></div>
<nav><ul><li><a href="/">Startseite</a></li><li><a href="/f1">Formel 1</a></li><li><a href="/wec">WEC</a></li>
<li><a href="/dtm">DTM</a></li><li><a href="/abo">Abo</a></li></ul></nav>
<main><article><h1>{title}</h1><p class="byline">Von Lena Kurz, {date}</p>
{paragraphs}
</article>
<aside><h2>Mehr zum Thema</h2><ul><li><a href="/x1">Ferrari testet in Fiorano</a></li>
<li><a href="/x2">Porsche siegt in Daytona</a></li>
<li><a href="/x3">Neuer Rekord am Ring</a></li></ul></aside>
<section class="comments"><h2>Kommentare</h2><p>Toll! Endlich tut sich was.</p></section></main>
<footer>Impressum · Datenschutz · Kontakt · © Rennsport Lokal</footer></body></html>"""

FEED = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Rennsport Lokal</title><link>{base}/</link>
<description>Nachrichten vom Ring</description><language>de</language>
{items}
</channel></rss>"""

ITEM = """<item><title>{title}</title><link>{base}{path}</link><guid>{base}{path}</guid>
<pubDate>{pub}</pubDate><description>{teaser}</description></item>"""


class NewsSite:
    """Serves `pages` (path -> HTML) and the feed of `articles`; records each request path in `seen`."""

    def __init__(self) -> None:
        self.pages: dict[str, str] = {}
        self.items: list[str] = []
        self.seen: list[str] = []
        self.held: dict[str, threading.Event] = {}  # path -> released when set
        self.requested = threading.Condition()
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                with site.requested:
                    site.seen.append(self.path)
                    site.requested.notify_all()
                gate = site.held.get(self.path)
                if gate is not None:
                    gate.wait(60)
                if self.path == "/feed.xml":
                    body, kind = (
                        FEED.format(base=site.base, items="\n".join(site.items)),
                        "application/rss+xml",
                    )
                elif self.path in site.pages:
                    body, kind = site.pages[self.path], "text/html; charset=utf-8"
                else:
                    self.send_error(404)
                    return
                data = body.encode("utf-8")
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.feed_url = self.base + "/feed.xml"
        self._thread = threading.Thread(target=self.server.serve_forever, name="news-site", daemon=True)
        self._thread.start()

    def publish(self, path: str, title: str, paragraphs: list[str], *, day: dt.date, teaser: str) -> str:
        """An article page at `path`, listed in the feed; returns its URL."""
        body = "\n".join(f"<p>{p}</p>" for p in paragraphs)
        self.pages[path] = PAGE.format(title=title, date=day.isoformat(), paragraphs=body)
        pub = email.utils.format_datetime(dt.datetime.combine(day, dt.time(8), dt.UTC))
        self.items.append(ITEM.format(title=title, base=self.base, path=path, pub=pub, teaser=teaser))
        return self.base + path

    def hold(self, path: str) -> threading.Event:
        """Requests for `path` wait until the returned event is set."""
        self.held[path] = threading.Event()
        return self.held[path]

    def wait_for_request(self, path: str, timeout: float = 60) -> None:
        with self.requested:
            if not self.requested.wait_for(lambda: path in self.seen, timeout):
                raise AssertionError(f"nobody asked the news site for {path}; seen: {self.seen}")

    def close(self) -> None:
        for gate in self.held.values():
            gate.set()
        self.server.shutdown()
        self.server.server_close()
