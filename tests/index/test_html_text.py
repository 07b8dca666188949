"""The one-pass HTML extractor: the same page as the BeautifulSoup reference on generated pages, and time
linear in the page however deep the nesting."""

from __future__ import annotations

import time
from dataclasses import asdict

from hypothesis import given, settings
from hypothesis import strategies as st

from index.ingest.html_text import extract_html
from tests.index.html_reference import extract_html as reference_extract_html

_WORD = st.sampled_from(
    ["Alpine", "IMSA", "plant", "nichts", "&amp;", "&lt;", "Le&nbsp;Mans", " ", "\n", "2024"]
)
_ATTRIBUTES = st.sampled_from(
    [
        "",
        ' class="ad-slot"',
        " class='share bar'",
        ' id="comments"',
        ' class="lead"',
        ' lang="de"',
        ' datetime="2024-06-02"',
        ' datetime="2024-05"',
    ]
)
_TAGS = st.sampled_from(
    ["p", "li", "ul", "div", "span", "b", "article", "main", "body", "h1", "h2", "blockquote", "nav",
     "aside", "figure", "time", "section", "html"]
)  # fmt: skip
_HEAD = st.sampled_from(
    [
        "",
        "<title>Der Titel</title>",
        '<meta property="og:title" content="OG &amp; Titel">',
        '<meta name="author" content=" Heiko  Stritzke ">',
        '<link rel="canonical" href="https://example.org/a">',
        '<meta property="og:url" content="https://example.org/og">',
        '<meta property="article:published_time" content="2024-10-01">',
        "<script>var x = '<p>nope</p>';</script>",
        "<style>p { color: red }</style>",
        "<!-- a comment <p>nope</p> -->",
        "<br>",
        "<br/>",
    ]
)


@st.composite
def markup(draw, depth: int = 0) -> str:
    """A page fragment: text, head values, and elements nested a few levels, some left unclosed."""
    parts = []
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(["text", "head", "element", "element", "stray"]))
        if kind == "text":
            parts.append(draw(_WORD))
        elif kind == "head":
            parts.append(draw(_HEAD))
        elif kind == "stray":
            parts.append(f"</{draw(_TAGS)}>")
        elif depth < 5:
            tag = draw(_TAGS)
            closed = draw(st.booleans()) or draw(st.booleans())
            inner = draw(markup(depth + 1))
            parts.append(f"<{tag}{draw(_ATTRIBUTES)}>{inner}" + (f"</{tag}>" if closed else ""))
    return "".join(parts)


@settings(max_examples=300, deadline=None)
@given(markup())
def test_the_same_page_as_the_beautifulsoup_reference(html):
    assert asdict(extract_html(html)) == asdict(reference_extract_html(html))


def test_time_is_linear_in_nesting_depth():
    """15,000 nested lists took the BeautifulSoup extractor 40 s. Sixteen times the depth costs about
    sixteen times as long (quadratic: 256 times); the bound leaves room for a busy machine."""

    def seconds(depth: int) -> float:
        page = "<html><body><article>" + "<ul><li>Punkt " * depth + "</li></ul>" * depth
        started = time.perf_counter()
        text = extract_html(page).text
        assert text == "Punkt"  # only the innermost item is a paragraph
        return time.perf_counter() - started

    small = min(seconds(1_000) for _ in range(3))
    large = min(seconds(16_000) for _ in range(2))
    assert large < 64 * small + 0.1, (small, large)


def test_open_constructs_run_to_the_end_of_the_page_once():
    for page in (
        "<a " * 50_000,
        "<!--" * 50_000,
        "<p class='" + "x" * 200_000,
        "</" * 50_000,
        "<![" * 50_000,
    ):
        started = time.perf_counter()
        extract_html(page)
        assert time.perf_counter() - started < 1.0, page[:10]
