"""An Answer as a Discord reply: lead line (a language model's verified answer sentence, when there is one)
as content; question, numbered quotes (with their translations) and citations in an embed.

Pure: no discord import. Every reply stays inside Discord's limits (see `discord_text`).
"""

from __future__ import annotations

import datetime as dt

from bot.answering.answers import TRANSLATED, Answer, ArticleRef, Citation
from bot.discord_bot.discord_text import (
    DESCRIPTION_MAX,
    EMBED_TOTAL_MAX,
    FIELD_NAME_MAX,
    FIELD_VALUE_MAX,
    FIELDS_MAX,
    TITLE_MAX,
    Reply,
    blockquote,
    escape,
    fit_content,
    fit_embed,
    masked_link,
    truncate,
)

ANSWER_COLOUR = 0x1F8B4C
ABSTAIN_COLOUR = 0x99AAB5
FOOTER = {
    "de": "Zitate wörtlich aus den Artikeln.",
    "en": "Quotes are copied word for word from the articles.",
}
NO_QUOTE = {
    "de": "Kein Artikel im Archiv beantwortet das.",
    "en": "No article in the archive answers this.",
}
CLOSEST = {"de": "Am nächsten kommen", "en": "Closest articles"}


def format_date(day: dt.date | None) -> str:
    return day.isoformat() if day else "undated"


def answer_reply(answer: Answer) -> Reply:
    """The reply for `answer`: content = lead line, embed = question, quotes and where they come from."""
    lang = answer.language if answer.language in FOOTER else "en"
    content = fit_content(escape(answer.answer) or NO_QUOTE[lang])
    title = truncate(escape(answer.question), TITLE_MAX)
    if answer.abstained or not answer.citations:
        fields = [_article_field(ref, lang) for ref in answer.closest[:FIELDS_MAX]]
        embed = {"title": title, "description": NO_QUOTE[lang], "color": ABSTAIN_COLOUR, "fields": fields}
        return Reply(content, fit_embed(embed))
    shown = answer.citations[:FIELDS_MAX]
    fields = [_citation_field(c) for c in shown]
    footer = {"text": FOOTER[lang]}
    room = EMBED_TOTAL_MAX - len(title) - len(footer["text"])
    room -= sum(len(f["name"]) + len(f["value"]) for f in fields)
    description = _quotes(answer.citations, min(DESCRIPTION_MAX, max(room, 0)), lang)
    embed = {
        "title": title,
        "description": description,
        "color": ANSWER_COLOUR,
        "fields": fields,
        "footer": footer,
    }
    return Reply(content, fit_embed(embed))


def _quotes(citations: tuple[Citation, ...], budget: int, lang: str) -> str:
    """Numbered quotes sharing `budget` characters; each is escaped and cut evenly if they do not fit. A
    language model's translation of a quote sits under it, labelled, outside the quote's block."""
    label = f"\n*({TRANSLATED[lang]})* "
    blocks = [(f"**[{c.n}]**\n", escape(c.quote), escape(" ".join(c.translation.split()))) for c in citations]
    overhead = sum(len(head) + 2 + (len(label) if tr else 0) for head, _, tr in blocks)  # + blank lines
    per_quote = max((budget - overhead) // max(len(blocks), 1), 0)
    parts = []
    for head, quote, translation in blocks:
        if len(quote) + len(translation) > per_quote:  # quote and translation share the room
            room = per_quote // 2 if translation else per_quote
            quote = truncate(quote, max(room, per_quote - len(translation)))
            translation = truncate(translation, per_quote - len(quote))
        parts.append(head + blockquote(quote) + (label + translation if translation else ""))
    return truncate("\n\n".join(parts), budget)


def _citation_field(citation: Citation) -> dict[str, object]:
    source = escape(citation.source) or "source unknown"
    name = truncate(f"[{citation.n}] {source} · {format_date(citation.published)}", FIELD_NAME_MAX)
    title = escape(citation.title or citation.article_id)
    value = masked_link(title, citation.link or citation.url, FIELD_VALUE_MAX)
    return {"name": name, "value": value or "-", "inline": False}


def _article_field(ref: ArticleRef, lang: str) -> dict[str, object]:
    name = truncate(f"{CLOSEST[lang]} · {format_date(ref.published)}", FIELD_NAME_MAX)
    value = masked_link(escape(ref.title or ref.article_id), ref.url, FIELD_VALUE_MAX)
    return {"name": name, "value": value or "-", "inline": False}
