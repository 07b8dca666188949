"""`pitwall bench`, the feeds line: how long until new articles from a feed are answerable.

An index of `chunks` chunks is built from the 10kGNAD articles (vectors reused, as for the sizes) without
20 of them; those 20 are then served as a feed with boilerplate-heavy article pages from a web server on
127.0.0.1 and brought in by `FeedService.fetch()` (robots.txt, the feed, each page, extraction, files,
the incremental index update with the real model, the searcher swapped). Publish time: from the start of
the fetch until a search for each new article's first sentence finds it. The politeness delay is set to 0
here (the figure is Pitwall's own cost): with the default 1 s per host, add one second per request.
"""

from __future__ import annotations

import datetime as dt
import html
import shutil
import threading
import time
from collections.abc import Sequence
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np

from bot.bench.corpus import ReusedVectors, articles_for_size, write_corpus
from bot.feeds import FeedService
from bot.service import AnswerService
from bot.settings import Settings
from index.build import build_index
from index.documents import Article
from index.embed.embedding import Embedder

NEW_ARTICLES = 20
_MIN_TEXT = 800  # held-out articles long enough never to look like a teaser


def bench_feeds(
    base: Sequence[Article],
    chunks_per_article: Sequence[int],
    chunks: int,
    settings: Settings,
    embedder: Embedder,
    vectors: dict[str, np.ndarray],
    work_dir: Path,
) -> dict:
    """The figures of one run: index size, articles written and found, fetch, index and publish seconds."""
    long_rows = [i for i, article in enumerate(base) if len(article.text) >= _MIN_TEXT]
    new_rows = long_rows[: min(NEW_ARTICLES, len(base) // 2)]  # the archive keeps at least half
    new = [base[i] for i in new_rows]
    kept = [
        (a, n) for i, (a, n) in enumerate(zip(base, chunks_per_article, strict=True)) if i not in new_rows
    ]
    folder = work_dir / "feeds"
    shutil.rmtree(folder, ignore_errors=True)
    corpus, index_dir = folder / "corpus", folder / "index"
    write_corpus(articles_for_size([a for a, _ in kept], [n for _, n in kept], chunks), corpus / "archive")
    report = build_index(
        corpus,
        index_dir,
        model_id=settings.model_id,
        get_embedder=lambda: ReusedVectors(embedder, vectors),
        overlap_sentences=settings.chunk_overlap_sentences,
        target_tokens=settings.chunk_target_tokens,
    )
    server = _serve(new)
    try:
        base_url = f"http://127.0.0.1:{server.server_address[1]}"
        local = settings.model_copy(
            update={
                "corpus_dir": corpus,
                "index_dir": index_dir,
                "feeds_db": folder / "feeds.sqlite3",
                "fetch_allow_private": True,
                "fetch_host_delay_seconds": 0.0,
            }
        )
        answers = AnswerService(local, lambda _: embedder)
        answers.load()  # as in the running bot: answers come from the live index meanwhile
        feeds = FeedService(local, answers)
        feeds.add(f"{base_url}/feed.xml", "Bench")
        started = time.perf_counter()
        fetched = feeds.fetch()
        fetched_s = time.perf_counter() - started
        found = sum(
            any(hit.url.endswith(f"/news/{n}") for hit in answers.search(_first_sentence(a), k=3))
            for n, a in enumerate(new)
        )
        publish_s = time.perf_counter() - started
        feeds.close()
    finally:
        server.shutdown()
        server.server_close()
    index_s = fetched.index.seconds if fetched.index else 0.0
    shutil.rmtree(folder, ignore_errors=True)
    return {
        "index_chunks": report.chunks,
        "new_articles": len(new),
        "written": len(fetched.written),
        "found": found,
        "fetch_s": round(fetched_s - index_s, 2),
        "index_s": round(index_s, 2),
        "publish_s": round(publish_s, 2),
        "host_delay_s": 0.0,
    }


def _first_sentence(article: Article) -> str:
    return article.text.split(". ")[0][:300]


def _page(article: Article) -> str:
    paragraphs = "".join(f"<p>{html.escape(p)}</p>" for p in article.text.split("\n") if p.strip())
    return (
        f"<!doctype html><html lang='de'><head><title>{html.escape(article.title)}</title></head><body>"
        "<nav><a href='/'>Startseite</a> <a href='/sport'>Sport</a> <a href='/politik'>Politik</a></nav>"
        "<div class='cookie-banner'>Wir verwenden Cookies. Alle akzeptieren.</div>"
        f"<article><h1>{html.escape(article.title)}</h1>{paragraphs}</article>"
        "<aside class='related'><a href='/x'>Lesen Sie auch: Das könnte Sie interessieren</a></aside>"
        "<footer>Impressum Datenschutz</footer></body></html>"
    )


def _feed(articles: Sequence[Article], base_url: str) -> str:
    date = format_datetime(dt.datetime.now(dt.UTC))
    items = "".join(
        f"<item><title>{html.escape(a.title)}</title><link>{base_url}/news/{n}</link><guid>bench-{n}</guid>"
        f"<pubDate>{date}</pubDate><description>{html.escape(a.text[:120])}</description></item>"
        for n, a in enumerate(articles)
    )
    channel = f"<channel><title>Bench</title>{items}</channel>"
    return f"<?xml version='1.0' encoding='utf-8'?><rss version='2.0'>{channel}</rss>"


def _serve(articles: Sequence[Article]) -> ThreadingHTTPServer:
    routes: dict[str, tuple[str, bytes]] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            content_type, body = routes.get(self.path, ("text/plain", b""))
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    base_url = f"http://127.0.0.1:{server.server_address[1]}"
    routes["/feed.xml"] = ("application/rss+xml", _feed(articles, base_url).encode())
    for n, article in enumerate(articles):
        routes[f"/news/{n}"] = ("text/html; charset=utf-8", _page(article).encode())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
