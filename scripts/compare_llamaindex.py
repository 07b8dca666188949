"""Indexing speed of `pitwall index` against LlamaIndex's default pipeline, side by side in one run.

    HF_HUB_OFFLINE=1 python scripts/compare_llamaindex.py [--csv ../shared/eval/10kGNAD/test.csv]
        [--articles 300] [--rounds 2] [--json]

Both read the same first N articles of 10kGNAD: Pitwall with its configured model (the default
multilingual-e5-small), LlamaIndex with the bundled all-MiniLM-L6-v2 as before; both models are loaded before
the clock starts. Pitwall: `build_index` from a JSON Lines corpus folder to a published index (load, chunk,
embed chunks and quote sentences, FAISS, BM25, write). LlamaIndex: `VectorStoreIndex.from_documents` with a
`SentenceSplitter(256, 32)`, `HuggingFaceEmbedding` (torch, fp32) and a FAISS flat store, persisted to disk.
Runs alternate (LlamaIndex, Pitwall, Pitwall, LlamaIndex, ...) so load from other processes hits both alike;
the best run of each counts. Prints the load average with the figures.

LlamaIndex is no dependency of Pitwall: install it into the venv beside Pitwall's packages, pinned to the
versions installed so nothing of Pitwall's is upgraded (the model is the bundled MiniLM folder, no hub):

    pip freeze --exclude-editable > /tmp/pins.txt
    pip install -c /tmp/pins.txt llama-index-core llama-index-embeddings-huggingface \
        llama-index-vector-stores-faiss

(measured with llama-index-core 0.14.25, llama-index-embeddings-huggingface 0.8.0). Without them the script
says so and exits 0.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.bench.corpus import DEFAULT_GNAD, read_gnad, write_corpus  # noqa: E402
from bot.settings import Settings  # noqa: E402
from index.build import build_index  # noqa: E402
from index.embed.embedding import MINILM_MODEL, create_embedder, resolve_model_path  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


def llamaindex_available() -> bool:
    try:
        import llama_index.core  # noqa: F401
        import llama_index.embeddings.huggingface  # noqa: F401
        import llama_index.vector_stores.faiss  # noqa: F401
    except ImportError:
        return False
    return True


def run_llamaindex(articles, embed_model, out_dir: Path) -> dict:
    import faiss
    from llama_index.core import Document, StorageContext, VectorStoreIndex
    from llama_index.core.node_parser import SentenceSplitter
    from llama_index.vector_stores.faiss import FaissVectorStore

    shutil.rmtree(out_dir, ignore_errors=True)
    started = time.perf_counter()
    documents = [Document(text=article.text, doc_id=article.id) for article in articles]
    store = FaissVectorStore(faiss_index=faiss.IndexFlatL2(384))
    index = VectorStoreIndex.from_documents(
        documents,
        storage_context=StorageContext.from_defaults(vector_store=store),
        embed_model=embed_model,
        transformations=[SentenceSplitter(chunk_size=256, chunk_overlap=32)],
    )
    index.storage_context.persist(persist_dir=str(out_dir))
    return {"seconds": time.perf_counter() - started, "chunks": len(index.docstore.docs)}


def run_pitwall(corpus: Path, embedder, settings: Settings, out_dir: Path) -> dict:
    shutil.rmtree(out_dir, ignore_errors=True)
    started = time.perf_counter()
    report = build_index(
        corpus,
        out_dir,
        model_id=embedder.model_id,
        get_embedder=lambda: embedder,
        overlap_sentences=settings.chunk_overlap_sentences,
        target_tokens=settings.chunk_target_tokens,
    )
    return {"seconds": time.perf_counter() - started, "chunks": report.chunks}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", type=Path, default=REPO / DEFAULT_GNAD)
    parser.add_argument("--articles", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=2, help="runs of each (alternating); the best counts")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not llamaindex_available():
        print(
            "llama-index is not installed (pip install llama-index-core llama-index-embeddings-huggingface "
            "llama-index-vector-stores-faiss): nothing to compare",
            file=sys.stderr,
        )
        return 0
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    articles = read_gnad(args.csv)[: args.articles]
    characters = sum(len(article.text) for article in articles)
    settings = Settings()
    work = Path(tempfile.mkdtemp(prefix="pitwall-vs-llamaindex-"))
    try:
        write_corpus(articles, work / "corpus")
        embedder = create_embedder(settings.embedding_model, backend=settings.embedding_backend)
        embed_model = HuggingFaceEmbedding(model_name=resolve_model_path(MINILM_MODEL), device="cpu")
        embedder.embed_passages(["Aufwärmen."])
        embed_model.get_text_embedding("Aufwärmen.")
        runs: dict[str, list[dict]] = {"llamaindex": [], "pitwall": []}
        load_before = os.getloadavg()
        for round_ in range(args.rounds):
            order = ["llamaindex", "pitwall"] if round_ % 2 == 0 else ["pitwall", "llamaindex"]
            for name in order:
                if name == "llamaindex":
                    run = run_llamaindex(articles, embed_model, work / "llamaindex")
                else:
                    run = run_pitwall(work / "corpus", embedder, settings, work / "pitwall")
                run["load_average"] = round(os.getloadavg()[0], 2)
                runs[name].append(run)
                print(
                    f"{name}: {run['seconds']:.1f} s, {characters / run['seconds']:,.0f} characters/s, "
                    f"load average {run['load_average']}",
                    file=sys.stderr,
                )
        best = {name: min(r["seconds"] for r in measured) for name, measured in runs.items()}
        result = {
            "articles": len(articles),
            "characters": characters,
            "backend": settings.embedding_backend,
            "cpus": os.cpu_count(),
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
            "runs": runs,
            "best_seconds": {name: round(seconds, 2) for name, seconds in best.items()},
            "chars_per_s": {name: round(characters / seconds) for name, seconds in best.items()},
            "speedup": round(best["llamaindex"] / best["pitwall"], 2),
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        print(json.dumps(result))
    else:
        for name in ("llamaindex", "pitwall"):
            print(
                f"{name:<10} best {result['best_seconds'][name]:6.1f} s  {result['chars_per_s'][name]:>8,} "
                f"chars/s  ({len(runs[name])} runs, {runs[name][0]['chunks']} chunks)"
            )
        print(
            f"pitwall / llamaindex: {result['speedup']}x on {characters:,} characters; load average "
            f"{result['load_average_before'][0]} before, {result['load_average_after'][0]} after"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
