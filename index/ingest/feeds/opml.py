"""OPML 2.0 subscription lists, the format every feed reader imports and exports."""

from __future__ import annotations

import datetime as dt
import email.utils
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable

from index.errors import UserError

_ENTITY_DECLARATION = re.compile(rb"<!ENTITY", re.IGNORECASE)


class OpmlError(UserError):
    """An OPML file that cannot be read as a subscription list."""


def read_opml(data: bytes, where: str = "the OPML file") -> list[tuple[str, str]]:
    """(feed URL, name) of every `<outline xmlUrl=...>` at any depth (folders are flattened)."""
    if _ENTITY_DECLARATION.search(data):
        raise OpmlError(f"{where} declares XML entities; export it again from your feed reader")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as error:
        raise OpmlError(f"{where} is not well-formed XML ({error}); export it again as OPML") from None
    if root.tag != "opml":
        raise OpmlError(f"{where} is not OPML: its root element is <{root.tag}>, not <opml>")
    feeds = []
    for outline in root.iter("outline"):
        url = (outline.get("xmlUrl") or "").strip()
        if url:
            feeds.append((url, " ".join((outline.get("title") or outline.get("text") or "").split())))
    return feeds


def write_opml(feeds: Iterable[tuple[str, str]], title: str = "Pitwall feeds") -> str:
    """An OPML 2.0 document with one `<outline type="rss">` per (URL, name)."""
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    ET.SubElement(head, "dateCreated").text = email.utils.format_datetime(dt.datetime.now(dt.UTC))
    body = ET.SubElement(root, "body")
    for url, name in feeds:
        ET.SubElement(body, "outline", type="rss", text=name or url, title=name or url, xmlUrl=url)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
