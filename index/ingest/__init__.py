"""Ingestion: files of the corpus folder become Articles (Markdown, text, HTML, JSON Lines), or LoadErrors
with the reason. Owns reading safely from disk and pulling text out of HTML; `feeds/` brings articles from
the web into the corpus folder (the only code that opens web connections).
May import `index.documents`, `index.errors` and `index.text`; never `embed`, `store` or the top level."""
