"""The Latin subset of multilingual-e5-small's tokenizer gives the full tokenizer's ids and offsets."""

from __future__ import annotations

from pathlib import Path

import pytest
from tokenizers import Tokenizer

from index.embed.embedding import DEFAULT_MODEL, resolve_model_path
from index.embed.latin_tokenizer import LatinFirstTokenizer

TEXTS = [
    "query: Wie reagierte die Regierung auf die Kritik?",
    "passage: Der Präsident der Türkei, Recep Tayyip Erdoğan, sagte am Dienstag: „Nein“ – 3,5 Mio. € (+5 %).",
    "Straße, STRASSE, café, cafe\u0301, naïve, Ångström; ½ ² ﬁ; tabs\tand  double  spaces\nnew line",
    "URLs https://www.example.at/a?b=1&c=2 and mail@example.de, <s> <mask> </s> literal",
]
NON_LATIN = ["Καλημέρα und Привет", "東京 🙂", "GROẞE"]


@pytest.fixture(scope="module")
def tokenizers(tmp_path_factory) -> tuple[Path, Path, Tokenizer]:
    path = Path(resolve_model_path(DEFAULT_MODEL)) / "tokenizer.json"
    return path, tmp_path_factory.mktemp("latin"), Tokenizer.from_file(str(path))


@pytest.mark.integration
@pytest.mark.parametrize("specials", [True, False])
def test_the_subset_gives_the_full_tokenizers_encoding(tokenizers, specials):
    path, cache, full = tokenizers
    quick = LatinFirstTokenizer(path, cache)
    encodings = quick.encode_batch(TEXTS, add_special_tokens=specials)
    assert quick._full is None  # the subset answered
    for text, encoding in zip(TEXTS, encodings, strict=True):
        expected = full.encode(text, add_special_tokens=specials)
        assert encoding.ids == expected.ids, text
        assert encoding.offsets == expected.offsets, text
        assert encoding.special_tokens_mask == expected.special_tokens_mask, text


@pytest.mark.integration
@pytest.mark.parametrize("text", NON_LATIN)
def test_other_scripts_go_to_the_full_tokenizer(tokenizers, text):
    path, cache, full = tokenizers
    quick = LatinFirstTokenizer(path, cache)
    assert quick.encode(text).ids == full.encode(text).ids
    assert quick._full is not None
