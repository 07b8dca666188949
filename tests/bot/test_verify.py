"""The verifier: a language model's sentence is shown only when the quotes it cites back every claim."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.answering.answers import Answer, Citation
from bot.answering.verify import (
    ModelReading,
    answer_problem,
    checked_answer,
    cited,
    sentences,
    translation_problem,
)

QUOTES = {
    1: "Bruno Famin, Vizepräsident bei Alpine Motorsport, verrät zwar, dass die französische Marke die IMSA "
    'weiterhin "im Hinterkopf" hat, allerdings "ohne konkretes Projekt" für die Zukunft.',
    2: '"Es gibt keinen wirklichen Plan, aber die Idee, in der IMSA zu fahren, ist da."',
    3: "Mutterkonzern Renault liebäugelt aber damit, die eigenen Autos ab 2027 auch über den großen Teich "
    "zu verkaufen.",
}
TRANSLATIONS = {3: "Parent company Renault is toying with selling its own cars across the pond from 2027."}


def problem(text: str) -> str:
    return answer_problem(text, QUOTES, TRANSLATIONS)


def test_a_grounded_answer_passes() -> None:
    assert problem("No: Alpine has no concrete plan for the IMSA [1][2].") == ""
    assert problem("Renault may sell its cars across the pond from 2027 [3].") == ""
    assert problem("Nein, laut Famin gibt es keinen wirklichen Plan für die IMSA [1, 2].") == ""


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Alpine will enter the IMSA in 2026 [1].", "the number 2026"),  # a year no cited quote has
        ("Alpine will enter the IMSA on 12 March [1][2].", "the number 12"),  # a date
        ("Alpine enters the IMSA with Porsche [1].", "'Porsche'"),  # a name
        ("Renault may sell cars in America from 2027 [3].", "'America'"),  # nor in the translation
        ("Renault sells cars from 2027 [1].", "the number 2027"),  # in a quote, but not the one cited
        ("Alpine has no plan for the IMSA [7].", "cites [7]"),  # three quotes shown
        ("Alpine has no plan for the IMSA.", "cites no quote"),
        ("Alpine has no plan [1]. It is only an idea.", "cites no quote"),  # one sentence of two
        ("", "no answer"),
    ],
)
def test_a_claim_the_cited_quotes_do_not_back_is_rejected(text: str, reason: str) -> None:
    assert reason in problem(text)


def test_numbers_stand_alone_and_read_either_decimal_mark() -> None:
    quotes = {1: "Der Wagen kostete 1,5 Millionen Euro im Jahr 2012."}
    assert answer_problem("It cost 1.5 million euros in 2012 [1].", quotes, {}) == ""
    assert "12" in answer_problem("It cost 12 million [1].", quotes, {})  # not the 12 of 2012


def test_sentences_keep_their_citations_and_citations_are_read_in_every_form() -> None:
    assert sentences("No plan [1]. Only an idea. [2] Really? [3]") == [
        "No plan [1].",
        "Only an idea. [2]",
        "Really? [3]",
    ]
    assert cited("A [1][2], B [3, 4] and C [ 5 ]") == [1, 2, 3, 4, 5]


def test_a_translation_with_a_number_its_quote_lacks_is_rejected() -> None:
    assert translation_problem(QUOTES[3], TRANSLATIONS[3], "en") == ""
    assert "2028" in translation_problem(QUOTES[3], TRANSLATIONS[3].replace("2027", "2028"), "en")
    assert translation_problem(QUOTES[3], " ", "en") == "empty"


def test_a_translation_that_is_not_in_the_questions_language_is_rejected() -> None:
    assert translation_problem(QUOTES[2], "Es gibt keinen Plan für die IMSA.", "en") == "not in en"


def answer_over(quotes: dict[int, str], language: str = "en") -> Answer:
    citations = tuple(
        Citation(n, q, f"a{n}", f"Title {n}", "MT", "", dt.date(2024, 10, 1), 0.5, "")
        for n, q in quotes.items()
    )
    return Answer("Is Alpine entering IMSA?", language, False, "Here is what the articles say:", citations)


def test_checked_answer_keeps_a_grounded_sentence_and_the_quotes_word_for_word() -> None:
    answer = answer_over(QUOTES)
    reading = ModelReading("No: Alpine has no concrete plan for the IMSA [1][2].", TRANSLATIONS, "stated")
    checked, dropped = checked_answer(answer, reading, "m")
    assert (checked.answer, checked.lead_from, checked.model, dropped) == (reading.answer, "model", "m", "")
    assert [c.quote for c in checked.citations] == list(QUOTES.values())
    assert [c.translation for c in checked.citations] == ["", "", TRANSLATIONS[3]]


def test_checked_answer_drops_an_ungrounded_sentence_and_keeps_the_usual_lead() -> None:
    answer = answer_over(QUOTES)
    checked, dropped = checked_answer(answer, ModelReading("Alpine joins in 2026 [1].", {}, "stated"), "m")
    assert checked.answer == answer.answer and checked.lead_from == "quotes"
    assert checked.model_outcome == "dropped" and "2026" in dropped
    assert checked.citations == answer.citations


def test_checked_answer_drops_a_translation_of_a_quote_in_the_questions_language() -> None:
    answer = answer_over({1: "Alpine has no concrete plan for the IMSA."})
    reading = ModelReading("No plan [1].", {1: "Alpine hat keinen Plan."}, "stated")
    checked, dropped = checked_answer(answer, reading, "m")
    assert checked.citations[0].translation == "" and "not asked for" in dropped


def test_a_not_stated_verdict_is_the_usual_abstention_with_the_quoted_articles() -> None:
    answer = answer_over(QUOTES)
    checked, _ = checked_answer(answer, ModelReading("", {}, "not stated"), "m")
    assert checked.abstained and checked.citations == () and checked.model_outcome == "not stated"
    assert checked.answer == "The articles don't say. The closest articles are:"
    assert [r.article_id for r in checked.closest] == ["a1", "a2", "a3"]
