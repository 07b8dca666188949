"""`pitwall eval --answers`: does a shown quote contain the answer?

Two kinds of data:
- SQuAD format with answer spans (XQuAD): every paragraph is one article; a question counts as answered
  when a shown quote from its gold paragraph contains one of its gold answer texts.
- A question set of our own over a news corpus (JSON Lines, `tests/data/gnad_questions.jsonl`): the same
  rule for answerable questions, and for questions whose answer is not in the archive, whether Pitwall
  abstained. Each question belongs to a split ("dev" for tuning, "holdout" kept aside), reported apart.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.answering.answers import Answer
from bot.evaluation.retrieval import read_squad
from bot.service import AnswerService
from bot.settings import Settings
from index.documents import Article
from index.embed.embedding import Embedder


@dataclass(frozen=True)
class AnswerQuestion:
    id: str
    text: str
    language: str  # "en" or "de"
    article_id: str | None  # None: the archive does not answer it
    expected: tuple[str, ...]  # verbatim answer texts; a quote from the article must contain one
    split: str = "dev"


def squad_questions(
    docs_path: Path, questions_path: Path | None
) -> tuple[list[Article], list[AnswerQuestion]]:
    """The paragraphs of DOCS as articles and every question that has an answer text."""
    docs, questions = read_squad(docs_path, questions_path)
    articles = [Article(doc_id, title, text, language="de") for doc_id, (title, text) in docs.items()]
    language = "de" if questions_path is None else "en"
    return articles, [
        AnswerQuestion(q.id, q.text, language, q.gold, q.answers) for q in questions if q.answers
    ]


def read_question_set(path: Path) -> list[AnswerQuestion]:
    """A JSON Lines question set, one {"id", "language", "question", "article_id" (null: the archive does
    not answer it), "expected", "split"} per line."""
    questions = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            questions.append(
                AnswerQuestion(
                    str(item["id"]),
                    item["question"],
                    item["language"],
                    item["article_id"],
                    tuple(item["expected"]),
                    item.get("split", "dev"),
                )
            )
        except (ValueError, KeyError, TypeError) as error:
            raise ValueError(f"{path}:{number}: not a question of the set ({error})") from None
    return questions


def answer_in_quote(answer: Answer, question: AnswerQuestion) -> bool:
    """A shown quote from the question's article contains one of its expected texts."""
    return any(
        citation.article_id == question.article_id
        and any(text in citation.quote for text in question.expected)
        for citation in answer.citations
    )


def summarize(results: Iterable[tuple[AnswerQuestion, Answer]]) -> dict:
    """Answer-in-quote and abstained shares of the answerable questions, and the abstained share of the
    questions the archive does not answer. With a language model: the share of its answer sentences the
    verifier kept, how often it failed, and the shares of questions its verdict turned into abstentions."""
    results = list(results)
    answerable = unanswerable = found = abstained = abstained_unanswerable = 0
    for question, answer in results:
        if question.article_id is None:
            unanswerable += 1
            abstained_unanswerable += answer.abstained
            continue
        answerable += 1
        found += answer_in_quote(answer, question)
        abstained += answer.abstained
    summary = {
        "questions": answerable,
        "answer_in_quote": round(found / max(1, answerable), 4),
        "abstained": round(abstained / max(1, answerable), 4),
    }
    if unanswerable:
        summary["unanswerable"] = unanswerable
        summary["unanswerable_abstained"] = round(abstained_unanswerable / unanswerable, 4)
    if any(answer.model for _, answer in results):
        summary["model"] = model_summary(results)
    return summary


def model_summary(results: list[tuple[AnswerQuestion, Answer]]) -> dict:
    """What the language model did: of the answers it read, the share whose sentence the verifier kept
    (of those with a verdict other than "not stated") and the share it failed on; of the unanswerable
    and of the answerable questions, the share its "not stated" verdict turned into an abstention."""
    outcomes = [answer.model_outcome for _, answer in results if answer.model_outcome]
    written = [o for o in outcomes if o in ("kept", "dropped")]

    def turned(answerable: bool) -> float:
        asked = [a for q, a in results if (q.article_id is not None) == answerable]
        return round(sum(a.model_outcome == "not stated" for a in asked) / max(1, len(asked)), 4)

    return {
        "read": len(outcomes),
        "sentences_kept": round(written.count("kept") / max(1, len(written)), 4),
        "failed": round(outcomes.count("failed") / max(1, len(outcomes)), 4),
        "unanswerable_turned_to_abstention": turned(False),
        "answerable_turned_to_abstention": turned(True),
    }


def evaluate_answers(
    articles: Sequence[Article],
    questions: Sequence[AnswerQuestion],
    *,
    settings: Settings,
    embedder: Embedder,
    work_dir: Path,
    progress: Callable[[str], None] = lambda message: None,
) -> dict:
    """Index `articles` (kept in `work_dir` while unchanged) and ask every question the way `pitwall ask`
    does, with every setting; report the shares overall and per split and language."""
    service = _service(articles, settings, embedder, work_dir, progress)
    progress(f"asking {len(questions)} questions")
    results = [(q, service.ask(q.text)) for q in questions]
    report: dict = {"articles": len(articles), "answers": summarize(results)}
    groups: dict[str, dict[str, list]] = {}
    for question, answer in results:
        groups.setdefault(question.split, {}).setdefault(question.language, []).append((question, answer))
    report["by_split"] = {
        split: {language: summarize(pairs) for language, pairs in sorted(languages.items())}
        for split, languages in sorted(groups.items())
    }
    return report


def _service(
    articles: Sequence[Article],
    settings: Settings,
    embedder: Embedder,
    work_dir: Path,
    progress: Callable[[str], None],
) -> AnswerService:
    """An answer service over `articles`, written as one JSON Lines dump and indexed in a folder named by
    their content (reused while unchanged)."""
    fields = ({key: value for key, value in a.to_json().items() if key != "path"} for a in articles)
    dump = "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in fields)
    key = hashlib.sha256(dump.encode() + settings.model_id.encode()).hexdigest()[:16]
    corpus_dir, index_dir = work_dir / key / "corpus", work_dir / key / "index"
    corpus_dir.mkdir(parents=True, exist_ok=True)
    (corpus_dir / "articles.jsonl").write_text(dump, encoding="utf-8")
    progress(f"indexing {len(articles)} articles")
    service = AnswerService(
        settings.model_copy(update={"corpus_dir": corpus_dir, "index_dir": index_dir}), lambda _: embedder
    )
    service.reindex()
    return service
