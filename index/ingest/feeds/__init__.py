"""Feeds and article links from the web into the corpus folder: the only code that opens web connections.

- `addresses.py`: which addresses may be fetched (no loopback, private, link-local or reserved ones).
- `http.py`: the one downloader every request goes through (politeness, size and time caps, redirects).
- `robots.py`: robots.txt, fetched through the downloader and obeyed.
- `feed_parsing.py` (feedparser), `page_text.py` (trafilatura), `opml.py`: what came in, as data.
- `articles.py`: normalized URLs, stable ids, and Markdown files written atomically.
- `state.py`: subscriptions and fetch state in SQLite.
- `polling.py`: one round over every feed (or one link), joining the above.
May import `index.documents`, `index.errors`, `index.text` and `index.ingest`; never `embed` or `store`.
"""
