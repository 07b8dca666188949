"""The dictd/dictzip reader and English-to-German concepts, on a small dictionary written here in the same
format as the Debian FreeDict packages, and once on the installed dictionary itself."""

import struct
import zlib

import pytest

from index.text.lexical import question_concepts
from index.text.translation import Dictionary, english_to_german

ENTRIES = {  # headword -> senses (each a dictd entry: headword line, then the translations)
    "court": ["court /kˈɔːt/\nGericht <neut>, Gerichtshof <masc> [jur.]\n", "court /kˈɔːt/\nHof <masc>\n"],
    "race": [
        "race /ɹˈeɪs/\nHektik <fem>\n",
        "race /ɹˈeɪs/\n [fig.] Wettrennen <neut>, Rennen <neut> [ugs.]\n",
        'race /ɹˈeɪs/\nWettfahrt <fem>, Rennen <neut>\n      "boat race"  - Bootsrennen\n',
    ],
    "vienna": ["Vienna /viˈɛnə/\nWien\n"],
}
CHUNK = 64  # tiny chunks, so that entries cross chunk borders


def _b64(number: int) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    digits = ""
    while True:
        digits = alphabet[number % 64] + digits
        number //= 64
        if not number:
            return digits


def write_dictionary(folder, entries=ENTRIES, name="freedict-eng-deu"):
    """A dictd index and a dictzip file (gzip whose extra field lists independently inflatable chunks)."""
    body, lines = b"", []
    for headword in sorted(entries):
        for sense in entries[headword]:
            data = sense.encode()
            lines.append(f"{headword}\t{_b64(len(body))}\t{_b64(len(data))}\n")
            body += data
    compressed, sizes = b"", []
    for start in range(0, len(body), CHUNK):
        packer = zlib.compressobj(9, zlib.DEFLATED, -15)
        part = packer.compress(body[start : start + CHUNK]) + packer.flush(zlib.Z_FULL_FLUSH)
        sizes.append(len(part))
        compressed += part
    field = struct.pack("<HHH", 1, CHUNK, len(sizes)) + struct.pack(f"<{len(sizes)}H", *sizes)
    extra = b"RA" + struct.pack("<H", len(field)) + field
    header = b"\x1f\x8b\x08\x04" + b"\0" * 4 + b"\x02\x03" + struct.pack("<H", len(extra)) + extra
    (folder / f"{name}.dict.dz").write_bytes(header + compressed)
    (folder / f"{name}.index").write_text("".join(lines), encoding="utf-8")
    return folder


def test_translations_of_every_sense_those_of_most_senses_first(tmp_path):
    dictionary = Dictionary.find(write_dictionary(tmp_path))
    assert dictionary.translate("race")[0] == "Rennen"  # in two senses; "Hektik" in one
    assert set(dictionary.translate("race")) == {"Rennen", "Wettrennen", "Wettfahrt", "Hektik"}
    assert dictionary.translate("court") == ("Gericht", "Gerichtshof", "Hof")  # labels and genders dropped
    assert dictionary.translate("Vienna") == ("Wien",)


def test_inflected_words_are_looked_up_by_their_base_form(tmp_path):
    dictionary = Dictionary.find(write_dictionary(tmp_path))
    assert dictionary.translate("courts") == dictionary.translate("court")
    assert dictionary.translate("races") == dictionary.translate("race")
    assert dictionary.translate("zebra") == ()
    assert dictionary.translate("aardvark") == ()  # before the first headword


def test_without_the_dictionary_there_is_none_and_a_warning(tmp_path, caplog):
    assert Dictionary.find(tmp_path) is None
    assert "dict-freedict-eng-deu" in caplog.text


def test_a_file_that_is_not_dictzip_is_refused(tmp_path):
    write_dictionary(tmp_path)
    (tmp_path / "freedict-eng-deu.dict.dz").write_bytes(zlib.compress(b"plain"))
    with pytest.raises(ValueError, match="not a dictzip file"):
        Dictionary.find(tmp_path)


def test_an_english_word_stands_for_its_known_german_translations_as_one_concept(tmp_path):
    translate = Dictionary.find(write_dictionary(tmp_path)).translate
    known = {"gericht", "renn", "hof"}.intersection
    concepts = question_concepts("Which court stopped the race in Vienna?", translate, known=known)
    assert [c.word for c in concepts] == ["court", "stopped", "race", "vienna"]  # "which", "in" dropped
    court, race = concepts[0], concepts[2]
    assert {"gericht", "hof"} <= set(court.stems) and "gerichtshof" not in court.stems  # unknown: left out
    assert "renn" in race.stems and "court" in court.stems  # the English word itself stays
    numbers = question_concepts("How many points in 2024?", translate, known=known)
    assert [c.stems for c in numbers if c.word == "2024"] == [("2024",)]


def test_the_installed_dictionary_translates_news_words():
    translate = english_to_german()
    assert translate is not None, "make setup installs dict-freedict-eng-deu"
    assert "Gericht" in translate("court")
    assert "Rennen" in translate("race")
    assert "Wien" in translate("Vienna")
    assert "Präsident" in translate("president")
