"""Pull an article's title, text and metadata out of an HTML page in one pass (the stdlib's HTMLParser).

Linear in the page: every tag and every piece of text is handled once, whatever the nesting, so a page of
thousands of nested lists costs what its bytes cost. The rules:
- the title is og:title, else the first <h1>, else <title>;
- the text comes from the first <article>, else the first <main>, else <body>, else the whole page;
  page furniture (scripts, navigation, forms, ...) and containers whose class or id marks them as ads,
  share bars, teasers and the like are dropped;
- the text is the innermost block elements (p, h2-h6, li, blockquote), one paragraph each, inline tags
  joined without a gap; a container without blocks gives all its text, pieces joined by a space.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from html import unescape

# Page furniture, never article text.
_DROP_TAGS = frozenset((
    "script", "style", "nav", "header", "footer", "aside", "form", "noscript",
    "figure", "figcaption", "iframe", "svg", "button", "template", "select",
))  # fmt: skip
# Containers whose class or id marks them as ads, share bars, teasers and the like.
_FURNITURE = re.compile(
    r"(?:^|[\s_-])(?:ad|ads|advert\w*|banner|sponsor\w*|promo\w*|newsletter|social|share|sharing|"
    r"related|teaser|comments?|cookie\w*|paywall)(?:$|[\s_-])",
    re.IGNORECASE,
)
_NEVER_FURNITURE = frozenset(("html", "body", "article", "main"))
_FULL_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_BLOCKS = frozenset(("p", "h2", "h3", "h4", "h5", "h6", "li", "blockquote"))
_CONTAINERS = ("article", "main", "body")  # in order of preference; the whole page comes last
_MARKUP = re.compile(r"<[A-Za-z/!?]")
_START_TAG = re.compile(r"<([A-Za-z][^\t\n\f\r />]*)")
_END_TAG = re.compile(r"</([A-Za-z][^\t\n\f\r />]*)")
# Everything up to a tag's '>': quoted values may hold '>'. Never fails, so it never backtracks.
_ATTRIBUTES_END = re.compile(r"""(?:[^>"']+|"[^"]*"|'[^']*')*""")
_ATTRIBUTE = re.compile(r"""([^\s"'<>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?""")
# Elements whose content is text up to their end tag, never markup.
_RAW_TEXT = {
    name: re.compile(rf"</{name}[\t\n\f\r />]", re.IGNORECASE)
    for name in ("script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes")
}
_TITLES = ("h1", "title")
_ESCAPABLE_RAW_TEXT = ("title", "textarea")  # their character references are decoded
_VOID = frozenset((
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
    "track", "wbr",
))  # fmt: skip


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
    parser = _PageParser()
    _tokenize(html, parser)
    return parser.page()


def _tokenize(html: str, parser: _PageParser) -> None:
    """Feed `html` to `parser` as start tags, end tags and text, scanning each character a bounded number
    of times: a construct left open (a tag, quote or comment without its end) runs to the end of the page,
    as the HTML standard reads it, instead of being searched for again from every later '<'."""
    size, position = len(html), 0
    while position < size:
        markup = _MARKUP.search(html, position)  # a '<' before a space, digit or '<' is text
        if markup is None:
            parser.text(html[position:])
            return
        lt = markup.start()
        if lt > position:
            parser.text(html[position:lt])
        tag = _START_TAG.match(html, lt)
        if tag is not None:
            attributes = _ATTRIBUTES_END.match(html, tag.end())
            end = attributes.end()
            if end >= size or html[end] != ">":
                return  # a tag without its '>': the rest of the page is inside it
            name = tag.group(1).lower()
            parser.start(name, _attributes(attributes.group()))
            position = end + 1
            if name in _RAW_TEXT:
                closing = _RAW_TEXT[name].search(html, position)
                text_end = closing.start() if closing else size
                parser.text(html[position:text_end], raw=name not in _ESCAPABLE_RAW_TEXT)
                position = text_end
            continue
        tag = _END_TAG.match(html, lt)
        if tag is not None:
            gt = html.find(">", tag.end())
            if gt < 0:
                return
            parser.end(tag.group(1).lower())
            position = gt + 1
        elif html.startswith("<!--", lt):
            close = html.find("-->", lt + 4)
            position = size if close < 0 else close + 3
        else:  # doctype, CDATA, bogus comments ("<!x", "</1", "<?x"): up to '>'
            gt = html.find(">", lt + 2)
            position = size if gt < 0 else gt + 1


def _attributes(source: str) -> dict[str, str]:
    """Attribute names (lower case) and values (character references decoded); the last one of a name wins."""
    values = {}
    for match in _ATTRIBUTE.finditer(source):
        value = match.group(2) or match.group(3) or match.group(4) or ""
        values[match.group(1).lower()] = unescape(value) if "&" in value else value
    return values


@dataclass
class _Container:
    """The text of one candidate container, gathered while it is open."""

    depth: int  # its place on the element stack (-1: the whole page)
    pieces: list[str] = field(default_factory=list)  # every text, in order
    paragraphs: list[str] = field(default_factory=list)
    # The open blocks, as three lists of plain values (a deep page makes millions; the garbage collector
    # would walk objects): stack depth, where its text starts in `pieces`, and whether a block opened inside.
    block_depths: list[int] = field(default_factory=list)
    block_starts: list[int] = field(default_factory=list)
    block_has_inner: list[bool] = field(default_factory=list)
    has_blocks: bool = False  # then its text is its blocks' text, even when that is empty
    open: bool = True


class _PageParser:
    """Builds the page from tokens: an element stack, the candidate containers and the head's values."""

    def __init__(self) -> None:
        self._stack: list[str] = []
        self._open_tags: Counter[str] = Counter()  # how many of each tag are on the stack
        self._furniture: list[int] = []  # stack depths of the open furniture elements
        self._containers: dict[str, _Container] = {"page": _Container(-1)}
        self._open: list[_Container] = list(self._containers.values())  # containers not closed yet
        self._live: list[_Container] = self._open  # ... and with no furniture open inside them
        self._meta: dict[str, str] = {}
        self._language: str | None = None  # the first <html>'s lang ("" when it has none)
        self._published = ""
        self._first_text: dict[str, list[str]] = {}  # the text of the first <h1> and the first <title>
        self._gathering: dict[str, int] = {}  # their stack depths while they are open

    def start(self, tag: str, values: dict[str, str]) -> None:
        if tag == "html" and self._language is None:
            self._language = _clean(values.get("lang", ""))
        if values:
            self._head_values(tag, values)
        if tag == "br":
            self.text(" ")
        if tag in _VOID:
            return
        depth = len(self._stack)
        self._stack.append(tag)
        self._open_tags[tag] += 1
        if tag in _CONTAINERS and tag not in self._containers:
            self._containers[tag] = _Container(depth)
            self._refresh()
        if tag in _TITLES and tag not in self._first_text:
            self._first_text[tag], self._gathering[tag] = [], depth
        if _is_furniture(tag, values):
            self._furniture.append(depth)
            self._refresh()
        if tag in _BLOCKS:
            for container in self._live:
                if container.block_has_inner:
                    container.block_has_inner[-1] = True
                container.block_depths.append(depth)
                container.block_starts.append(len(container.pieces))
                container.block_has_inner.append(False)
                container.has_blocks = True

    def end(self, tag: str) -> None:
        if not self._open_tags[tag]:
            return  # a stray end tag closes nothing
        while self._pop() != tag:
            pass

    def text(self, data: str, raw: bool = False) -> None:
        if not raw and "&" in data:
            data = unescape(data)
        if not raw:  # a title never reads the code of a script inside it
            for tag in self._gathering:
                self._first_text[tag].append(data)
        for container in self._live:
            container.pieces.append(data)

    # --- state ------------------------------------------------------------------------------------

    def _pop(self) -> str:
        tag = self._stack.pop()
        self._open_tags[tag] -= 1
        self._close(tag, len(self._stack))
        return tag

    def _close(self, tag: str, depth: int) -> None:
        if self._furniture and self._furniture[-1] == depth:
            self._furniture.pop()
            self._refresh()
        if self._gathering.get(tag) == depth:
            del self._gathering[tag]
        for container in self._open:
            if container.block_depths and container.block_depths[-1] == depth:
                container.block_depths.pop()
                start = container.block_starts.pop()
                if not container.block_has_inner.pop():  # the innermost blocks hold the text
                    paragraph = _clean("".join(container.pieces[start:]))
                    if paragraph:
                        container.paragraphs.append(paragraph)
            if container.depth == depth:
                container.open = False
                self._refresh()

    def _refresh(self) -> None:
        """Which containers are open, and which of them gather text now (no furniture open inside)."""
        deepest_furniture = self._furniture[-1] if self._furniture else -2
        self._open = [c for c in self._containers.values() if c.open]
        self._live = [c for c in self._open if deepest_furniture < c.depth]

    def _head_values(self, tag: str, values: dict[str, str]) -> None:
        """Meta tags by property or name ("og:title", "author"), the canonical link, and the
        first <time datetime> that is a full date ("2024-05" or "PT2H" are valid HTML, not dates)."""
        if tag == "meta":
            key, value = (
                _clean(values.get("property", "")) or _clean(values.get("name", "")),
                values.get("content", ""),
            )
        elif tag == "link" and "canonical" in values.get("rel", "").split():
            key, value = "canonical", values.get("href", "")
        elif tag == "time" and not self._published and _FULL_DATE.match(_clean(values.get("datetime", ""))):
            key, value, self._published = "", "", _clean(values["datetime"])
        else:
            return
        value = _clean(value)
        if key and value:
            self._meta.setdefault(key, value)

    def page(self) -> HtmlPage:
        """The page once every token is in (elements still open are closed)."""
        while self._stack:
            self._pop()
        container = next(
            self._containers[name] for name in (*_CONTAINERS, "page") if name in self._containers
        )
        paragraphs = container.paragraphs
        if not container.has_blocks:
            text = _clean(" ".join(container.pieces))
            paragraphs = [text] if text else []
        meta = self._meta
        return HtmlPage(
            title=meta.get("og:title")
            or _clean("".join(self._first_text.get("h1", ())))
            or _clean("".join(self._first_text.get("title", ()))),
            text="\n\n".join(paragraphs),
            url=meta.get("canonical") or meta.get("og:url", ""),
            published=meta.get("article:published_time") or self._published,
            source=meta.get("og:site_name", ""),
            author=meta.get("author", ""),
            language=self._language or "",
        )


def _is_furniture(tag: str, values: dict[str, str]) -> bool:
    """Scripts, navigation and the like, or a container marked as an ad, share bar, teaser, ..."""
    if tag in _DROP_TAGS:
        return True
    if tag in _NEVER_FURNITURE or not values:
        return False
    marks = " ".join([values.get("class", ""), values.get("id", "")]).strip()
    return bool(marks) and _FURNITURE.search(marks) is not None


def _clean(text: str) -> str:
    """Whitespace runs (newlines and no-break spaces included) become one space."""
    return " ".join(text.split())
