"""The Discord formatting is pure: every reply fits Discord's limits and shows quotes safely."""

from __future__ import annotations

import datetime as dt
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.answering.answers import Answer, ArticleRef, Citation
from bot.discord_bot.discord_text import embed_length, escape, fit_embed, truncate
from bot.discord_bot.formatting import answer_reply
from bot.discord_bot.panels import format_reindex_done, search_reply, source_reply, status_reply
from bot.service import SearchResult, ServiceStatus
from index.build import IndexReport
from index.documents import Article, LoadError

PIECES = [
    "@everyone",
    "@here",
    "<@123>",
    "<#5>",
    "**",
    "__",
    "`",
    "||",
    "> ",
    "\n",
    "# ",
    "[x](y)",
    "\\",
    "🏎️",
]
nasty = st.lists(
    st.one_of(
        st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40),
        st.sampled_from(PIECES),
    ),
    max_size=80,
).map("".join)
long_text = st.one_of(nasty, st.text(min_size=2000, max_size=5000))
urls = st.one_of(
    st.just(""), st.text(max_size=50).map(lambda t: "https://example.com/" + t), st.text(max_size=2100)
)
dates = st.one_of(st.none(), st.dates())

citations = st.builds(
    Citation,
    n=st.integers(1, 99),
    quote=long_text,
    article_id=st.text(max_size=300),
    title=long_text,
    source=nasty,
    url=urls,
    published=dates,
    score=st.floats(0, 1),
    link=urls,
    translation=st.one_of(st.just(""), long_text),
)
refs = st.builds(ArticleRef, article_id=st.text(max_size=300), title=long_text, url=urls, published=dates)
answers = st.builds(
    Answer,
    question=long_text,
    language=st.sampled_from(["de", "en", "fr"]),
    abstained=st.booleans(),
    answer=long_text,
    citations=st.lists(citations, max_size=30).map(tuple),
    closest=st.lists(refs, max_size=30).map(tuple),
)


def assert_within_limits(content: str, embed: dict | None) -> None:
    assert len(content) <= 2000
    if embed is None:
        return
    assert len(embed.get("title") or "") <= 256
    assert len(embed.get("description") or "") <= 4096
    assert len(embed.get("fields") or []) <= 25
    for field in embed.get("fields") or []:
        assert 0 < len(field["name"]) <= 256 and 0 < len(field["value"]) <= 1024
    assert embed_length(embed) <= 6000


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(answers)
def test_every_answer_fits_discords_limits(answer: Answer) -> None:
    reply = answer_reply(answer)
    assert_within_limits(reply.content, reply.embed)
    everything = reply.content + str(reply.embed)
    assert "@everyone" not in everything and "@here" not in everything
    assert re.search(r"<@\d", everything) is None


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(
    st.lists(
        st.builds(
            SearchResult,
            st.text(),
            long_text,
            nasty,
            urls,
            dates,
            long_text,
            st.floats(0, 1),
            st.just(0),
            st.just(1),
        ),
        max_size=10,
    ),
    nasty,
)
def test_search_results_fit_discords_limits(hits: list[SearchResult], query: str) -> None:
    reply = search_reply(query, hits)
    assert_within_limits(reply.content, reply.embed)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(
    st.builds(
        Article,
        id=st.text(max_size=200),
        title=long_text,
        text=long_text,
        source=nasty,
        url=urls,
        published=dates,
    )
)
def test_article_cards_fit_discords_limits(article: Article) -> None:
    reply = source_reply(article)
    assert_within_limits(reply.content, reply.embed)


def test_answer_layout_lead_line_numbered_quotes_and_linked_citations() -> None:
    quote = "Es gibt keinen wirklichen Plan, aber die Idee, in der IMSA zu fahren, ist da."
    citation = Citation(
        1,
        quote,
        "a1",
        "Alpine *ohne* Plan",
        "Motorsport-Total.com",
        "https://example.com/a",
        dt.date(2024, 5, 1),
        0.9,
        "https://example.com/a#:~:text=Es%20gibt",
    )
    reply = answer_reply(
        Answer("Is Alpine entering IMSA?", "en", False, "The articles say [1]:", (citation,))
    )
    assert reply.content == "The articles say \\[1\\]:"
    assert reply.embed is not None
    assert reply.embed["title"] == "Is Alpine entering IMSA?"
    assert reply.embed["description"] == "**[1]**\n> " + quote
    assert reply.embed["fields"] == [
        {
            "name": "[1] Motorsport-Total.com · 2024-05-01",
            "value": "[Alpine \\*ohne\\* Plan](https://example.com/a#:~:text=Es%20gibt)",
            "inline": False,
        }
    ]


def test_abstention_names_the_closest_articles() -> None:
    ref = ArticleRef("a1", "Alpine bleibt in der WEC", "https://example.com/a", None)
    reply = answer_reply(Answer("Wer gewinnt 2030?", "de", True, "Dazu steht nichts im Archiv.", (), (ref,)))
    assert reply.content == "Dazu steht nichts im Archiv."
    assert reply.embed is not None and reply.embed["description"] == "Kein Artikel im Archiv beantwortet das."
    assert reply.embed["fields"][0]["value"] == "[Alpine bleibt in der WEC](https://example.com/a)"


def test_escape_neutralises_markdown_and_mentions() -> None:
    assert escape("@everyone *fett* <@42> [x](y)") == "@\u200beveryone \\*fett\\* <@\u200b42> \\[x\\]\\(y\\)"
    assert escape("# Titel\n- Punkt") == "\\# Titel\n\\- Punkt"


def test_truncate_marks_the_cut_and_never_leaves_a_dangling_escape() -> None:
    assert truncate("abcdef", 4) == "abc…"
    assert truncate("ab\\*", 4) == "ab\\*"
    assert truncate("ab\\*cd", 4) == "ab…"


def test_fit_embed_drops_trailing_fields_before_cutting_the_description() -> None:
    fields = [{"name": f"f{i}", "value": "v" * 1024} for i in range(25)]
    fitted = fit_embed({"title": "t", "description": "d" * 4096, "fields": fields})
    assert fitted["description"] == "d" * 4096
    assert 0 < len(fitted["fields"]) < 25 and embed_length(fitted) <= 6000


def test_status_and_reindex_messages() -> None:
    report = IndexReport(3, 15, 1, 0, 0, 2, (LoadError("broken.md", "no title", None),), 1.5)
    status = status_reply(
        ServiceStatus(3, 15, "bundled:all-MiniLM-L6-v2", "2025-01-02T03:04:00+00:00", report)
    )
    assert status.embed is not None
    assert "**Articles:** 3" in status.embed["description"]
    assert "2025-01-02 03:04 UTC" in status.embed["description"]
    assert "1 added, 0 changed, 0 removed, 1 rejected" in status.embed["description"]
    assert format_reindex_done(report).endswith("Rejected files:\n- broken.md: no title")
