"""An article page's text and metadata (trafilatura): boilerplate, navigation, cookie banners, "related
articles" and comments left out. Also the text of a feed's own full content (the project's HTML reader)."""

from __future__ import annotations

from dataclasses import dataclass

import trafilatura

from index.ingest.html_text import extract_html


@dataclass(frozen=True)
class PageText:
    title: str
    text: str  # paragraphs separated by a blank line
    published: str  # ISO date as the page gives it, "" when it gives none
    author: str
    language: str


def page_text(html: bytes | str, url: str) -> PageText:
    """The article of an HTML page (an empty text when there is none)."""
    document = trafilatura.bare_extraction(
        html,
        url=url,
        with_metadata=True,
        include_comments=False,
        include_tables=False,
        deduplicate=False,
    )
    if document is None:
        return PageText("", "", "", "", "")
    data = document.as_dict() if hasattr(document, "as_dict") else dict(document)
    title = " ".join(str(data.get("title") or "").split())
    paragraphs = [" ".join(line.split()) for line in str(data.get("text") or "").splitlines()]
    paragraphs = [line for line in paragraphs if line]
    if paragraphs and paragraphs[0] == title:  # trafilatura repeats the headline as the first line
        paragraphs = paragraphs[1:]
    return PageText(
        title=title,
        text="\n\n".join(paragraphs),
        published=str(data.get("date") or ""),
        author=" ".join(str(data.get("author") or "").split()),
        language=str(data.get("language") or ""),
    )


def content_text(html: str) -> str:
    """The text of a feed entry's own HTML content, paragraphs separated by a blank line."""
    paragraphs = [" ".join(line.split()) for line in extract_html(html).text.splitlines()]
    return "\n\n".join(line for line in paragraphs if line)
