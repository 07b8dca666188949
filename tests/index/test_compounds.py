"""German compounds split for BM25, with the real compound-split model."""

import time

from index.text.compounds import compound_parts
from index.text.lexical import passage_tokens, tokenize


def test_a_compound_is_split_into_its_parts_and_long_parts_again():
    assert compound_parts("landesarbeitsgericht") == ("landes", "arbeitsgericht", "arbeits", "gericht")
    assert compound_parts("zementfabrik") == ("zement", "fabrik")


def test_words_that_are_not_compounds_stay_whole():
    assert compound_parts("nachrichten") == ()  # "nach" + "richten" is not what it means
    assert compound_parts("gericht") == ()  # too short to split
    assert compound_parts("2015er-jahre") == ()


def test_a_hostile_endless_word_is_not_split():
    started = time.perf_counter()
    assert compound_parts("ab" * 50_000) == ()
    assert passage_tokens("Ein " + "x" * 1_000_000 + " Wort.", "de") == tokenize(
        "Ein " + "x" * 1_000_000 + " Wort.", "de"
    )
    assert time.perf_counter() - started < 5  # unbounded, the splitter would take hours on these


def test_a_german_passage_is_found_by_a_part_of_its_compounds():
    tokens = passage_tokens("Das Landesarbeitsgericht stoppte den Streik.", "de")
    assert set(tokenize("Gericht Arbeit", "de")) <= set(tokens)
    assert tokenize("Das Landesarbeitsgericht stoppte den Streik.", "de") == tokens[:3]


def test_english_passages_are_not_split():
    text = "The labour court stopped the strike of the Lufthansa pilots."
    assert passage_tokens(text, "en") == tokenize(text, "en")
