"""Tell German from English by counting function words and umlauts: fast, good on one-line questions too."""

from __future__ import annotations

import re
from collections import Counter

# Function words that occur in only one of the two languages. Words both use ("in", "will", "was", "an",
# "am", "so", "also", "war", "man", "her", "new") are left out on purpose: they would vote for either side.
_GERMAN = frozenset(
    """
    der die den dem des das ein eine einen einem einer eines und oder aber nicht kein keine keinen auch
    sich ist sind wird werden wurde wurden hat haben hatte hätte wäre sein seine seinen ihr ihre ihren
    er sie es wir ich du uns mit für von vom zu zum zur im ins auf aus bei nach vor über unter um ab
    bis seit durch gegen ohne dass daß als wie wann warum wer wo wohin woher welche welcher welches
    wieso weshalb noch nur schon sehr doch dann denn wenn weil ob jetzt heute kann können soll sollen
    muss müssen darf gibt gab diese dieser dieses diesem diesen jedoch sowie bereits wieder mehr
    einmal etwa laut hier dort zwei drei
    """.split()  # noqa: SIM905 - a word list reads better as text
)
_ENGLISH = frozenset(
    """
    the a and of to is are were be been being has have had it its this that these those with for on
    at by from as or not but who whom whose what when where why how which does do did done can could
    would should shall may might must he she they we you his their our your there about into than
    after before out if then just only any some such very most other said says
    """.split()  # noqa: SIM905 - a word list reads better as text
)
_WORD = re.compile(r"\b[^\W\d_]+(?:['’][^\W\d_]+)?\b")  # letters only: "A424" is no word "a"
_UMLAUT = re.compile(r"[äöüß]")
_ENGLISH_SUFFIXES = ("'s", "’s", "n't", "n’t")
_SAMPLE_CHARS = 1_500  # the start of a long article decides; enough words, bounded time


def detect_language(text: str) -> str:
    """ "de" or "en" for `text` (an article or a question); "de" when the evidence is even or absent."""
    sample = text[:_SAMPLE_CHARS].lower()
    german = len(_UMLAUT.findall(sample))
    english = 0
    for word, count in Counter(_WORD.findall(sample)).items():
        if word.endswith(_ENGLISH_SUFFIXES) or word in _ENGLISH:
            english += count
        elif word in _GERMAN:
            german += count
    return "en" if english > german else "de"
