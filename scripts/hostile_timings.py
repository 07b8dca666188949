"""Time what issue 9 asks to measure, and print one JSON document:

- loading a 100,000-chunk index with and without its checksums (sizes, counts and row bounds are
  always checked): the startup cost of validation for `pitwall bot`;
- extracting a 10 MB adversarial HTML file of each kind (deep nesting, unclosed constructs, ...).

    HF_HUB_OFFLINE=1 python scripts/hostile_timings.py [--chunks 100000] [--html-mb 10] [--work-dir DIR]

Synthetic data shaped like the 10kGNAD index (docs/performance.md): 384 dimensions, 4.4 quote units per
chunk, 4 chunks of ~900 characters per article. No model is loaded.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from index.documents import Article  # noqa: E402
from index.ingest.html_text import extract_html  # noqa: E402
from index.store.dense import DenseIndex  # noqa: E402
from index.store.generations import FORMAT_VERSION, IndexData, Manifest, load_index, publish  # noqa: E402
from index.text.lexical import LexicalIndex  # noqa: E402

DIMENSION = 384
UNITS_PER_CHUNK = 4.4
CHUNKS_PER_ARTICLE = 4
CHUNK_CHARS = 900


def synthetic_index(chunks: int) -> IndexData:
    rng = np.random.default_rng(0)
    n_articles = chunks // CHUNKS_PER_ARTICLE
    words = np.array([f"wort{i}" for i in range(50_000)])
    text = " ".join(words[rng.integers(0, len(words), CHUNK_CHARS * CHUNKS_PER_ARTICLE // 9)])
    articles = tuple(
        Article(
            id=f"a{i}", title=f"Artikel {i}", text=text[: CHUNK_CHARS * CHUNKS_PER_ARTICLE], path=f"a{i}.md"
        )
        for i in range(n_articles)
    )
    rows = np.arange(chunks)
    chunk_table = np.column_stack(
        [
            rows // CHUNKS_PER_ARTICLE,
            rows % CHUNKS_PER_ARTICLE,
            (rows % 4) * CHUNK_CHARS,
            (rows % 4 + 1) * CHUNK_CHARS,
        ]
    ).astype(np.int64)
    vectors = rng.standard_normal((chunks, DIMENSION), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    units = int(chunks * UNITS_PER_CHUNK)
    unit_rows = np.sort(rng.integers(0, n_articles, units))
    unit_table = np.column_stack([unit_rows, np.zeros(units, np.int64), np.full(units, 100, np.int64)])
    tokens = [words[rng.integers(0, len(words), 120)].tolist() for _ in range(chunks)]
    dense = DenseIndex.build(vectors)
    manifest = Manifest(
        format_version=FORMAT_VERSION,
        model_id="synthetic",
        dimension=DIMENSION,
        max_tokens=256,
        chunking={},
        article_hashes={article.id: "x" for article in articles},
        articles=n_articles,
        chunks=chunks,
        built_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        dense_index=dense.kind,
    )
    return IndexData(
        manifest,
        articles,
        chunk_table,
        vectors,
        dense,
        LexicalIndex.build(tokens),
        unit_table.astype(np.int64),
        vectors[unit_rows % chunks].astype(np.float16),
    )


def index_timings(chunks: int, work_dir: Path) -> dict:
    index_dir = work_dir / f"index-{chunks}"
    if not (index_dir / "current").exists():
        print(f"building a synthetic {chunks:,}-chunk index in {index_dir} ...", file=sys.stderr)
        publish(index_dir, synthetic_index(chunks))
    generation = (index_dir / "current").resolve()
    total = sum(path.stat().st_size for path in generation.rglob("*") if path.is_file())
    result = {"chunks": chunks, "index_bytes": total}
    for verify in (False, True, False, True):  # the second round reads from a warm page cache
        started = time.perf_counter()
        load_index(index_dir, model_id="synthetic", verify=verify)
        result[f"load_seconds_{'with' if verify else 'without'}_checksums"] = round(
            time.perf_counter() - started, 2
        )
    result["checksum_seconds"] = round(
        result["load_seconds_with_checksums"] - result["load_seconds_without_checksums"], 2
    )
    return result


def adversarial_pages(size: int) -> dict[str, str]:
    return {
        "nested <ul><li>": "<html><body><article>" + "<ul><li>x" * (size // 9),
        "nested <div> then stray end tags": "<div>" * (size // 10) + "</span>" * (size // 14),
        "nested <p>": "<p>" * (size // 3),
        "unclosed '<a '": "<a " * (size // 3),
        "unclosed comments": "<!--" * (size // 4),
        "'<' only": "<" * size,
        "unclosed quote": "<p class='" + "x" * (size - 10),
        "'&' only": "&" * size,
        "many short paragraphs": "<p>Ein Satz.</p>" * (size // 15),
    }


def html_timings(megabytes: float) -> dict:
    result = {}
    for name, page in adversarial_pages(int(megabytes * 1_000_000)).items():
        started = time.perf_counter()
        extract_html(page)
        result[name] = {
            "megabytes": round(len(page) / 1e6, 1),
            "seconds": round(time.perf_counter() - started, 2),
        }
        print(f"{name}: {result[name]}", file=sys.stderr)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--html-mb", type=float, default=10)
    parser.add_argument("--work-dir", type=Path, default=Path(tempfile.gettempdir()) / "pitwall-hostile")
    args = parser.parse_args()
    args.work_dir.mkdir(parents=True, exist_ok=True)
    print(
        json.dumps({"index": index_timings(args.chunks, args.work_dir), "html": html_timings(args.html_mb)})
    )


if __name__ == "__main__":
    main()
