"""`pitwall eval`: retrieval quality of bm25, dense and hybrid search on SQuAD-format data.

Every paragraph of DOCS is a document; a question's gold document is the paragraph it belongs to. Questions
come from DOCS, or from QUESTIONS joined on question id (e.g. English questions against German paragraphs).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bot.answering.answers import PASSAGES_TO_READ, best_evidence, read_question
from bot.service import AnswerService
from bot.settings import Settings
from index.embed.embedding import Embedder
from index.search import MODES, Searcher

CHUNK_CANDIDATES = 50  # passages fetched per question before they are grouped into documents


@dataclass(frozen=True)
class EvalQuestion:
    id: str
    text: str
    gold: str  # document id
    answers: tuple[str, ...] = ()  # gold answer texts, where the data has them


def read_squad(
    docs_path: Path, questions_path: Path | None = None
) -> tuple[dict[str, tuple[str, str]], list[EvalQuestion]]:
    """Documents {id: (title, text)} and questions; ids are "<article title>#<paragraph index>".
    Data that is not SQuAD-shaped is a ValueError naming the file."""
    docs: dict[str, tuple[str, str]] = {}
    questions: list[EvalQuestion] = []
    with _squad_file(docs_path):
        for article in json.loads(docs_path.read_text(encoding="utf-8"))["data"]:
            for number, paragraph in enumerate(article["paragraphs"]):
                doc_id = f"{article['title']}#{number}"
                docs[doc_id] = (article["title"], paragraph["context"])
                questions += [
                    EvalQuestion(
                        qa["id"],
                        qa["question"],
                        doc_id,
                        tuple(dict.fromkeys(a["text"] for a in qa.get("answers", ()))),
                    )
                    for qa in paragraph["qas"]
                ]
    if questions_path is not None:
        with _squad_file(questions_path):
            texts = {
                qa["id"]: qa["question"]
                for article in json.loads(questions_path.read_text(encoding="utf-8"))["data"]
                for paragraph in article["paragraphs"]
                for qa in paragraph["qas"]
            }
        missing = [q.id for q in questions if q.id not in texts]
        if missing:
            raise ValueError(
                f"{len(missing)} questions of {docs_path} have no twin in {questions_path}, e.g. {missing[0]}"
            )
        questions = [EvalQuestion(q.id, texts[q.id], q.gold, q.answers) for q in questions]
    return docs, questions


@contextmanager
def _squad_file(path: Path) -> Iterator[None]:
    """Reading `path` as SQuAD data: a file of another shape is a ValueError naming it."""
    try:
        yield
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise ValueError(
            f"{path} is not SQuAD-format data ({type(error).__name__}: {error}); expected "
            '{"data": [{"title", "paragraphs": [{"context", "qas": [{"id", "question", "answers"}]}]}]}'
        ) from None


def write_corpus(docs: dict[str, tuple[str, str]], folder: Path, language: str = "de") -> None:
    """The documents as one JSON Lines corpus file, the way a bulk dump would arrive."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "docs.jsonl", "w", encoding="utf-8") as out:
        for doc_id, (title, text) in docs.items():
            out.write(
                json.dumps(
                    {"id": doc_id, "title": title, "text": text, "language": language}, ensure_ascii=False
                )
                + "\n"
            )


def metrics(ranked: Sequence[Sequence[str]], gold: Sequence[str]) -> dict[str, float]:
    """R@1, R@5, R@10, nDCG@10 and MRR@10 for one relevant document per question, as fractions."""
    totals = dict.fromkeys(("r1", "r5", "r10", "ndcg10", "mrr10"), 0.0)
    for docs, answer in zip(ranked, gold, strict=True):
        rank = next((i + 1 for i, doc in enumerate(docs[:10]) if doc == answer), None)
        if rank is None:
            continue
        totals["r1"] += rank <= 1
        totals["r5"] += rank <= 5
        totals["r10"] += 1
        totals["ndcg10"] += 1 / math.log2(rank + 1)
        totals["mrr10"] += 1 / rank
    return {name: round(value / max(1, len(gold)), 4) for name, value in totals.items()}


def rank_documents(
    searcher: Searcher, questions: Sequence[EvalQuestion], mode: str, vectors: np.ndarray
) -> list[list[str]]:
    ranked = []
    for question, vector in zip(questions, vectors, strict=True):
        docs: dict[str, None] = {}
        for hit in searcher.search(question.text, CHUNK_CANDIDATES, mode=mode, query_vector=vector):
            docs.setdefault(hit.article.id)
        ranked.append(list(docs)[:10])
    return ranked


def _index_and_embed(
    docs: dict[str, tuple[str, str]],
    questions: Sequence[EvalQuestion],
    key: str,
    *,
    settings: Settings,
    embedder: Embedder,
    work_dir: Path,
    progress: Callable[[str], None],
) -> tuple[Searcher, np.ndarray]:
    """A searcher over `docs` (indexed in `work_dir/key`, reused while unchanged) and the question vectors.
    The index is built and searched by the answer service with every engine setting, as `pitwall ask` does."""
    corpus_dir, index_dir = work_dir / key / "corpus", work_dir / key / "index"
    write_corpus(docs, corpus_dir)
    progress(f"indexing {len(docs)} documents")
    service = AnswerService(
        settings.model_copy(update={"corpus_dir": corpus_dir, "index_dir": index_dir}), lambda _: embedder
    )
    service.reindex()
    searcher = service.searcher()
    progress(f"embedding {len(questions)} questions")
    return searcher, embedder.embed_queries([q.text for q in questions])


def evaluate(
    docs_path: Path,
    questions_path: Path | None,
    *,
    settings: Settings,
    embedder: Embedder,
    work_dir: Path,
    progress: Callable[[str], None] = lambda message: None,
) -> dict:
    """R@1, R@5, R@10, nDCG@10 and MRR@10 of each retriever, searching as the settings say."""
    docs, questions = read_squad(docs_path, questions_path)
    key = hashlib.sha256(docs_path.read_bytes() + settings.model_id.encode()).hexdigest()[:16]
    searcher, vectors = _index_and_embed(
        docs, questions, key, settings=settings, embedder=embedder, work_dir=work_dir, progress=progress
    )
    gold = [q.gold for q in questions]
    results = {}
    for mode in ("bm25", "dense", "hybrid"):
        assert mode in MODES
        results[mode] = metrics(rank_documents(searcher, questions, mode, vectors), gold)
    return {"documents": len(docs), "questions": len(questions), "retrievers": results}


# --- abstention: index half of the articles, ask every question ---


def half_split(docs: dict[str, tuple[str, str]]) -> dict[str, tuple[str, str]]:
    """All paragraphs of the first half of the articles (by title, in the order they first appear)."""
    titles = list(dict.fromkeys(title for title, _ in docs.values()))
    kept = set(titles[: len(titles) // 2])
    return {doc_id: doc for doc_id, doc in docs.items() if doc[0] in kept}


def abstention_shares(evidence: Sequence[float], in_index: Sequence[bool], threshold: float) -> dict:
    """The share of questions answered (evidence >= threshold) among those whose article is indexed, and
    the share abstained among those whose article is not."""
    pairs = list(zip(evidence, in_index, strict=True))
    inside = [value for value, known in pairs if known]
    outside = [value for value, known in pairs if not known]
    return {
        "threshold": threshold,
        "answered_in_index": round(sum(v >= threshold for v in inside) / max(1, len(inside)), 4),
        "abstained_not_in_index": round(sum(v < threshold for v in outside) / max(1, len(outside)), 4),
        "questions_in": len(inside),
        "questions_out": len(outside),
    }


def balanced_threshold(evidence: Sequence[float], in_index: Sequence[bool]) -> float:
    """The threshold (rounded to 0.01) that maximizes the mean of the two shares on this data."""
    candidates = [t / 100 for t in range(-50, 101)]  # -0.50 to 1.00 in steps of 0.01: where evidence lies

    def balance(threshold: float) -> float:
        shares = abstention_shares(evidence, in_index, threshold)
        return shares["answered_in_index"] + shares["abstained_not_in_index"]

    return max(candidates, key=balance)


def evaluate_abstention(
    docs_path: Path,
    questions_path: Path | None,
    *,
    settings: Settings,
    embedder: Embedder,
    work_dir: Path,
    progress: Callable[[str], None] = lambda message: None,
) -> dict:
    """Index half of the articles, ask every question, and report how the `min_evidence` setting separates
    the questions whose article is indexed from those whose article is not."""
    docs, questions = read_squad(docs_path, questions_path)
    indexed = half_split(docs)
    key = hashlib.sha256(docs_path.read_bytes() + settings.model_id.encode() + b"half").hexdigest()[:16]
    searcher, vectors = _index_and_embed(
        indexed, questions, key, settings=settings, embedder=embedder, work_dir=work_dir, progress=progress
    )
    evidence = []
    for question, vector in zip(questions, vectors, strict=True):
        asked = read_question(searcher, question.text, vector=vector)
        hits = searcher.search(
            question.text, PASSAGES_TO_READ, query_vector=vector, concepts=list(asked.concepts)
        )
        evidence.append(best_evidence(searcher, asked, hits))
    in_index = [q.gold in indexed for q in questions]
    shares = abstention_shares(evidence, in_index, settings.min_evidence)
    shares["balanced_threshold"] = balanced_threshold(evidence, in_index)
    return {"documents": len(indexed), "questions": len(questions), "abstention": shares}
