import pytest

from index.text.language import detect_language


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Is Alpine entering IMSA?", "en"),
        ("Plant Alpine einen Einstieg in die IMSA?", "de"),
        ("Ab wann will Renault in den USA verkaufen?", "de"),
        ("Who runs Alpine's WEC entry?", "en"),
        ("Who runs Alpine’s WEC entry?", "en"),  # typographic apostrophe
        ("What is the A424?", "en"),
        ("Was ist der A424?", "de"),
        ("Wer fährt?", "de"),
        ("When?", "en"),
        ("Wann?", "de"),
        ("Why did Famin say that?", "en"),
        ("Warum sagt Famin das?", "de"),
        ("Who won at the Nürburgring?", "en"),  # an umlaut in a name does not outvote English words
        ("Größte Überraschung", "de"),  # umlauts alone
        ("Isn't Alpine in the WEC?", "en"),
    ],
)
def test_questions(question: str, expected: str) -> None:
    assert detect_language(question) == expected


@pytest.mark.parametrize("text", ["", "   ", "Alpine IMSA", "A424 LMDh 2027", "Famin"])
def test_no_evidence_or_a_tie_is_german(text: str) -> None:
    assert detect_language(text) == "de"


def test_words_shared_by_both_languages_do_not_decide() -> None:
    # "will", "in", "was" are German and English words; "Renault will in" must not read as English.
    assert detect_language("Renault will in 2027") == "de"
    assert detect_language("Alpine will race in the USA") == "en"


def test_digits_glued_to_letters_are_not_words() -> None:
    # "A424" must not count as the English article "a".
    assert detect_language("Der A424") == "de"
    assert detect_language("A424 LMDh") == "de"


def test_articles() -> None:
    german = (
        "Derzeit ist Alpine mit dem A424 LMDh ausschließlich in der Langstrecken-WM (WEC) unterwegs - "
        "und das wird vorerst auch so bleiben! Bruno Famin verrät zwar, dass die französische Marke "
        'die IMSA weiterhin "im Hinterkopf" hat.'
    )
    english = (
        "Alpine is currently racing the A424 LMDh only in the World Endurance Championship, and that "
        "will not change for now. Bruno Famin said the French brand still has IMSA in mind."
    )
    assert detect_language(german) == "de"
    assert detect_language(english) == "en"


def test_long_text_is_decided_by_its_start_and_stays_fast() -> None:
    text = "Der Fahrer ist schnell und das Team ist auch schnell. " * 20_000  # about 1 MB
    assert detect_language(text) == "de"
    assert detect_language("The driver is fast and the team is fast too. " * 100 + text) == "en"
