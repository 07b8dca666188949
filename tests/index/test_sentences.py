"""Sentence and paragraph splitting: German and English news text, abbreviations, quotes, headings."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from index.text.sentences import QUOTE_UNIT_CHARS, quote_units, split_paragraphs, split_sentences
from tests.conftest import SEED_TEXT
from tests.timing import growth


def sentences(text: str) -> list[str]:
    return [text[start:end] for start, end in split_sentences(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # plain German and English
        (
            "Alpine startet in der WEC. Die IMSA bleibt eine Idee.",
            ["Alpine startet in der WEC.", "Die IMSA bleibt eine Idee."],
        ),
        (
            "Is Alpine entering IMSA? Not yet! Maybe in 2027.",
            ["Is Alpine entering IMSA?", "Not yet!", "Maybe in 2027."],
        ),
        ("Er wartet … Dann kommt der Regen.", ["Er wartet …", "Dann kommt der Regen."]),
        ("Er wartet... 2025 kommt er.", ["Er wartet...", "2025 kommt er."]),
        # no end before lower case
        ("Das Auto ist schnell. und das Team auch.", ["Das Auto ist schnell. und das Team auch."]),
        # German abbreviations, spaced and unspaced
        (
            "Marken wie z. B. Alpine fahren mit. Das ist neu.",
            ["Marken wie z. B. Alpine fahren mit.", "Das ist neu."],
        ),
        (
            "Marken wie z.B. Alpine fahren mit. Das ist neu.",
            ["Marken wie z.B. Alpine fahren mit.", "Das ist neu."],
        ),
        ("Das heißt d. h. Renault entscheidet. Gut.", ["Das heißt d. h. Renault entscheidet.", "Gut."]),
        ("Teams, u. a. Porsche und BMW, fahren. Gut.", ["Teams, u. a. Porsche und BMW, fahren.", "Gut."]),
        ("Der Sieger bzw. Zweite jubelt. Gut.", ["Der Sieger bzw. Zweite jubelt.", "Gut."]),
        ("Es kamen ca. 300 Fans. Gut.", ["Es kamen ca. 300 Fans.", "Gut."]),
        (
            "Laut Dr. Helmut Marko und Prof. Müller geht es. Gut.",
            ["Laut Dr. Helmut Marko und Prof. Müller geht es.", "Gut."],
        ),
        (
            "Startnummer Nr. 36 gewinnt in St. Petersburg. Gut.",
            ["Startnummer Nr. 36 gewinnt in St. Petersburg.", "Gut."],
        ),
        ("Mr. Smith and Mrs. Jones met. Fine.", ["Mr. Smith and Mrs. Jones met.", "Fine."]),
        ("Hamilton vs. Verstappen ist das Duell. Gut.", ["Hamilton vs. Verstappen ist das Duell.", "Gut."]),
        ("Laut Jones et al. 1998 stieg sie. Gut.", ["Laut Jones et al. 1998 stieg sie.", "Gut."]),
        # etc. ends a sentence only before an upper-case word
        ("Reifen, Bremsen etc. sind teuer. Gut.", ["Reifen, Bremsen etc. sind teuer.", "Gut."]),
        (
            "Wir brauchen Reifen, Bremsen etc. Dann fahren wir.",
            ["Wir brauchen Reifen, Bremsen etc.", "Dann fahren wir."],
        ),
        # ordinary words that look like abbreviations
        ("He said no. Then he left.", ["He said no.", "Then he left."]),
        ("Das ist, was er mag. Dann fährt er.", ["Das ist, was er mag.", "Dann fährt er."]),
        # months
        (
            "Am 12. Jan. 2025 und im Feb. Rennen war es kalt. Gut.",
            ["Am 12. Jan. 2025 und im Feb. Rennen war es kalt.", "Gut."],
        ),
        ("Bis Okt. Ende kam nichts. Gut.", ["Bis Okt. Ende kam nichts.", "Gut."]),
        # initials
        ("J. R. R. Tolkien schrieb Bücher. Gut.", ["J. R. R. Tolkien schrieb Bücher.", "Gut."]),
        ("Michael J. Fox fuhr mit. Gut.", ["Michael J. Fox fuhr mit.", "Gut."]),
        # ordinal numbers
        ("Am 3. Oktober fährt er. Gut.", ["Am 3. Oktober fährt er.", "Gut."]),
        ("Er holte den 2. Platz in der 12. Runde. Gut.", ["Er holte den 2. Platz in der 12. Runde.", "Gut."]),
        ("Er war der 2. beste Fahrer. Gut.", ["Er war der 2. beste Fahrer.", "Gut."]),
        ("Das Rennen am 3. 10. 2024 fiel aus. Gut.", ["Das Rennen am 3. 10. 2024 fiel aus.", "Gut."]),
        # a number that does end a sentence
        ("Er wurde in Runde 12. Der Brite gewann.", ["Er wurde in Runde 12.", "Der Brite gewann."]),
        ("Der Einstieg kommt 2027. Renault plant.", ["Der Einstieg kommt 2027.", "Renault plant."]),
        ("It finished 3:2. Then we left.", ["It finished 3:2.", "Then we left."]),
    ],
)
def test_sentence_ends(text: str, expected: list[str]) -> None:
    assert sentences(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("„Wir wären glücklich“, sagt Famin. Er lacht.", ["„Wir wären glücklich“, sagt Famin.", "Er lacht."]),
        ("„Es ist nur eine Idee.“ Dann ging er.", ["„Es ist nur eine Idee.“", "Dann ging er."]),
        ('"Es ist nur eine Idee." Dann ging er.', ['"Es ist nur eine Idee."', "Dann ging er."]),
        ("„Warum?“, fragt er. Gut.", ["„Warum?“, fragt er.", "Gut."]),
        ("„Warum?“ fragt er. Gut.", ["„Warum?“ fragt er.", "Gut."]),
        # a short quotation whose sentence goes on after the closing mark stays whole
        (
            "Er sagte: „Wir sind bereit. Die Saison kann kommen“, und lachte. Dann fuhr er.",
            ["Er sagte: „Wir sind bereit. Die Saison kann kommen“, und lachte.", "Dann fuhr er."],
        ),
        # a new sentence opens with a quote or bracket
        ("Er sagt. „Es geht.“ (Foto: Alpine) Gut.", ["Er sagt.", "„Es geht.“", "(Foto: Alpine) Gut."]),
        ("Er fuhr (und gewann.) Dann ging er.", ["Er fuhr (und gewann.)", "Dann ging er."]),
    ],
)
def test_quotes(text: str, expected: list[str]) -> None:
    assert sentences(text) == expected


def test_seed_article_sentences() -> None:
    got = sentences(SEED_TEXT)
    assert got[0].startswith("Derzeit ist Alpine") and got[0].endswith("so bleiben!")
    assert got[1].startswith("Bruno Famin") and got[1].endswith("für die Zukunft.")
    # quote plus attribution and the abbreviation-free website names stay together
    assert any(s.startswith('"Wir wären glücklich') and s.endswith("im Motorsport Network.") for s in got)
    assert 'Alpine hat "keinen wirklichen Plan"' in got  # a heading is a sentence of its own
    assert got[-2:] == ['"Wie gesagt, es ist noch kein Projekt.', 'Es ist nur eine Idee."']


def test_paragraphs_and_headings() -> None:
    text = (
        "# Alpine und die IMSA\n"
        'Alpine hat "keinen wirklichen Plan"\n'
        "Derzeit fährt Alpine nur in der WEC. Das bleibt so.\n\n"
        "Die Gründe:\n- kein Markt in den USA\n- kein Kundenteam\n\n"
        "Dies ist hart umbrochener Fließtext aus einer alten Mail, der über mehrere\n"
        "Zeilen geht und erst hier am Ende der dritten Zeile mit einem Punkt\n"
        "aufhört."
    )
    paragraphs = [[text[s:e] for s, e in p.sentences] for p in split_paragraphs(text)]
    headings = [p.heading for p in split_paragraphs(text)]
    assert paragraphs == [
        ["# Alpine und die IMSA"],
        ['Alpine hat "keinen wirklichen Plan"'],
        ["Derzeit fährt Alpine nur in der WEC.", "Das bleibt so."],
        ["Die Gründe:"],
        ["- kein Markt in den USA"],
        ["- kein Kundenteam"],
        [text[text.index("Dies ist") :]],  # hard-wrapped prose: single newlines are just spaces
    ]
    assert headings == [True, True, False, False, False, False, False]


def test_blank_line_always_ends_a_sentence() -> None:
    assert sentences("Der 2.\n\nPlatz geht an Alpine") == ["Der 2.", "Platz geht an Alpine"]
    assert sentences("ohne Punkt\n  \t\nund weiter") == ["ohne Punkt", "und weiter"]


def test_empty_and_whitespace() -> None:
    assert split_sentences("") == []
    assert split_sentences(" \n\n\t ") == []
    assert split_sentences("  Ein Satz.  ") == [(2, 11)]


FRAGMENTS = [
    "z. B.",
    "Dr.",
    "3.",
    "Oktober",
    "„Gut.“",
    '"Ja."',
    "…",
    "?",
    "!",
    "etc.",
    "Ä",
    "ß",
    "(",
    ")",
    "#",
    "- ",
    "1)",
]


@given(
    st.lists(
        st.one_of(st.text(max_size=12), st.sampled_from(FRAGMENTS)),
        max_size=40,
    ).flatmap(lambda parts: st.just(" ".join(parts)))
    | st.text(alphabet=st.sampled_from(list('ab .!?\n„“"«»()3Z\t\u00a0\u2028')), max_size=200)
)
def test_sentences_cover_text_in_order(text: str) -> None:
    spans = split_sentences(text)
    previous_end = 0
    covered = set()
    for start, end in spans:
        assert previous_end <= start < end <= len(text)
        assert not text[start].isspace() and not text[end - 1].isspace()
        assert text[previous_end:start].strip() == ""  # only whitespace between sentences
        covered.update(range(start, end))
        previous_end = end
    assert text[previous_end:].strip() == ""
    assert all(i in covered for i, c in enumerate(text) if not c.isspace())


def test_splitting_grows_linearly_with_quote_heavy_text() -> None:
    """Each sentence end once looked back to the start of its paragraph and through every quotation in
    it: a 1.2 MB paragraph of this took minutes. Four times the text takes about four times as long."""
    paragraph = '"Gut. Wir kommen" sagt Er. Dr. Krause kam am 3. Oktober. „Ja. Nein“, sagt sie. '
    assert growth(lambda n: split_sentences(paragraph * n), 700) < 8  # quadratic: about 16


def test_every_part_of_a_long_sentence_is_a_quote_unit() -> None:
    # XQuAD: "... Rippenquallen mit ihren riesigen Mündern mit großen, steifen Zilien": the answer stood past
    # the first 320 characters, which were all a quote unit held of the sentence
    clause = "die Kammerquallen fressen mit ihren riesigen Mündern kleine Krebse und andere Quallen"
    sentence = f"Im offenen Meer, {', '.join([clause] * 8)}, mit großen, steifen Zilien."
    text = f"Kurz davor. {sentence} Danach."
    assert len(sentence) > 2 * QUOTE_UNIT_CHARS
    units = quote_units(text)
    pieces = [text[start:end] for start, end in units]
    assert pieces[0] == "Kurz davor." and pieces[-1] == "Danach."
    assert pieces[-2].endswith("mit großen, steifen Zilien.")
    assert " ".join(pieces[1:-1]) == sentence  # the pieces are the sentence, nothing lost
    assert all(len(piece) <= QUOTE_UNIT_CHARS for piece in pieces)
    assert all(piece.endswith(",") for piece in pieces[1:-2])  # cut after a comma where one falls late


@given(st.text(alphabet=st.sampled_from(list("ab  ,;:.")), min_size=41, max_size=600))
def test_quote_units_cover_every_sentence_in_pieces(text: str) -> None:
    units = quote_units(text, max_chars=40)
    assert all(0 < end - start <= 40 for start, end in units)
    assert not any(text[start].isspace() or text[end - 1].isspace() for start, end in units)
    covered = {i for start, end in units for i in range(start, end)}
    for start, end in split_sentences(text):
        assert all(i in covered for i in range(start, end) if not text[i].isspace())
