"""The BeautifulSoup extractor that index/ingest/html_text.py replaced (quadratic in nesting depth): a
reference the one-pass extractor is compared with on generated pages (tests/index/test_html_text.py)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bs4 import BeautifulSoup, Tag

# Page furniture, never article text.
_DROP_TAGS = (
    "script", "style", "nav", "header", "footer", "aside", "form", "noscript",
    "figure", "figcaption", "iframe", "svg", "button", "template", "select",
)  # fmt: skip
# Containers whose class or id marks them as ads, share bars, teasers and the like.
_FURNITURE = re.compile(
    r"(?:^|[\s_-])(?:ad|ads|advert\w*|banner|sponsor\w*|promo\w*|newsletter|social|share|sharing|"
    r"related|teaser|comments?|cookie\w*|paywall)(?:$|[\s_-])",
    re.IGNORECASE,
)
_FULL_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_BLOCKS = ("p", "h2", "h3", "h4", "h5", "h6", "li", "blockquote")


@dataclass(frozen=True)
class HtmlPage:
    """What a page says about itself; values are raw strings ("" when absent), checked by the caller."""

    title: str
    text: str
    url: str = ""
    published: str = ""
    source: str = ""
    author: str = ""
    language: str = ""


def extract_html(html: str) -> HtmlPage:
    """Title (og:title, <h1>, <title>), main text as paragraphs joined by blank lines, and meta tags."""
    soup = BeautifulSoup(html, "html.parser")
    for br in soup.find_all("br"):  # the one change: a <br> separates the words of a title too
        br.replace_with(" ")
    html_tag = soup.find("html")
    language = html_tag.get("lang", "") if isinstance(html_tag, Tag) else ""
    meta = _head_values(soup)
    title = meta.get("og:title") or _text_of(soup.find("h1")) or _text_of(soup.find("title"))
    published = meta.get("article:published_time") or _time_datetime(soup)
    container = soup.find("article") or soup.find("main") or soup.find("body") or soup
    for tag in [tag for tag in container.find_all(True) if _is_furniture(tag)]:
        tag.decompose()
    return HtmlPage(
        title=title,
        text="\n\n".join(_paragraphs(container)),
        url=meta.get("canonical") or meta.get("og:url", ""),
        published=published,
        source=meta.get("og:site_name", ""),
        author=meta.get("author", ""),
        language=_clean(str(language)),
    )


def _paragraphs(container: Tag) -> list[str]:
    """Text of the innermost block elements; the whole container's text when it has none."""
    blocks = container.find_all(_BLOCKS)
    outer = {id(parent) for tag in blocks for parent in tag.parents if parent.name in _BLOCKS}
    blocks = [tag for tag in blocks if id(tag) not in outer]
    if not blocks:
        text = _clean(container.get_text(" "))  # bare text in <div>s: keep neighbours apart
        return [text] if text else []
    return [text for text in map(_text_of, blocks) if text]


def _time_datetime(soup: BeautifulSoup) -> str:
    """The first <time datetime> that is a full date: "2024-05" or "PT2H" are valid HTML, not dates."""
    values = (_attr(tag, "datetime") for tag in soup.find_all("time", attrs={"datetime": True}))
    return next((value for value in values if _FULL_DATE.match(value)), "")


def _is_furniture(tag: Tag) -> bool:
    """Scripts, navigation and the like, or a container marked as an ad, share bar, teaser, ..."""
    if tag.name in _DROP_TAGS:
        return True
    if tag.name in ("html", "body", "article", "main") or not tag.attrs:
        return False
    marks = " ".join([*tag.get("class", []), tag.get("id", "") or ""])
    return bool(marks) and _FURNITURE.search(marks) is not None


def _head_values(soup: BeautifulSoup) -> dict[str, str]:
    """Meta tag contents by property or name ("og:title", "author") and the canonical link, in one pass."""
    values: dict[str, str] = {}
    for tag in soup.find_all(("meta", "link")):
        if tag.name == "link":
            key, value = ("canonical", _attr(tag, "href")) if "canonical" in tag.get("rel", ()) else ("", "")
        else:
            key, value = _attr(tag, "property") or _attr(tag, "name"), _attr(tag, "content")
        if key and value:
            values.setdefault(key, value)
    return values


def _attr(tag: object, name: str) -> str:
    if not isinstance(tag, Tag):
        return ""
    value = tag.get(name, "")
    return _clean(value if isinstance(value, str) else " ".join(value))


def _text_of(tag: object) -> str:
    """The text as a reader sees it: inline tags joined without a gap ("Le <b>Mans</b>!" -> "Le Mans!")."""
    return _clean(tag.get_text()) if isinstance(tag, Tag) else ""


def _clean(text: str) -> str:
    """Whitespace runs (newlines and no-break spaces included) become one space."""
    return " ".join(text.split())
