"""What BM25 can see of a question: its concepts, their `coverage` over the index, structured BM25 scores,
IDF, and whether a passage contains a concept (compounds included)."""

import numpy as np
import pytest

from index.text.lexical import (
    Concept,
    LexicalIndex,
    concept_in,
    question_concepts,
    question_words,
    text_stems,
    tokenize,
)

ALPINE = "Alpine plant keinen Einstieg in die IMSA."
DAYTONA = "Die Rennen in Daytona sind lang."
GERICHT = "Das Landgericht Wien verurteilte den Fahrer. Die Rennen gingen weiter."


@pytest.fixture(scope="module")
def index() -> LexicalIndex:
    return LexicalIndex.build([tokenize(text, "de") for text in (ALPINE, DAYTONA, GERICHT)])


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Plant Alpine einen Einstieg?", 1.0),  # "einen" is a stopword: three content words, all known
        ("Plant Alpine einen Ausstieg?", 2 / 3),  # "Ausstieg" occurs nowhere
        ("Einstiegs Rennens", 1.0),  # other forms of known words: compared as stems
        ("Alpine Alpine Porsche", 1 / 2),  # each distinct word once: Alpine known, Porsche not
        ("IMSA Daytona", 1.0),  # words of different passages count alike
        ("Wann und wo fährt Porsche?", 0.0),  # question words are no evidence: only "fährt", "porsche"
        ("und die der", 0.0),  # no content words: nothing to see
        ("", 0.0),
    ],
)
def test_coverage_is_the_share_of_concepts_the_index_knows(index, question, expected):
    assert index.coverage(question_concepts(question)) == pytest.approx(expected)


def test_question_words_are_not_content():
    assert question_words("Wann und wie viele Rennen fährt Alpine?") == ["rennen", "fährt", "alpine"]
    assert question_words("When did who win how many races?") == ["win", "races"]


def test_translations_of_one_word_score_as_one_word(index):
    """A structured query: a concept scores its best stem, never the sum of its alternatives."""
    rennen = index.concept_scores([Concept("rennen", ("renn",))])
    both = index.concept_scores([Concept("race", ("renn", "daytona"))])
    daytona = index.concept_scores([Concept("daytona", ("daytona",))])
    assert np.allclose(both, np.maximum(rennen, daytona))
    assert both[1] < rennen[1] + daytona[1]  # the passage with both words is not counted twice
    assert index.concept_scores([Concept("porsche", ("porsch",))]).sum() == 0.0


def test_a_rare_stem_weighs_more_than_a_common_one(index):
    assert index.idf("imsa") > index.idf("renn") > 0.0  # IMSA in one passage, Rennen in two
    assert index.idf("porsch") == 0.0


def test_a_translated_word_keeps_only_translations_the_index_knows(index):
    translate = {"race": ["Rennen", "Wettlauf"], "court": ["Gericht", "Hof"]}.get
    concepts = question_concepts(
        "Which court stopped the race?", lambda w: translate(w, []), index.known_stems
    )
    assert [c.word for c in concepts] == ["court", "stopped", "race"]
    assert "renn" in concepts[2].stems and "wettlauf" not in concepts[2].stems


@pytest.mark.parametrize(
    ("stems", "text", "found"),
    [
        (("gericht",), GERICHT, "gericht"),  # the head of "Landgericht"
        (("fahrer",), GERICHT, "fahrer"),  # the word itself
        (("land",), GERICHT, None),  # too short to stand for a compound part
        (("porsch", "renn"), GERICHT, "renn"),  # any alternative
        (("2024",), "Seit 120240 Jahren", None),  # numbers only as themselves
    ],
)
def test_a_concept_is_found_in_a_text_by_a_stem_or_as_a_compound_part(stems, text, found):
    assert concept_in(Concept("word", stems), text_stems(text)) == found
