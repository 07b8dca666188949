"""What BM25 can see of a question: `coverage` over the index and `matched_fraction` over one passage."""

import pytest

from index.lexical import LexicalIndex, matched_fraction, tokenize

ALPINE = "Alpine plant keinen Einstieg in die IMSA."
DAYTONA = "Die Rennen in Daytona sind lang."


@pytest.fixture(scope="module")
def index() -> LexicalIndex:
    return LexicalIndex.build([tokenize(ALPINE, "de"), tokenize(DAYTONA, "de")])


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Plant Alpine einen Einstieg?", 1.0),  # "einen" is a stopword: three content words, all known
        ("Plant Alpine einen Ausstieg?", 2 / 3),  # "Ausstieg" occurs nowhere
        ("Einstiegs Rennens", 1.0),  # other forms of known words: compared as stems
        ("Alpine Alpine Porsche", 1 / 2),  # each distinct word once: Alpine known, Porsche not
        ("IMSA Daytona", 1.0),  # words of different passages count alike
        ("Sauerteig Brot", 0.0),
        ("und die der", 0.0),  # no content words: nothing to see
        ("", 0.0),
    ],
)
def test_coverage_is_the_share_of_distinct_content_words_the_index_knows(index, question, expected):
    assert index.coverage(question) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Plant Alpine einen Einstieg?", 1.0),
        ("Plant Alpine einen Ausstieg?", 2 / 3),
        ("Einstiegs Alpines", 1.0),  # stems, not exact words
        ("Alpine Alpine Porsche", 2 / 3),  # every occurrence counts: Alpine twice
        ("IMSA Daytona", 1 / 2),  # only this passage's words: Daytona is in another one
        ("und die der", 0.0),
    ],
)
def test_matched_fraction_is_the_share_of_content_words_in_the_passage(question, expected):
    assert matched_fraction(question, ALPINE) == pytest.approx(expected)
