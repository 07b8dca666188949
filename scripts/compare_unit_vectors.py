"""Answer quality with quote-sentence vectors pooled from their chunk's forward pass against sentences
embedded on their own, side by side in one run with the same answer code.

    HF_HUB_OFFLINE=1 python scripts/compare_unit_vectors.py --squad ../shared/eval/xquad/xquad.de.json
        [--questions ../shared/eval/xquad/xquad.en.json] [--json]

Every paragraph of DOCS is an article (as `pitwall eval` reads SQuAD data). Both indexes are built with the
settings' embedder; "separate" hides its span pooling, so the build embeds each sentence on its own as before.
Per variant: answer-in-quote (share of questions whose gold answer text occurs in a cited quote), the share
answered, and the share whose first citation is the gold paragraph.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.answering.answers import compose_answer  # noqa: E402
from bot.evaluation.retrieval import read_squad, write_corpus  # noqa: E402
from bot.service import make_embedder  # noqa: E402
from bot.settings import Settings  # noqa: E402
from index.build import build_index  # noqa: E402
from index.embed.embedding import Embedder  # noqa: E402
from index.search import Searcher  # noqa: E402
from index.store.generations import load_index  # noqa: E402


class SeparateUnits:
    """The embedder without span pooling: the build embeds quote sentences on their own."""

    def __init__(self, embedder: Embedder) -> None:
        self._embedder = embedder
        self.model_id, self.dimension, self.max_tokens = (
            embedder.model_id,
            embedder.dimension,
            embedder.max_tokens,
        )

    def token_lengths(self, texts: Sequence[str]) -> list[int]:
        return self._embedder.token_lengths(texts)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._embedder.embed_passages(texts)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._embedder.embed_queries(texts)


def gold_answers(docs_path: Path) -> dict[str, list[str]]:
    data = json.loads(docs_path.read_text(encoding="utf-8"))["data"]
    return {
        qa["id"]: [answer["text"] for answer in qa["answers"]]
        for article in data
        for paragraph in article["paragraphs"]
        for qa in paragraph["qas"]
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--squad", type=Path, required=True)
    parser.add_argument("--questions", type=Path)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    settings = Settings()
    docs, questions = read_squad(args.squad, args.questions)
    answers = gold_answers(args.squad)
    embedder = make_embedder(settings)
    variants = {"pooled": embedder, "separate": SeparateUnits(embedder)}
    results = {}
    with tempfile.TemporaryDirectory(prefix="pitwall-units-") as work:
        write_corpus(docs, Path(work) / "corpus")
        searchers = {}
        for name, variant in variants.items():
            index_dir = Path(work) / name
            build_index(
                Path(work) / "corpus",
                index_dir,
                model_id=variant.model_id,
                get_embedder=lambda variant=variant: variant,
                overlap_sentences=settings.chunk_overlap_sentences,
                target_tokens=settings.chunk_target_tokens,
            )
            data = load_index(index_dir, model_id=variant.model_id)
            searchers[name] = Searcher(data, variant, lexical_weight=settings.lexical_weight)
            print(f"{name}: {data.manifest.chunks} chunks, {len(data.unit_table)} sentences", file=sys.stderr)
        counts = {name: {"answer_in_quote": 0, "answered": 0, "gold_first": 0} for name in variants}
        for number, question in enumerate(questions, 1):
            for name, searcher in searchers.items():
                answer = compose_answer(searcher, question.text, min_evidence=settings.min_evidence)
                quotes = " ".join(c.quote for c in answer.citations).casefold()
                counts[name]["answered"] += not answer.abstained
                counts[name]["answer_in_quote"] += any(a.casefold() in quotes for a in answers[question.id])
                counts[name]["gold_first"] += (
                    bool(answer.citations) and answer.citations[0].article_id == question.gold
                )
            if number % 200 == 0:
                print(f"{number}/{len(questions)}", file=sys.stderr)
        for name, count in counts.items():
            results[name] = {key: round(value / len(questions), 4) for key, value in count.items()}
    result = {
        "docs": str(args.squad),
        "questions_from": str(args.questions or args.squad),
        "documents": len(docs),
        "questions": len(questions),
        "model": embedder.model_id,
        "variants": results,
    }
    if args.json:
        print(json.dumps(result))
    else:
        for name, shares in results.items():
            print(f"{name:<9} " + "  ".join(f"{key} {value:.3f}" for key, value in shares.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
