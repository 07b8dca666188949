"""The SQuAD reader, the retrieval metrics and the abstention split of `pitwall eval`."""

import json
import math

import pytest

from bot.evaluation.retrieval import (
    abstention_shares,
    balanced_threshold,
    evaluate,
    evaluate_abstention,
    half_split,
    metrics,
    read_squad,
)
from bot.settings import MIN_EVIDENCE, Settings
from index.store.generations import load_index
from tests.fakes import FakeEmbedder


def _squad(path, articles):
    data = {
        "data": [
            {
                "title": title,
                "paragraphs": [
                    {"context": context, "qas": [{"id": qid, "question": q} for qid, q in qas]}
                    for context, qas in paragraphs
                ],
            }
            for title, paragraphs in articles
        ]
    }
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


@pytest.fixture
def squad_files(tmp_path):
    de = _squad(
        tmp_path / "de.json",
        [
            ("Alpine", [("Alpine fährt in Le Mans.", [("q1", "Wo fährt Alpine?")]), ("Zweiter Absatz.", [])]),
            ("Renault", [("Renault verkauft in den USA.", [("q2", "Wo verkauft Renault?")])]),
        ],
    )
    en = _squad(
        tmp_path / "en.json",
        [("Alpine", [("-", [("q1", "Where does Alpine race?")])]), ("R", [("-", [("q2", "Where?")])])],
    )
    return de, en


def test_every_paragraph_is_a_document_and_questions_point_to_theirs(squad_files):
    docs, questions = read_squad(squad_files[0])
    assert docs == {
        "Alpine#0": ("Alpine", "Alpine fährt in Le Mans."),
        "Alpine#1": ("Alpine", "Zweiter Absatz."),
        "Renault#0": ("Renault", "Renault verkauft in den USA."),
    }
    assert [(q.id, q.gold) for q in questions] == [("q1", "Alpine#0"), ("q2", "Renault#0")]


def test_questions_from_another_file_are_joined_on_id(squad_files):
    _, questions = read_squad(*squad_files)
    assert [(q.text, q.gold) for q in questions] == [
        ("Where does Alpine race?", "Alpine#0"),
        ("Where?", "Renault#0"),
    ]


def test_a_question_without_a_twin_is_an_error(squad_files, tmp_path):
    lonely = _squad(tmp_path / "en.json", [("Alpine", [("-", [("q1", "Where?")])])])
    with pytest.raises(ValueError, match="no twin"):
        read_squad(squad_files[0], lonely)


def test_metrics_on_a_hand_computed_case():
    ranked = [["a", "b"], ["x", "y", "c"], ["p"] * 10 + ["d"], []]
    gold = ["a", "c", "d", "e"]  # ranks 1, 3, beyond 10, missing
    result = metrics(ranked, gold)
    assert result["r1"] == 0.25
    assert result["r5"] == 0.5
    assert result["r10"] == 0.5
    assert result["mrr10"] == round((1 + 1 / 3) / 4, 4)
    assert result["ndcg10"] == round((1 + 1 / math.log2(4)) / 4, 4)


def test_metrics_without_questions_are_zero():
    assert metrics([], []) == dict.fromkeys(("r1", "r5", "r10", "ndcg10", "mrr10"), 0.0)


def test_half_split_keeps_every_paragraph_of_the_first_half_of_the_articles():
    docs = {f"{t}#{n}": (t, f"{t} {n}") for t in ("A", "B", "C", "D") for n in range(2)}
    assert sorted(half_split(docs)) == ["A#0", "A#1", "B#0", "B#1"]


def test_abstention_shares_count_each_side_against_the_threshold():
    evidence = [0.9, 0.5, 0.1, 0.6, 0.2, 0.1]
    in_index = [True, True, True, False, False, False]
    shares = abstention_shares(evidence, in_index, threshold=0.5)
    assert shares == {
        "threshold": 0.5,
        "answered_in_index": round(2 / 3, 4),  # 0.5 itself is answered
        "abstained_not_in_index": round(2 / 3, 4),
        "questions_in": 3,
        "questions_out": 3,
    }


def test_balanced_threshold_separates_separable_evidence():
    evidence = [0.8, 0.7, 0.3, 0.2]
    in_index = [True, True, False, False]
    threshold = balanced_threshold(evidence, in_index)
    assert abstention_shares(evidence, in_index, threshold)["answered_in_index"] == 1.0
    assert abstention_shares(evidence, in_index, threshold)["abstained_not_in_index"] == 1.0


# --- `pitwall eval` end to end with the fake embedder: the settings reach its index and its answers ---


def _settings(**overrides) -> Settings:
    return Settings(**overrides)


@pytest.fixture
def four_articles(tmp_path):
    """Two articles the half split indexes (the first two titles) and two it leaves out, a question each."""
    return _squad(
        tmp_path / "four.json",
        [
            (
                "Alpine",
                [
                    (
                        "Alpine plant keinen Einstieg in die IMSA.",
                        [("q1", "Plant Alpine einen Einstieg in die IMSA?")],
                    )
                ],
            ),
            (
                "Penske",
                [
                    (
                        "Porsche und Penske fahren in der WEC.",
                        [("q2", "Fahren Porsche und Penske in der WEC?")],
                    )
                ],
            ),
            ("Wetter", [("Morgen regnet es in Hamburg.", [("q3", "Regnet es morgen in Hamburg?")])]),
            ("Brot", [("Sauerteig ruht über Nacht.", [("q4", "Wie lange ruht Sauerteig?")])]),
        ],
    )


def test_evaluate_abstention_answers_the_indexed_half_and_abstains_on_the_rest(four_articles, tmp_path):
    result = evaluate_abstention(
        four_articles, None, settings=_settings(), embedder=FakeEmbedder(), work_dir=tmp_path / "work"
    )
    assert (result["documents"], result["questions"]) == (2, 4)
    shares = result["abstention"]
    assert (shares["questions_in"], shares["questions_out"]) == (2, 2)
    assert shares["threshold"] == MIN_EVIDENCE
    assert (shares["answered_in_index"], shares["abstained_not_in_index"]) == (1.0, 1.0)


def test_evaluate_abstention_uses_the_min_evidence_setting(four_articles, tmp_path):
    result = evaluate_abstention(
        four_articles, None, settings=_settings(min_evidence=99), embedder=FakeEmbedder(), work_dir=tmp_path
    )
    shares = result["abstention"]
    assert shares["threshold"] == 99
    assert (shares["answered_in_index"], shares["abstained_not_in_index"]) == (0.0, 1.0)


@pytest.fixture
def imsa_squad(tmp_path):
    """Dense search with the fake embedder (word overlap, stopwords included) ranks "Box" first for "in der
    IMSA", BM25 (stopwords dropped, short passages preferred) ranks "Alpine" first: the gold document."""
    return _squad(
        tmp_path / "imsa.json",
        [
            ("Alpine", [("Alpine plant keinen Einstieg in die IMSA.", [("q1", "in der IMSA")])]),
            ("Penske", [("Porsche und Penske fahren in der WEC und in der IMSA.", [])]),
            ("Box", [("In der Saison ist der Wagen in der Box, in der Halle und in der IMSA.", [])]),
        ],
    )


@pytest.mark.parametrize(("weight", "like"), [(0.0, "dense"), (1.0, "bm25")])
def test_evaluate_searches_with_the_lexical_weight_setting(imsa_squad, tmp_path, weight, like):
    result = evaluate(
        imsa_squad,
        None,
        settings=_settings(lexical_weight=weight),
        embedder=FakeEmbedder(),
        work_dir=tmp_path,
    )
    retrievers = result["retrievers"]
    assert (retrievers["dense"]["r1"], retrievers["bm25"]["r1"]) == (0.0, 1.0)
    assert retrievers["hybrid"] == retrievers[like]


def test_evaluate_indexes_with_the_chunking_settings(imsa_squad, tmp_path):
    settings = _settings(chunk_overlap_sentences=0, chunk_target_tokens=20)
    evaluate(imsa_squad, None, settings=settings, embedder=FakeEmbedder(), work_dir=tmp_path / "work")
    [index_dir] = (tmp_path / "work").glob("*/index")
    chunking = load_index(index_dir, model_id=settings.model_id).manifest.chunking
    assert (chunking["overlap_sentences"], chunking["target_tokens"]) == (0, 20)
