"""Fit the sentence scoring weights (`bot/answering/quotes.py` WEIGHTS) and show what they do.

    HF_HUB_OFFLINE=1 python scripts/fit_sentence_weights.py [--eval ../shared/eval]

Every sentence of the passages Pitwall reads for a question gets the features of quotes.FEATURES; the fit
asks that the sentences holding the expected answer (in the expected article) score highest: a softmax
over each question's sentences, as log-odds. Fitted on the articles of XQuAD whose title hashes even (German
and English questions) and the dev part of tests/data/gnad_questions.jsonl, each question counting once
(counting that part five times, the fit won 0.10 there and lost 0.06 on the holdout: it learnt our 67
questions). No question there asks yes or no, so the lede_yes_no weight is set by hand. Printed: the share
of questions where the best-scored sentence holds the answer, on the fitted part and the rest. The answer
figures themselves come from `pitwall eval --answers`.
"""

from __future__ import annotations

import argparse
import zlib
from pathlib import Path

import numpy as np
import torch

from bot.answering.answers import PASSAGES_TO_READ, read_question
from bot.answering.quotes import FEATURES, WEIGHTS, _sentences
from bot.bench.corpus import read_gnad
from bot.evaluation.answers import _service, read_question_set, squad_questions
from bot.service import make_embedder
from bot.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def question_rows(articles, questions, settings, embedder, work_dir):
    """Per question with an answer among its sentences: (features, which sentences hold it, question)."""
    searcher = _service(articles, settings, embedder, work_dir, lambda _: None).searcher()
    vectors = embedder.embed_queries([q.text for q in questions])
    rows = []
    for question, vector in zip(questions, vectors, strict=True):
        if question.article_id is None:
            continue
        asked = read_question(searcher, question.text, vector=vector)
        hits = searcher.search(
            asked.text, PASSAGES_TO_READ, query_vector=vector, concepts=list(asked.concepts)
        )
        typical = float(np.median(searcher.typical_similarities(vector, hits))) if hits else 0.0
        sentences = _sentences(asked, hits, searcher.units_of, searcher.idf, typical)
        holds = np.array(
            [
                s.article.id == question.article_id
                and any(text in s.article.text[s.start : s.end] for text in question.expected)
                for s in sentences
            ]
        )
        if holds.any():
            rows.append((np.array([s.features for s in sentences], dtype=np.float64), holds, question))
    return rows


def fit(rows) -> np.ndarray:
    features = [torch.tensor(f) for f, _, _ in rows]
    mean = torch.cat(features).mean(0)
    scale = torch.cat(features).std(0) + 1e-9
    w = torch.zeros(len(FEATURES), dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS([w], max_iter=300, line_search_fn="strong_wolfe")

    def loss():
        optimizer.zero_grad()
        total = 0.0
        for x, (_, holds, _) in zip(features, rows, strict=True):
            s = ((x - mean) / scale) @ w
            total = total + (torch.logsumexp(s, 0) - torch.logsumexp(s[torch.tensor(holds)], 0))
        total = total / len(rows) + 1e-3 * (w**2).sum()
        total.backward()
        return total

    optimizer.step(loss)
    return (w / scale).detach().numpy()


def top_holds(rows, weights) -> float:
    return float(np.mean([holds[np.argmax(f @ weights)] for f, holds, _ in rows])) if rows else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval", type=Path, default=ROOT.parent / "shared" / "eval")
    args = parser.parse_args()
    settings, work_dir = Settings(), Path.home() / ".cache" / "pitwall" / "eval"
    embedder = make_embedder(settings)
    xquad = args.eval / "xquad"
    sets = {
        "xquad de": squad_questions(xquad / "xquad.de.json", None),
        "xquad en": squad_questions(xquad / "xquad.de.json", xquad / "xquad.en.json"),
        "10kGNAD": (
            read_gnad(args.eval / "10kGNAD" / "test.csv"),
            read_question_set(ROOT / "tests" / "data" / "gnad_questions.jsonl"),
        ),
    }
    parts: dict[str, tuple[list, list]] = {}  # name: (fitted rows, other rows)
    for name, (articles, questions) in sets.items():
        rows = question_rows(articles, questions, settings, embedder, work_dir)
        if name == "10kGNAD":
            fitted = [r for r in rows if r[2].split == "dev"]
        else:
            fitted = [r for r in rows if zlib.crc32(r[2].article_id.split("#")[0].encode()) % 2 == 0]
        fitted_ids = {id(r) for r in fitted}
        parts[name] = (fitted, [r for r in rows if id(r) not in fitted_ids])
    weights = fit([row for fitted, _ in parts.values() for row in fitted])
    print("fitted:  " + "  ".join(f"{n}={w:.2f}" for n, w in zip(FEATURES, weights, strict=True)))
    print("(no question of these sets is a yes-no question: lede_yes_no is set by hand, not fitted)")
    print("in use:  " + "  ".join(f"{n}={w:.2f}" for n, w in zip(FEATURES, WEIGHTS, strict=True)))
    print("best-scored sentence holds the answer (questions with one among the sentences):")
    for name, (fitted, other) in parts.items():
        print(
            f"  {name:<9} fitted part {top_holds(fitted, WEIGHTS):.3f} ({len(fitted)}), "
            f"the rest {top_holds(other, WEIGHTS):.3f} ({len(other)})"
        )


if __name__ == "__main__":
    main()
