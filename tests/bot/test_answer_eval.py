"""`pitwall eval --answers`: the question set reader, the answer-in-quote rule and the shares."""

import json

import pytest

from bot.answering.answers import Answer, Citation
from bot.evaluation.answers import (
    AnswerQuestion,
    answer_in_quote,
    evaluate_answers,
    read_question_set,
    squad_questions,
    summarize,
)
from bot.settings import Settings
from index.documents import Article
from tests.fakes import FakeEmbedder


def _citation(article_id: str, quote: str) -> Citation:
    return Citation(1, quote, article_id, "t", "", "", None, 1.0, "")


def _answer(*citations: Citation, abstained: bool = False) -> Answer:
    return Answer("q", "de", abstained, "", tuple(citations))


QUESTION = AnswerQuestion("q1", "Wie viele?", "de", "a", ("18 Prozent", "18"))


def test_an_answer_counts_when_a_quote_from_the_gold_article_contains_an_expected_text():
    assert answer_in_quote(_answer(_citation("a", "Bisher haben 18 Prozent einen Vertrag.")), QUESTION)
    assert not answer_in_quote(_answer(_citation("b", "Bisher haben 18 Prozent einen Vertrag.")), QUESTION)
    assert not answer_in_quote(_answer(_citation("a", "Bisher haben viele einen Vertrag.")), QUESTION)
    assert not answer_in_quote(_answer(abstained=True), QUESTION)


def test_shares_of_answerable_and_unanswerable_questions():
    unanswerable = AnswerQuestion("q2", "Wann?", "de", None, ())
    results = [
        (QUESTION, _answer(_citation("a", "18 Prozent"))),
        (QUESTION, _answer(_citation("a", "nichts"))),
        (QUESTION, _answer(abstained=True)),
        (QUESTION, _answer(abstained=True)),
        (unanswerable, _answer(abstained=True)),
        (unanswerable, _answer(_citation("a", "18 Prozent"))),
        (unanswerable, _answer(abstained=True)),
    ]
    assert summarize(results) == {
        "questions": 4,
        "answer_in_quote": 0.25,
        "abstained": 0.5,
        "unanswerable": 3,
        "unanswerable_abstained": 0.6667,
    }


def test_the_question_set_reader_names_the_bad_line(tmp_path):
    good = {
        "id": "q1",
        "language": "en",
        "question": "Who?",
        "article_id": None,
        "expected": [],
        "split": "holdout",
    }
    path = tmp_path / "set.jsonl"
    path.write_text(json.dumps(good) + "\n\n" + '{"id": "q2"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"set.jsonl:3"):
        read_question_set(path)
    path.write_text(json.dumps(good) + "\n", encoding="utf-8")
    assert read_question_set(path) == [AnswerQuestion("q1", "Who?", "en", None, (), "holdout")]


def test_squad_questions_carry_their_answer_texts(tmp_path):
    paragraph = {
        "context": "Alpine fährt 2026 in Le Mans.",
        "qas": [{"id": "q1", "question": "Wann?", "answers": [{"text": "2026", "answer_start": 13}]}],
    }
    path = tmp_path / "de.json"
    path.write_text(json.dumps({"data": [{"title": "Alpine", "paragraphs": [paragraph]}]}), encoding="utf-8")
    articles, questions = squad_questions(path, None)
    assert articles == [Article("Alpine#0", "Alpine", "Alpine fährt 2026 in Le Mans.", language="de")]
    assert questions == [AnswerQuestion("q1", "Wann?", "de", "Alpine#0", ("2026",))]


def test_evaluate_answers_indexes_asks_and_reports_by_split_and_language(tmp_path):
    articles = [
        Article(
            "a",
            "Gewerkschaft",
            "Die Gewerkschaft lanciert einen Rechner. Bisher haben 18 Prozent der "
            "Arbeiter einen All-in-Vertrag, sagt die Arbeiterkammer.",
        ),
        Article("b", "Rapid", "Rapid Wien trennt sich von Trainer Zoran Barišić nach drei Jahren."),
    ]
    questions = [
        AnswerQuestion("q1", "Wie viele Arbeiter haben einen All-in-Vertrag?", "de", "a", ("18 Prozent",)),
        AnswerQuestion(
            "q2", "Von welchem Trainer trennt sich Rapid Wien?", "de", "b", ("Zoran Barišić",), "holdout"
        ),
        AnswerQuestion("q3", "Wann landete Apollo auf dem Mond?", "de", None, (), "holdout"),
    ]
    report = evaluate_answers(
        articles,
        questions,
        settings=Settings(embedding_model="fake", min_evidence=0.2),
        embedder=FakeEmbedder(),
        work_dir=tmp_path,
    )
    assert report["answers"] == {
        "questions": 2,
        "answer_in_quote": 1.0,
        "abstained": 0.0,
        "unanswerable": 1,
        "unanswerable_abstained": 1.0,
    }
    assert set(report["by_split"]) == {"dev", "holdout"}
    assert report["by_split"]["dev"]["de"]["questions"] == 1


def test_the_command_scores_a_news_csv_and_a_question_set(tmp_path, monkeypatch, capsys):
    import bot.service
    from bot import cli

    monkeypatch.setattr(bot.service, "make_embedder", lambda settings: FakeEmbedder())
    news = tmp_path / "news.csv"
    news.write_text(
        "Sport;'Rapid Wien trennt sich von Trainer Zoran Barišić. Er hatte den Verein drei Jahre betreut.'\n"
        "Wirtschaft;'Bisher haben 18 Prozent der Arbeiter einen All-in-Vertrag, sagt die Arbeiterkammer.'\n",
        encoding="utf-8",
    )
    questions = tmp_path / "set.jsonl"
    rows = [
        {
            "id": "q1",
            "language": "de",
            "question": "Von welchem Trainer trennt sich Rapid Wien?",
            "article_id": "gnad-0000",
            "expected": ["Zoran Barišić"],
            "split": "dev",
        },
        {
            "id": "q2",
            "language": "de",
            "question": "Wann landete Apollo 11 auf dem Mond?",
            "article_id": None,
            "expected": [],
            "split": "holdout",
        },
    ]
    questions.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    argv = ["eval", "--answers", "--news", str(news), "--questions", str(questions)]
    status = cli.main([*argv, "--work-dir", str(tmp_path / "work"), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert status == 0 and report["articles"] == 2
    assert report["by_split"]["dev"]["de"]["answer_in_quote"] == 1.0
    assert report["by_split"]["holdout"]["de"]["unanswerable"] == 1
