"""Chunking: sentence-aligned chunks that always fit the model's token budget and cover the article."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from index.documents import Article, Chunk
from index.text.chunking import ChunkingParams, chunk_article
from index.text.sentences import split_sentences
from tests.conftest import SEED_TEXT
from tests.fakes import FakeEmbedder

FAKE = FakeEmbedder()


def article(text: str) -> Article:
    return Article(id="a1", title="Titel", text=text)


def assert_guarantees(text: str, chunks: list[Chunk], count, max_tokens: int) -> None:
    """The five hard guarantees, plus: no whitespace at the ends, no chunk inside its predecessor."""
    assert [c.position for c in chunks] == list(range(len(chunks)))
    for chunk in chunks:
        assert chunk.article_id == "a1"
        assert chunk.text == text[chunk.start : chunk.end]
        assert chunk.text and chunk.text == chunk.text.strip()
        assert count([chunk.text])[0] <= max_tokens
    for previous, chunk in zip(chunks, chunks[1:], strict=False):
        assert previous.start < chunk.start and previous.end < chunk.end  # text order, progress
    covered = set()
    for chunk in chunks:
        covered.update(range(chunk.start, chunk.end))
    assert all(i in covered for i, c in enumerate(text) if not c.isspace())
    if not text.strip():
        assert chunks == []


def sentence_texts(text: str) -> list[str]:
    return [text[s:e] for s, e in split_sentences(text)]


def test_short_article_is_one_chunk() -> None:
    text = "  Alpine bleibt in der WEC. Die IMSA ist nur eine Idee.\n"
    chunks = chunk_article(article(text), FAKE.token_lengths, max_tokens=254)
    assert chunks == [Chunk("a1", 0, 2, 55, "Alpine bleibt in der WEC. Die IMSA ist nur eine Idee.")]


@pytest.mark.parametrize("text", ["", "   ", "\n\n\t \u00a0\u2028"])
def test_no_text_gives_no_chunks(text: str) -> None:
    calls = []

    def count(texts: Sequence[str]) -> list[int]:
        calls.append(list(texts))
        return FAKE.token_lengths(texts)

    assert chunk_article(article(text), count, max_tokens=10) == []
    assert [text for batch in calls for text in batch] == []  # and the tokenizer was given nothing to count


def test_chunks_hold_whole_sentences_and_share_one() -> None:
    text = " ".join(f"Satz {i} hat sechs Tokens." for i in range(20))  # 6 fake tokens each
    chunks = chunk_article(article(text), FAKE.token_lengths, max_tokens=30, overlap_sentences=1)
    sentences = sentence_texts(text)
    assert [len(sentence_texts(c.text)) for c in chunks] == [5, 5, 5, 5, 4]  # 5 x 6 = 30 fits exactly
    for previous, chunk in zip(chunks, chunks[1:], strict=False):
        inner = sentence_texts(chunk.text)
        assert all(s in sentences for s in inner)  # only whole sentences
        assert sentence_texts(previous.text)[-1] == inner[0]  # one sentence shared
    assert_guarantees(text, chunks, FAKE.token_lengths, 30)


@pytest.mark.parametrize("overlap", [0, 2])
def test_overlap_is_configurable(overlap: int) -> None:
    text = " ".join(f"Satz {i} hat sechs Tokens." for i in range(20))
    chunks = chunk_article(article(text), FAKE.token_lengths, max_tokens=30, overlap_sentences=overlap)
    for previous, chunk in zip(chunks, chunks[1:], strict=False):
        shared = set(sentence_texts(previous.text)) & set(sentence_texts(chunk.text))
        assert len(shared) == overlap
    assert_guarantees(text, chunks, FAKE.token_lengths, 30)


def test_overlap_never_makes_a_chunk_that_fits_inside_the_previous_one() -> None:
    # the second sentence is so long that overlap plus it would not fit: the overlap is dropped
    text = "Kurz hier. Lang " + " ".join(["lang"] * 27) + ". Ende."
    chunks = chunk_article(article(text), FAKE.token_lengths, max_tokens=30, overlap_sentences=3)
    assert [c.text for c in chunks] == sentence_texts(text)  # each alone: no overlap would fit
    assert_guarantees(text, chunks, FAKE.token_lengths, 30)


def test_target_tokens_makes_smaller_chunks_within_max() -> None:
    text = " ".join(f"Satz {i} hat sechs Tokens." for i in range(20))
    chunks = chunk_article(
        article(text), FAKE.token_lengths, max_tokens=60, overlap_sentences=0, target_tokens=12
    )
    assert [FAKE.token_lengths([c.text])[0] for c in chunks] == [12] * 10


def test_prefers_to_end_at_a_paragraph() -> None:
    first = "Erster Absatz hat hier sechs. Und noch einer hier."  # 6 + 5 tokens
    second = "Zweiter Absatz mit Satz eins. Satz zwei folgt jetzt. Satz drei folgt auch."
    text = f"{first}\n\n{second}"
    chunks = chunk_article(article(text), FAKE.token_lengths, max_tokens=20, overlap_sentences=0)
    assert chunks[0].text == first  # 11 tokens; filling up to 20 would cut the second paragraph


def test_does_not_end_a_chunk_after_a_heading() -> None:
    text = (
        "Ein Satz mit sieben Tokens hier drin.\n\nÜberschrift hier\n\nDer Absatz danach hat Text. Mehr Text."
    )
    chunks = chunk_article(article(text), FAKE.token_lengths, max_tokens=12, overlap_sentences=0)
    assert chunks[0].text == "Ein Satz mit sieben Tokens hier drin."
    assert chunks[1].text.startswith("Überschrift hier\n\nDer Absatz")


def test_long_sentence_is_split_at_word_boundaries() -> None:
    words = [f"Wort{i}" for i in range(500)]
    text = "Einleitung hier. " + " ".join(words) + ". Schluss."
    chunks = chunk_article(article(text), FAKE.token_lengths, max_tokens=50)
    assert len(chunks) >= 10
    for chunk in chunks:
        assert chunk.start == 0 or text[chunk.start - 1] == " "
        assert chunk.end == len(text) or text[chunk.end] in " ."
    assert_guarantees(text, chunks, FAKE.token_lengths, 50)


def char_count(texts: Sequence[str]) -> list[int]:
    """A tokenizer that makes a piece of every 3 characters, so one word can be over any budget."""
    return [sum(math.ceil(len(word) / 3) for word in text.split()) for text in texts]


def test_gigantic_word_is_split_at_characters() -> None:
    text = "Vorher. " + "x" * 1000 + " nachher."
    chunks = chunk_article(article(text), char_count, max_tokens=20)
    giant = [c for c in chunks if set(c.text) == {"x"}]
    assert len(giant) >= 1000 / 60 and sum(len(c.text) for c in giant) == 1000
    assert_guarantees(text, chunks, char_count, 20)


def test_a_wrong_estimate_is_caught_by_the_real_count() -> None:
    """A tokenizer that is not additive: the whole costs more than its sentences summed."""

    def superadditive(texts: Sequence[str]) -> list[int]:
        return [n + 2 * text.count(". ") for n, text in zip(FAKE.token_lengths(texts), texts, strict=True)]

    text = " ".join(f"Satz {i} hat sechs Tokens." for i in range(30))
    chunks = chunk_article(article(text), superadditive, max_tokens=30)
    assert len(chunks) > 6  # planning alone (sums of 6) would have given 6-token sentences x 5 per chunk
    assert_guarantees(text, chunks, superadditive, 30)


def test_token_counting_is_batched() -> None:
    calls: list[int] = []

    def count(texts: Sequence[str]) -> list[int]:
        calls.append(len(texts))
        return FAKE.token_lengths(texts)

    chunks = chunk_article(article(SEED_TEXT), count, max_tokens=60)
    assert calls == [len(split_sentences(SEED_TEXT)), len(chunks)]
    assert_guarantees(SEED_TEXT, chunks, FAKE.token_lengths, 60)


def test_budget_too_small_for_one_character_is_an_error() -> None:
    with pytest.raises(ValueError, match="max_tokens=1 is too small"):
        chunk_article(article("ab cd"), lambda texts: [2 * len(t) for t in texts], max_tokens=1)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_tokens": 0}, "max_tokens must be at least 1"),
        ({"max_tokens": 10, "overlap_sentences": -1}, "overlap_sentences must be 0 or more"),
        (
            {"max_tokens": 10, "target_tokens": 11},
            "PITWALL_CHUNK_TARGET_TOKENS. must be between 1 and the model's limit of 10 word pieces",
        ),
    ],
)
def test_params_are_validated(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ChunkingParams(**kwargs)
    with pytest.raises(ValueError, match=message):
        chunk_article(article("Text."), FAKE.token_lengths, **kwargs)


def test_params_round_trip_through_json() -> None:
    params = ChunkingParams(max_tokens=254, overlap_sentences=1, target_tokens=200)
    assert params.to_json() == {"max_tokens": 254, "overlap_sentences": 1, "target_tokens": 200}
    assert ChunkingParams.from_json(params.to_json()) == params


FRAGMENTS = [
    "Alpine fährt.",
    "z. B.",
    "am 3. Oktober",
    "„Wir wären glücklich“, sagt Famin.",
    "„Es ist nur eine Idee.“",
    '"Ja." Dann',
    "Dr. Marko",
    "Donaudampfschifffahrtsgesellschaft",
    "a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p",  # many fake tokens without a space
    "x" * 300,
    "Ünïcödé ßtraße 漢字 🏎️",
    "\n",
    "\n\n",
    "# Titel\n",
    "- Punkt\n",
    "Ja. Nein. Gut. Ok. Na.",
]

texts = st.one_of(
    st.text(max_size=300),
    st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=15)), max_size=60).map(" ".join),
    st.lists(st.sampled_from(FRAGMENTS), max_size=80).map("".join),
)


@settings(max_examples=300, deadline=None)
@given(text=texts, max_tokens=st.integers(1, 40), overlap=st.integers(0, 3), target=st.integers(0, 40))
def test_guarantees_hold_for_any_text(text: str, max_tokens: int, overlap: int, target: int) -> None:
    target_tokens = min(target, max_tokens) or None
    chunks = chunk_article(article(text), FAKE.token_lengths, max_tokens, overlap, target_tokens)
    assert_guarantees(text, chunks, FAKE.token_lengths, max_tokens)


@settings(max_examples=100, deadline=None)
@given(text=texts, max_tokens=st.integers(2, 30), overlap=st.integers(0, 3))
def test_guarantees_hold_for_a_tokenizer_that_cuts_words(text: str, max_tokens: int, overlap: int) -> None:
    chunks = chunk_article(article(text), char_count, max_tokens, overlap)
    assert_guarantees(text, chunks, char_count, max_tokens)


# --- with the real model -------------------------------------------------------------------------


# Each bundled model with the word pieces it reads: its limit, and what is left for a chunk (the limit less
# <s> </s> or [CLS] [SEP], and e5's "passage: " prompt).
REAL_MODELS = {"bundled:all-MiniLM-L6-v2": (256, 254), "bundled:multilingual-e5-small": (512, 508)}


@pytest.fixture(scope="module", params=list(REAL_MODELS))
def embedder(request):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_HUB_OFFLINE", "1")
        patch.setenv("TRANSFORMERS_OFFLINE", "1")
        from index.embed.embedding import SentenceTransformerEmbedder

        yield SentenceTransformerEmbedder(request.param)


def long_german_text() -> str:
    compounds = [
        "Langstreckenweltmeisterschaftsteilnehmer",
        "Rennwagenhinterradaufhängungskonstruktion",
        "Motorsportverbandsreglementänderungsvorschlag",
        "Kundenteamzusammenarbeitsvereinbarungsverhandlungen",
    ]
    giant_sentence = "Die " + ", ".join(compounds[i % 4] for i in range(400)) + " sind kompliziert."
    # WordPiece makes one [UNK] of a word over 100 characters, but punctuation still splits it into pieces
    giant_word = "https://www.motorsport-total.com/" + "-".join(["Formel1Rennwochenende"] * 150)
    seed = SEED_TEXT
    return "\n\n".join([seed, giant_sentence, seed, giant_word, seed])


@pytest.mark.integration
def test_real_tokenizer_never_truncates_a_chunk(embedder) -> None:
    model_limit, chunk_limit = REAL_MODELS[embedder.model_id]
    assert embedder.max_tokens == chunk_limit
    text = long_german_text()
    chunks = chunk_article(article(text), embedder.token_lengths, embedder.max_tokens, overlap_sentences=1)
    tokenizer, limit = embedder._model.tokenizer, embedder._model.max_seq_length
    lengths = [len(tokenizer(embedder.passage_prompt + chunk.text)["input_ids"]) for chunk in chunks]
    assert max(lengths) <= limit == model_limit
    assert max(lengths) > 200  # chunks are filled, not tiny
    assert_guarantees(text, chunks, embedder.token_lengths, embedder.max_tokens)
    giant = [c for c in chunks if re.fullmatch(r"[\w:/.-]+", c.text) and "Formel1Rennwochenende" in c.text]
    assert len(giant) >= 2  # the gigantic word had to be cut at characters
