"""What a question asks for (a number, an amount of money, a share, an age, a duration, a date, a reason, a
place, a name) and whether a sentence holds one.

A sentence that answers "how many" holds a number; "how much did it cost" an amount of money; "wie alt" an
age; "wann" a date; "wer" a name; "warum" a reason; a yes-no question ("Is Alpine entering IMSA?") is
answered by what the article says first. This is a feature of sentence scoring, not a filter: a sentence
without a date may still answer a "when". Only for the kinds in MUST_STATE does a missing answer count:
quotes that state none are no answer (bot/answering/answers.py).
"""

from __future__ import annotations

import re

_PLACE_NOUNS = r"(city|country|town|state|region|place|stadt|land|ort|region|staat|bundesland|gemeinde)"
_TIME_NOUNS = r"(year|date|day|month|time|jahr|tag|monat|datum|zeitpunkt)"
_ASKS = (  # the question word standing first in the question decides; English and German
    (
        "money",
        r"\b(how much (money|did|does|do|will|would|is|was|are|were)\b.{0,40}\b(cost|pay|paid|spen[dt]|earn|"
        r"charge|worth|price|invest)|how much (\w+ )?money|what (price|amount of money|sum)|"
        r"what (does|do|did|will|would)\b.{0,40}\bcost|"
        r"wie viel (\w+ )?geld|was kostet|was (hat|haben|hatte|wird|würde|soll)\b.{0,40}\b(gekostet|kosten)|"
        r"welchen? betrag|"
        r"wie viel\b.{0,40}\b(kostet|kosten|kostete|verlangt|verdient|zahlt|bezahlt|gezahlt))",
    ),
    (
        "share",
        r"\b(what (percentage|share|proportion)|how many percent|wie viel prozent|wie viele prozent|"
        r"welchen? anteil)",
    ),
    ("age", r"\b(how old|at what age|wie alt|in welchem alter|mit wie vielen jahren)\b"),
    (
        "duration",
        r"\b(how long|for how many (years|months|weeks|days|hours)|wie lange?|seit wie vielen)\b",
    ),
    (
        "number",
        r"\b(how (many|much|old|far|high|big|large|often|fast)|what (number|amount)|"
        r"wie (viele?|viel|alt|weit|hoch|groß|oft|stark|schnell)|wieviele?)\b",
    ),
    (
        "date",
        rf"\b(when|what {_TIME_NOUNS}|(in|on) which {_TIME_NOUNS}|since when|wann|seit wann|"
        rf"(in |an |seit )?welche[mnrs]? {_TIME_NOUNS})\b",
    ),
    (
        "reason",
        r"\b(why|for what reason|what was the reason|warum|wieso|weshalb|weswegen|aus welche[mn] grund)\b",
    ),
    (
        "place",
        rf"\b(where|(in |from |to )?which {_PLACE_NOUNS}|wo|wohin|woher|(in |aus |nach )?welche[mnrs]? "
        rf"{_PLACE_NOUNS})\b",
    ),
    (
        "name",  # whose answer is a name: a person, a company, a court, a title
        r"\b(who|whom|whose|wer|wem|wen|wessen|what(\W+s| is| was) the (name|title)|"
        r"wie (heißt|hieß|heißen|lautet|nennt sich))\b",
    ),
    # "Which court ...?": no pattern tells what answers it, but a "where" later in it does not either
    ("which", r"\b(which|welche[mnrs]?)\b"),
)
# Kinds of answer a quote must state for the question to count as answered: quotes about the right deal that
# name no amount of money do not say what it cost, quotes about a person that give no age not how old they
# are. (Numbers, dates and names are in nearly every news sentence, so their absence says little.)
MUST_STATE = frozenset({"money", "age"})

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
_NUMBER = rf"(\d|\b({_NUMBER_WORDS})\b)"
_CURRENCIES = r"euro|dollar|franken|pfund|kronen|yen|yuan|rubel|rupien|€|\$|£|eur\b|usd\b|chf\b|gbp\b"
_HOLDS = {
    "number": re.compile(_NUMBER, re.IGNORECASE),
    "money": re.compile(
        rf"{_NUMBER}[\d.,\s]*(mio\.?|mrd\.?|millionen|milliarden|tausend)?\s*({_CURRENCIES})"
        r"|(€|\$|£)\s?\d",
        re.IGNORECASE,
    ),
    "share": re.compile(
        rf"{_NUMBER}[\d.,\s]*(prozent|%|percent)|\b(hälfte|drittel|viertel)\b", re.IGNORECASE
    ),
    "age": re.compile(
        r"\d[\d.,]*\s*(millionen |milliarden )?jahren?\b|\d-?jährige|\(\d{1,3}\)|"
        r"\d[\d.,]*\s*(million |billion )?years?\b|\d-year-old|\baged \d",
        re.IGNORECASE,
    ),
    "duration": re.compile(
        rf"{_NUMBER}[\d.,\s]*\w*(jahr|monat|woche|tag|stunde|minute|sekunde|year|month|week|day|hour)",
        re.IGNORECASE,
    ),
    "date": re.compile(
        rf"\b(1[5-9]\d\d|20\d\d)\b|\b\d{{1,2}}\.\s?({_MONTHS})|\b({_MONTHS}|{_WEEKDAYS})\b|"
        r"\b(gestern|heute|morgen|vorgestern|jahrhundert|jahrzehnt)",
        re.IGNORECASE,
    ),
    # Two capitalised words in a row, not at the start of the sentence: a full name or an organisation.
    "name": re.compile(r"(?<=[\w,;:] )[A-ZÄÖÜ][\w'’-]+ (?:(?:von|van|de|der) )?[A-ZÄÖÜ][\w'’-]+"),
    # A capitalised word after a preposition of place.
    "place": re.compile(r"\b(in|im|nach|aus|bei|vor|von|at|from|near) (der |dem |den )?[A-ZÄÖÜ]\w+"),
    "reason": re.compile(
        r"\b(weil|denn|wegen|aufgrund|grund|gründen|daher|deshalb|zurückzuführen|because|due to|reason)\b",
        re.IGNORECASE,
    ),
}


_YES_NO = re.compile(  # a question that starts with its verb: "Is Alpine entering IMSA?", "Plant Alpine …?"
    r"^\s*(is|are|was|were|do|does|did|will|would|can|could|has|have|had|should|ist|sind|war|waren|hat|"
    r"haben|hatte|hatten|wird|werden|wurde|wurden|kann|können|soll|sollen|muss|müssen|gibt|gab|plant|"
    r"planen|will|wollen|darf|bleibt|kommt|steigt)\b",
    re.IGNORECASE,
)


def answer_type(question: str) -> str | None:
    """The kind of answer `question` asks for: "number", "money", "share", "age", "duration", "date",
    "reason", "place", "name", "which", "yes-no" or None. The question word that stands first decides
    ("Which aid group runs the centre where ...?" does not ask for a place)."""
    matches = [(pattern.search(question), i, kind) for i, (kind, pattern) in enumerate(_QUESTION)]
    found = [(match.start(), i, kind) for match, i, kind in matches if match]
    if found:
        return min(found)[2]
    if _YES_NO.match(question) and not question.lower().startswith("was "):
        return "yes-no"
    return None


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
