"""The bench's figures for people: a table, and a PNG chart of latency and build time against size."""

from __future__ import annotations

from pathlib import Path


def format_table(result: dict) -> str:
    e = result["embedding"]
    m = result["machine"]
    lines = [
        f"model {result['model']} ({result['backend']} backend): {e['chunks_per_s']} chunks/s, "
        f"{e['tokens_per_s']} "
        f"tokens/s on {e['sample_chunks']} chunks; {m['cpus']} CPUs, load average "
        f"{m['load_average_before'][0]} before, {m['load_average_after'][0]} after",
        f"corpus: {result['corpus']['base_articles']} 10kGNAD articles = {result['corpus']['base_chunks']} "
        f"chunks, repeated; {result['corpus']['vectors']}",
        "",
    ]
    before = result["before"]
    if result.get("full_build"):
        b = result["full_build"]
        lines.append(
            f"full build: {b['articles']:,} articles, {b['characters']:,} characters, {b['chunks']:,} chunks "
            f"in {b['seconds']:.1f} s = {b['chars_per_s']:,} characters/s (load average "
            f"{b['load_average_before']} before, {b['load_average_after']} after); "
            f"before issue 11: {before['build_chars_per_s']}"
        )
    if result.get("cold_ask"):
        c = result["cold_ask"]
        lines.append(
            f"cold `pitwall ask`: {c['seconds_median']:.2f} s median ({c['seconds_min']:.2f} s best of "
            f"{c['runs']}; {c['cpu_seconds_median']:.2f} CPU s), peak RSS {c['peak_rss_mib_max']:.0f} MiB; "
            "before issue 11: "
            f"{before['cold_ask_s']} s, {before['cold_ask_peak_rss_mib']} MB"
        )
    if result.get("full_build") or result.get("cold_ask"):
        lines.append("")
    if result["sizes"]:
        lines.append(
            f"{'chunks':>8} {'type':>8} {'build s':>8} {'real-emb':>8} {'all-emb':>8} "
            f"{'same s':>7} {'1% s':>6} "
            f"{'ask p50':>8} {'p95':>6} {'p99':>6} {'q-emb':>6} {'search':>7} {'ans':>4} "
            f"{'ans p50':>7} "
            f"{'MB':>6} {'RSS MiB':>8}"
        )
        for row in result["sizes"]:
            ask, parts = row["ask_ms"], row["ask_parts_ms_p50"]
            lines.append(
                f"{row['chunks']:>8,} {row['index_type']:>8} {row['build_s']:>8.1f} "
                f"{row['build_real_embedding_s']:>8.1f} {row['embedding_s_estimate']:>8.0f} "
                f"{row['reindex_unchanged_s']:>7.2f} "
                f"{row['reindex_1pct_s']:>6.1f} {ask['p50']:>8.0f} {ask['p95']:>6.0f} {ask['p99']:>6.0f} "
                f"{parts['embed_question']:>6.0f} {parts['search']:>7.1f} "
                f"{row['answered_share']:>4.2f} "
                f"{row['ask_answered_ms_p50']:>7.0f} "
                f"{row['index_bytes'] / 2**20:>6.1f} {row['peak_rss_mib']:>8.0f}"
            )
        lines += [
            "build s: full build with reused vectors, real-emb s of it embedding chunks whose borders moved;",
            "all-emb: embedding every chunk at the measured speed (estimate); same s / 1% s: re-index",
            "with nothing / 1% of articles changed; ask in ms, its parts p50: q-emb embedding the question,",
            "search the hybrid search (quote sentences were embedded at build time); ans: share of",
            "questions answered with quotes (the rest abstain before quoting), ans p50: their ask p50.",
            "",
        ]
    if result.get("feeds"):
        f = result["feeds"]
        lines += [
            f"feeds: {f['written']} of {f['new_articles']} new articles fetched into an index of "
            f"{f['index_chunks']:,} chunks, {f['found']} found by a search for their first sentence, "
            f"answerable {f['publish_s']:.1f} s after the fetch began (fetch {f['fetch_s']:.1f} s, "
            f"index update {f['index_s']:.1f} s; politeness delay {f['host_delay_s']:g} s, at the default "
            "1 s per host add 1 s per request)",
            "",
        ]
    if result["vector_sizes"]:
        lines.append(
            f"{'vectors':>10} {'type':>8} {'build s':>8} {'p50 ms':>7} {'p95 ms':>7} {'exact p50':>10} "
            f"{'recall@10':>10} {'MB':>7} {'RSS MiB':>8}"
        )
        for row in result["vector_sizes"]:
            lines.append(
                f"{row['vectors']:>10,} {row['index_type']:>8} {row['build_s']:>8.1f} "
                f"{row['search_ms']['p50']:>7.2f} {row['search_ms']['p95']:>7.2f} "
                f"{row['exact_search_ms_p50']:>10.2f} {row['recall_at_10']:>10.3f} "
                f"{row['index_bytes'] / 2**20:>7.1f} "
                f"{row['peak_rss_mib']:>8.0f}"
            )
        lines.append("random unit vectors around topic centres; recall@10 against exact search")
    lines.append(f"memory: {result['memory']}")
    return "\n".join(lines)


def write_chart(result: dict, path: Path) -> None:
    """Latency and build time against size, log-log, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (latency, build) = plt.subplots(1, 2, figsize=(11, 4.5))
    sizes, vectors = result["sizes"], result["vector_sizes"]
    if sizes:
        chunks = [row["chunks"] for row in sizes]
        for key in ("p50", "p95"):
            latency.plot(chunks, [row["ask_ms"][key] for row in sizes], "o-", label=f"ask {key}")
        latency.plot(chunks, [row["ask_parts_ms_p50"]["search"] for row in sizes], "o--", label="search p50")
        build.plot(chunks, [row["build_s"] for row in sizes], "o-", label="corpus build (vectors reused)")
        build.plot(chunks, [row["reindex_unchanged_s"] for row in sizes], "o--", label="re-index, unchanged")
    if vectors:
        counts = [row["vectors"] for row in vectors]
        latency.plot(counts, [row["search_ms"]["p50"] for row in vectors], "s-", label="vector search p50")
        latency.plot(counts, [row["exact_search_ms_p50"] for row in vectors], "s:", label="exact search p50")
        build.plot(counts, [row["build_s"] for row in vectors], "s-", label="FAISS build")
    latency.axhline(25, color="grey", linestyle=":", linewidth=1, label="targets: ask 25 ms, vectors 10 ms")
    latency.axhline(10, color="grey", linestyle=":", linewidth=1)
    for axes, title, unit in ((latency, "latency", "ms"), (build, "build time", "s")):
        axes.set(xscale="log", yscale="log", title=title, xlabel="chunks / vectors", ylabel=unit)
        axes.grid(True, which="both", alpha=0.3)
        axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
