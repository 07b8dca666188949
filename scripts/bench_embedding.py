"""Compare embedding backends on real German news text.

    python scripts/bench_embedding.py [--csv ../shared/eval/10kGNAD/test.csv] [--count 300] [--repeats 3]

Prints one JSON document: per backend, batch size and torch thread count the median chunks/s and tokens/s,
the cosine of its vectors to torch's, the time to export into an empty cache and to load from the cache.
Runs are interleaved (round-robin over configurations) so that load from other processes hits all alike.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from embedding_throughput import cosine_to, measure_embedding, news_chunks  # noqa: E402

from index.embed.embedding import BACKENDS, create_embedder  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--csv", default=str(Path(__file__).resolve().parents[2] / "shared/eval/10kGNAD/test.csv")
    )
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-sizes", default="16,32,64")
    parser.add_argument("--torch-threads", default="1", help="extra torch thread counts to try at batch 32")
    parser.add_argument("--backends", default=",".join(BACKENDS))
    args = parser.parse_args()
    texts = news_chunks(args.csv, args.count)
    backends = args.backends.split(",")
    cache = Path(tempfile.mkdtemp(prefix="pitwall-bench-onnx-"))

    setup: dict[str, dict[str, float]] = {}
    embedders = {}
    for backend in backends:
        started = time.perf_counter()
        create_embedder(backend=backend, cache_dir=cache)
        first = time.perf_counter() - started
        started = time.perf_counter()
        embedders[backend] = create_embedder(backend=backend, cache_dir=cache)
        setup[backend] = {"first_load_s": first, "cached_load_s": time.perf_counter() - started}
        print(
            f"{backend}: first load {first:.1f} s, cached {setup[backend]['cached_load_s']:.1f} s",
            file=sys.stderr,
        )

    reference = embedders["torch"].embed_passages(texts) if "torch" in embedders else None
    cosines = {
        b: cosine_to(reference, e.embed_passages(texts))
        for b, e in embedders.items()
        if reference is not None
    }
    default_threads = torch.get_num_threads()  # ONNX backends use every core on their own
    configs = [
        (backend, int(batch), default_threads)
        for batch in args.batch_sizes.split(",")
        for backend in backends
    ]
    if "torch" in backends:
        configs += [("torch", 32, int(t)) for t in args.torch_threads.split(",") if int(t) != default_threads]
    runs: dict[tuple[str, int, int], list[dict[str, float]]] = {config: [] for config in configs}
    for _ in range(args.repeats):
        for backend, batch, threads in configs:
            torch.set_num_threads(threads)
            embedder = embedders[backend]
            embedder.batch_size = batch
            runs[(backend, batch, threads)].append(measure_embedding(embedder, texts, repeats=1))
            print(
                backend,
                batch,
                threads,
                f"{runs[(backend, batch, threads)][-1]['chunks_per_s']:.1f}",
                file=sys.stderr,
            )

    rows = []
    for (backend, batch, threads), measured in runs.items():
        measured.sort(key=lambda m: m["seconds"])
        median = measured[len(measured) // 2]
        row = {
            "backend": backend,
            "batch_size": batch,
            "threads": threads,
            "chunks_per_s": round(median["chunks_per_s"], 1),
            "tokens_per_s": round(median["tokens_per_s"]),
            "model_id": embedders[backend].model_id,
            **{k: round(v, 2) for k, v in setup[backend].items()},
        }
        if reference is not None:
            row |= {f"cosine_{k}": round(v, 4) for k, v in cosines[backend].items()}
        rows.append(row)
    print(
        json.dumps(
            {"chunks": len(texts), "mean_chars": sum(map(len, texts)) / len(texts), "rows": rows}, indent=1
        )
    )


if __name__ == "__main__":
    main()
