"""What a question asks for (a number, a date, a person, a place) and whether a sentence holds one.

A sentence that answers "how many" holds a number; one that answers "wann" holds a date; a yes-no
question ("Is Alpine entering IMSA?") is answered by what the article says first. This is a feature of
sentence scoring, not a filter: a sentence without a date may still answer a "when".
"""

from __future__ import annotations

import re

_ASKS = (  # the first pattern that matches a question decides; English and German
    (
        "number",
        r"\b(how (many|much|old|long|far|high|big|large|often)|what (percentage|share|number|amount)|"
        r"wie (viele?|viel|alt|lange?|weit|hoch|groß|oft|stark)|wieviele?|welchen? (anteil|betrag))\b",
    ),
    (
        "date",
        r"\b(when|what (year|date|day|month|time)|in which (year|month)|since when|wann|seit wann|"
        r"(in |an )?welche[mn]? (jahr|tag|monat|datum))\b",
    ),
    ("person", r"\b(who|whom|whose|wer|wem|wen|wessen)\b"),
    (
        "place",
        r"\b(where|in which (city|country|town|state|region)|wo|wohin|woher|"
        r"in welche[mr]? (stadt|land|ort|region))\b",
    ),
)
_QUESTION = [(kind, re.compile(pattern, re.IGNORECASE)) for kind, pattern in _ASKS]
_TOKEN = re.compile(r"\w+")

_MONTHS = (
    "januar|jänner|februar|feber|märz|april|mai|juni|juli|august|september|oktober|november|dezember|"
    "january|february|march|june|july|october|december"
)
_WEEKDAYS = (
    "montag|dienstag|mittwoch|donnerstag|freitag|samstag|sonntag|"
    "monday|tuesday|wednesday|thursday|friday|saturday|sunday"
)
_NUMBER_WORDS = (
    "zwei|drei|vier|fünf|sechs|sieben|acht|neun|zehn|elf|zwölf|zwanzig|dreißig|hundert|tausend|"
    "million|millionen|milliarde|milliarden|dutzend|hälfte|drittel|viertel"
)
_HOLDS = {
    "number": re.compile(rf"\d|\b({_NUMBER_WORDS})\b", re.IGNORECASE),
    "date": re.compile(
        rf"\b(1[5-9]\d\d|20\d\d)\b|\b\d{{1,2}}\.\s?({_MONTHS})|\b({_MONTHS}|{_WEEKDAYS})\b|"
        r"\b(gestern|heute|morgen|vorgestern|jahrhundert|jahrzehnt)",
        re.IGNORECASE,
    ),
    # Two capitalised words in a row, not at the start of the sentence: a full name or an organisation.
    "person": re.compile(r"(?<=[\w,;:] )[A-ZÄÖÜ][\w'’-]+ (?:(?:von|van|de|der) )?[A-ZÄÖÜ][\w'’-]+"),
    # A capitalised word after a preposition of place.
    "place": re.compile(r"\b(in|im|nach|aus|bei|vor|von|at|from|near) (der |dem |den )?[A-ZÄÖÜ]\w+"),
}


_YES_NO = re.compile(  # a question that starts with its verb: "Is Alpine entering IMSA?", "Plant Alpine …?"
    r"^\s*(is|are|was|were|do|does|did|will|would|can|could|has|have|had|should|ist|sind|war|waren|hat|"
    r"haben|hatte|hatten|wird|werden|wurde|wurden|kann|können|soll|sollen|muss|müssen|gibt|gab|plant|"
    r"planen|will|wollen|darf|bleibt|kommt|steigt)\b",
    re.IGNORECASE,
)


def answer_type(question: str) -> str | None:
    """The kind of answer `question` asks for: "number", "date", "person", "place", "yes-no" or None."""
    kind = next((kind for kind, pattern in _QUESTION if pattern.search(question)), None)
    if kind is None and _YES_NO.match(question) and not question.lower().startswith("was "):
        return "yes-no"
    return kind


def has_answer_type(sentence: str, kind: str | None, question: str = "") -> bool:
    """Whether `sentence` holds an answer of `kind` that the question does not name itself (the year or
    the name a question mentions is not its answer). False without a kind, and for "yes-no": what answers
    those is where the sentence stands, the lede of a news article, not what it holds."""
    if kind not in _HOLDS:
        return False
    asked = {word.lower() for word in _TOKEN.findall(question)}
    if asked:
        sentence = _TOKEN.sub(lambda m: "_" if m.group().lower() in asked else m.group(), sentence)
    return _HOLDS[kind].search(sentence) is not None
