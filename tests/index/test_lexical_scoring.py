"""The lexical index scores with numpy exactly as bm25s does, and answering never imports bm25s."""

import subprocess
import sys

import bm25s
import bm25s.stopwords
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from index.text import stopwords
from index.text.lexical import LexicalIndex, question_concepts, tokenize

WORDS = [f"w{i}" for i in range(30)]
passages = st.lists(st.lists(st.sampled_from(WORDS), min_size=1, max_size=12), min_size=1, max_size=20)


@settings(max_examples=40, deadline=None)
@given(passages=passages, query=st.lists(st.sampled_from([*WORDS, "unknown"]), max_size=6))
def test_scores_equal_bm25s_for_built_and_loaded_indexes(tmp_path_factory, passages, query):
    folder = tmp_path_factory.mktemp("bm25")
    built = LexicalIndex.build(passages)
    built.save(folder)
    reference = bm25s.BM25.load(str(folder), show_progress=False, verbosity=0)
    ids = reference.get_tokens_ids(query)
    expected = reference.get_scores_from_ids(ids) if ids else np.zeros(len(passages))

    for index in (
        built,
        LexicalIndex.load(folder, len(passages)),
        LexicalIndex.load(folder, len(passages), True),
    ):
        np.testing.assert_allclose(index.scores(query), expected, rtol=1e-5, atol=1e-6)


def test_a_query_word_scores_the_passages_that_hold_it():
    index = LexicalIndex.build(
        [tokenize("Alpine plant die IMSA", "de"), tokenize("Ferrari in Le Mans", "de")]
    )
    scores = index.scores(tokenize("IMSA", "de"))
    assert scores[0] > 0 and scores[1] == 0


def test_a_loaded_index_cannot_be_saved_over(tmp_path):
    LexicalIndex.build([["a"]]).save(tmp_path / "bm25")
    with pytest.raises(ValueError, match="built here"):
        LexicalIndex.load(tmp_path / "bm25", 1).save(tmp_path / "other")


def test_the_stopwords_are_bm25s_own():
    assert stopwords.GERMAN == bm25s.stopwords.STOPWORDS_GERMAN
    assert stopwords.ENGLISH == bm25s.stopwords.STOPWORDS_EN


def test_loading_and_scoring_import_neither_bm25s_nor_scipy(tmp_path):
    LexicalIndex.build([tokenize("Alpine plant die IMSA", "de")]).save(tmp_path / "bm25")
    code = (
        "import sys; from pathlib import Path; "
        "from index.text.lexical import LexicalIndex, question_concepts; "
        f"index = LexicalIndex.load(Path({str(tmp_path / 'bm25')!r}), 1); "
        "assert index.concept_scores(question_concepts('Is Alpine entering IMSA?'))[0] > 0; "
        "print(sorted({'bm25s', 'scipy'} & {name.split('.')[0] for name in sys.modules}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_passages_without_a_single_word_index_and_score_nothing(tmp_path):
    index = LexicalIndex.build([[], []])
    index.save(tmp_path / "bm25")
    for each in (index, LexicalIndex.load(tmp_path / "bm25", 2)):
        assert each.indexed == 2 and not each.scores(["alpine"]).any()
        assert each.coverage(question_concepts("Alpine IMSA")) == 0


def test_the_question_stopwords_are_bm25s_longer_english_list_but_won():
    assert set(stopwords.ENGLISH_MORE) == set(bm25s.stopwords.STOPWORDS_EN_PLUS) - set(stopwords.ENGLISH) - {
        "won"
    }
