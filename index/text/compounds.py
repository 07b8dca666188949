"""German compound words split into their parts for BM25: "Landgericht" is indexed as "landgericht", "land"
and "gericht", so a question's "Gericht" (or an English "court", translated) finds the passage.

The splitter is compound-split's (character n-gram probabilities of German words); it takes seconds and a few
hundred MB to load, so it is loaded on first use, and only building an index splits words: a question's words
match the parts as they are.
"""

from __future__ import annotations

from functools import cache, lru_cache

MIN_COMPOUND_CHARS = 8  # shorter words are not split
MAX_COMPOUND_CHARS = 64  # nor longer ones: the splitter's time grows with the square of a word's length
MIN_SPLIT_SCORE = 0.3  # compound-split's confidence (-1..1) that a split is real ("Nachrichten": 0.18, no)
MIN_PART_CHARS = 3


@cache
def _splitter():
    from compound_split import char_split

    return char_split.split_compound


@lru_cache(maxsize=500_000)
def compound_parts(word: str) -> tuple[str, ...]:
    """The parts of a German compound, lower-cased, the parts of long parts too ("landesarbeitsgericht":
    "landes", "arbeitsgericht", "arbeits", "gericht"); () for a word that is not one."""
    if not MIN_COMPOUND_CHARS <= len(word) <= MAX_COMPOUND_CHARS or not word.isalpha():
        return ()
    score, first, last = _splitter()(word)[0]
    if score < MIN_SPLIT_SCORE or min(len(first), len(last)) < MIN_PART_CHARS:
        return ()
    first, last = first.lower(), last.lower()
    return (first, *compound_parts(first), last, *compound_parts(last))
