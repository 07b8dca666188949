"""The one module that imports pymilvus: the index in Milvus (PITWALL_STORE=milvus).

PITWALL_MILVUS_URI is a file path (Milvus Lite, embedded in this process: tests, CI, one machine) or
`http://host:19530` (a Milvus server or cluster, with PITWALL_MILVUS_TOKEN); the client code is the same.

One published index is a generation of three collections, `{prefix}_g{stamp}_{chunks,units,articles}`:
- chunks: key, article id, position, span, publication date (ordinal, -1 if unknown), the chunk text, its
  BM25 text and the BM25 sparse vector Milvus derives from it (its built-in BM25 function), the vector;
- units: the quote units (sentences) of each article, their spans and vectors;
- articles: the metadata and text of each article (long texts in parts), its content hash and a vector
  (the mean of its chunk vectors). The manifest is a property of the chunks collection.
The alias `{prefix}_chunks` names the live generation; a reader resolves it once and reads that
generation's three collections, so readers never see half an index.

Updates are incremental by article: a changed article's rows are upserted (keys follow article id and
position) and its surplus rows deleted; a removed article's rows are deleted. A build that cannot reuse
the live generation (the first, or another model, format or chunking) fills a new generation and switches
the alias to it, then drops the generation before the previous one.

BM25: Milvus scores the BM25 text, which is the chunk's stems (index/text/lexical.py: Snowball stemmer and
stopwords of the article's language), with k1 and b of bm25s; Milvus's score is (k1 + 1) times bm25s's
(its term-frequency part carries the (k1 + 1) factor), so scores are divided by it and equal the FAISS
store's. Why not Milvus's own German analyzer: Milvus Lite 3.2 offers the tokenizers `standard` and
`jieba` only, refuses `{"type": "german"}` and ignores a `stemmer` filter (docs/scaling.md).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import math
import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
from pymilvus import DataType, Function, FunctionType, MilvusClient
from pymilvus.exceptions import MilvusException

from index.documents import Article, Chunk
from index.embed.embedding import settings_for_model_id
from index.store.dense import NPROBE, choose_kind, list_count
from index.store.generations import FORMAT_VERSION, IndexMismatch, IndexNotFound, IndexStoreError, Manifest
from index.store.lease import LEASE_SECONDS, Holder, Lease, hold_lease
from index.store.stores import SIMILARITY_SAMPLE, Candidates, DateRange, most_recent
from index.text.lexical import Concept

log = logging.getLogger(__name__)
BM25_K1, BM25_B = 1.5, 0.75  # bm25s's defaults (method "lucene")
TEXT_PART = 16_000  # characters of article text per row (VARCHAR holds at most 65,535 bytes)
MAX_VARCHAR = 65_535
MANIFEST = "pitwall.manifest"
WRITE_BATCH = 512  # rows per insert request
SLOTS = 1 << 20  # sample slots of the chunks (the similarity sample is drawn by slot)
PAGE = 10_000  # rows per query page (Milvus caps offset + limit at 16,384)
MAX_RESULTS = 16_384  # Milvus's cap on the results of one search
_GENERATION = re.compile(r"^(?P<generation>.+_g\d{8}T\d{12})_chunks$")


def key_of(*parts: object) -> int:
    """A stable signed 63-bit key for an article id and position (or span)."""
    digest = hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1


def _literal(text: str) -> str:
    """A string literal for a Milvus filter expression."""
    return json.dumps(text, ensure_ascii=False)


def _ordinal(date: dt.date | None) -> int:
    return date.toordinal() if date else -1


def _date_filter(dates: DateRange | None) -> str:
    if dates is None:
        return ""
    low, high = dates.bounds()
    return f"published >= {max(low, 0)} and published <= {high}"


class _LiteUnimplemented(logging.Filter):
    """Milvus Lite's gRPC server runs in this process and logs an error with a traceback each time the
    client calls a method it does not implement (`AllocTimestamp`, which pymilvus asks for when it opens a
    connection and while it waits for a new collection's index, and ignores when it is unimplemented).
    Those records go to Pitwall's log at debug level instead of stderr; every other record passes."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if not isinstance(error, NotImplementedError):
            return True
        trace = error.__traceback__
        while trace is not None and trace.tb_next is not None:
            trace = trace.tb_next
        method = trace.tb_frame.f_code.co_name if trace is not None else "a method"
        log.debug("Milvus Lite does not implement %s; the client does without it", method)
        return False


_LITE_UNIMPLEMENTED = _LiteUnimplemented()


def connect(uri: str, token: str = "") -> MilvusClient:
    """A client of the Milvus at `uri`: a file path ending in .db starts Milvus Lite in this process."""
    if "://" not in uri and not uri.endswith(".db"):
        raise IndexStoreError(f"PITWALL_MILVUS_URI={uri!r}: a Milvus Lite file must end in .db")
    if "://" not in uri:  # the embedded server logs through this process's `grpc._server` logger
        server_log = logging.getLogger("grpc._server")
        if _LITE_UNIMPLEMENTED not in server_log.filters:
            server_log.addFilter(_LITE_UNIMPLEMENTED)
    try:
        return MilvusClient(uri=uri, token=token) if token else MilvusClient(uri=uri)
    except MilvusException as error:
        if "://" not in uri:  # Milvus Lite: one process at a time opens its file
            raise IndexStoreError(
                f"cannot open the Milvus Lite file {uri} ({error.message}): is another process using it? "
                "Milvus Lite serves one process; for several, run a Milvus server (docs/scaling.md)"
            ) from error
        raise IndexStoreError(
            f"cannot reach Milvus at {uri} ({error.message}): check PITWALL_MILVUS_URI"
        ) from error


@dataclass(frozen=True)
class Generation:
    """The three collections of one published index."""

    name: str  # "{prefix}_g{stamp}"

    @property
    def chunks(self) -> str:
        return f"{self.name}_chunks"

    @property
    def units(self) -> str:
        return f"{self.name}_units"

    @property
    def articles(self) -> str:
        return f"{self.name}_articles"

    @classmethod
    def new(cls, prefix: str) -> Generation:
        return cls(f"{prefix}_g{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S%f}")

    @classmethod
    def live(cls, client: MilvusClient, prefix: str) -> Generation | None:
        alias = f"{prefix}_chunks"
        if alias not in client.list_aliases().get("aliases", []):
            return None
        collection = client.describe_alias(alias)["collection_name"]
        match = _GENERATION.match(collection)
        return cls(match["generation"]) if match else None


def _version(generation: Generation, manifest: Manifest) -> str:
    return f"{generation.name} {json.dumps(manifest.to_json(), sort_keys=True)}"


def read_manifest(client: MilvusClient, generation: Generation) -> Manifest:
    properties = client.describe_collection(generation.chunks).get("properties", {})
    data = json.loads(properties[MANIFEST])
    return Manifest.from_json({**data, "article_hashes": {}})


class MilvusStore:
    """The live generation of a Milvus index, read-only (the `Store` of index/store/stores.py)."""

    def __init__(self, client: MilvusClient, prefix: str, generation: Generation, manifest: Manifest) -> None:
        self._client = client
        self.prefix = prefix
        self.generation = generation
        self.manifest = manifest
        self.version = _version(generation, manifest)
        self._idf: dict[str, float] = {}

    def published_version(self) -> str | None:
        """What is live now (the alias's generation and its manifest, which every build rewrites);
        differs from `version` once another process published a build."""
        live = Generation.live(self._client, self.prefix)
        return _version(live, read_manifest(self._client, live)) if live is not None else None

    @classmethod
    def open(cls, uri: str, token: str, prefix: str, *, model_id: str) -> MilvusStore:
        client = connect(uri, token)
        generation = Generation.live(client, prefix)
        if generation is None:
            raise IndexNotFound(f"no index {prefix!r} in Milvus at {uri}: run `pitwall index` to build it")
        manifest = read_manifest(client, generation)
        if manifest.format_version != FORMAT_VERSION:
            raise IndexMismatch(
                f"the Milvus index {prefix!r} has format {manifest.format_version}, this Pitwall reads "
                f"format {FORMAT_VERSION}: re-index with `pitwall index`"
            )
        if manifest.model_id != model_id:
            raise IndexMismatch(
                f"the Milvus index {prefix!r} was built with the model {manifest.model_id!r}, but the "
                f"settings ask for {model_id!r}: re-index with `pitwall index` "
                f"(or set {settings_for_model_id(manifest.model_id)})"
            )
        for name in (generation.chunks, generation.units, generation.articles):
            client.load_collection(name)
        return cls(client, prefix, generation, manifest)

    # --- the Store protocol ---

    def dense(self, query_vector: np.ndarray, k: int, dates: DateRange | None) -> Candidates:
        return self._search("vector", [np.asarray(query_vector, dtype=np.float32).tolist()], k, dates, 1.0)

    def lexical(self, concepts: Sequence[Concept], k: int, dates: DateRange | None) -> Candidates:
        """Each stem searched on its own (one batched request), then combined as the FAISS store does: per
        concept its best stem, summed. A chunk outside a stem's `k` best counts 0 for that stem."""
        stems = sorted({stem for concept in concepts for stem in concept.stems})
        if not stems or k <= 0:
            return Candidates.empty()
        found = self._client.search(
            self.generation.chunks,
            data=stems,
            anns_field="sparse",
            limit=k,
            filter=_date_filter(dates),
            output_fields=["key"],
        )
        # Milvus Lite reports a BM25 score as a negative distance, a Milvus server as a positive one.
        per_stem = {
            stem: {hit["key"]: abs(hit["distance"]) / (BM25_K1 + 1.0) for hit in hits}
            for stem, hits in zip(stems, found, strict=True)
        }
        totals: dict[int, float] = {}
        for concept in concepts:
            best: dict[int, float] = {}
            for stem in concept.stems:
                for key, score in per_stem.get(stem, {}).items():
                    best[key] = max(best.get(key, 0.0), score)
            for key, score in best.items():
                totals[key] = totals.get(key, 0.0) + score
        ranked = sorted((key for key in totals if totals[key] > 0), key=lambda key: (-totals[key], key))[:k]
        return Candidates(
            np.array(ranked, dtype=np.int64), np.array([totals[key] for key in ranked], dtype=np.float32)
        )

    def lexical_scores(self, concepts: Sequence[Concept], keys: np.ndarray, found: Candidates) -> np.ndarray:
        known = dict(zip(found.keys.tolist(), found.scores.tolist(), strict=True))
        return np.array([known.get(int(key), 0.0) for key in keys], dtype=np.float32)

    def coverage(self, concepts: Sequence[Concept]) -> float:
        if not concepts:
            return 0.0
        known = self.known_stems(sorted({stem for concept in concepts for stem in concept.stems}))
        return sum(1 for concept in concepts if known.intersection(concept.stems)) / len(concepts)

    def known_stems(self, stems: Sequence[str]) -> set[str]:
        stems = sorted(set(stems))
        if not stems:
            return set()
        found = self._client.search(
            self.generation.chunks, data=stems, anns_field="sparse", limit=1, output_fields=["key"]
        )
        return {stem for stem, hits in zip(stems, found, strict=True) if len(hits)}

    def idf(self, stem: str) -> float:
        """From the number of chunks that contain `stem` (a search for it alone, up to Milvus's cap on
        results: a stem that common weighs next to nothing anyway); kept per stem."""
        if stem not in self._idf:
            hits = self._client.search(
                self.generation.chunks,
                data=[stem],
                anns_field="sparse",
                limit=MAX_RESULTS,
                output_fields=["key"],
            )[0]
            frequency, size = len(hits), self.manifest.chunks
            self._idf[stem] = math.log(1 + (size - frequency + 0.5) / (frequency + 0.5)) if frequency else 0.0
        return self._idf[stem]

    def chunk_vectors(self, keys: np.ndarray) -> np.ndarray:
        rows = self._chunk_rows(keys, ["vector"])
        return np.array([rows[int(key)]["vector"] for key in keys], dtype=np.float32).reshape(
            len(keys), self.manifest.dimension
        )

    def passages(self, keys: np.ndarray) -> list[tuple[Chunk, Article]]:
        rows = self._chunk_rows(keys, ["article_id", "position", "start", "end", "text"])
        articles = self._articles({rows[int(key)]["article_id"] for key in keys})
        return [
            (
                Chunk(row["article_id"], row["position"], row["start"], row["end"], row["text"]),
                articles[row["article_id"]],
            )
            for row in (rows[int(key)] for key in keys)
        ]

    def units_of(self, key: int) -> tuple[np.ndarray, np.ndarray]:
        chunk = self._chunk_rows(np.array([key]), ["article_id", "start", "end"])[int(key)]
        rows = self._query(
            self.generation.units,
            f"article_id == {_literal(chunk['article_id'])} and start < {chunk['end']} "
            f"and end > {chunk['start']}",
            ["start", "end", "vector"],
        )
        rows.sort(key=lambda row: row["start"])
        spans = np.array([(row["start"], row["end"]) for row in rows], dtype=np.int64).reshape(-1, 2)
        vectors = np.array([row["vector"] for row in rows], dtype=np.float32)
        return spans, vectors.reshape(len(rows), self.manifest.dimension)

    def similarity_sample(self) -> tuple[np.ndarray, list[str]]:
        # A chunk's slot is its key modulo SLOTS: about SIMILARITY_SAMPLE chunks have a slot below this.
        below = -(-SIMILARITY_SAMPLE * SLOTS // max(1, self.manifest.chunks))
        rows = _rows(
            self._client.query(
                self.generation.chunks,
                filter=f"sample_slot < {below}",
                output_fields=["vector", "article_id", "key"],
                limit=2 * SIMILARITY_SAMPLE,
            )
        )
        rows.sort(key=lambda row: row["key"])
        vectors = np.array([row["vector"] for row in rows], dtype=np.float32)
        return vectors.reshape(len(rows), self.manifest.dimension), [row["article_id"] for row in rows]

    def article(self, article_id: str) -> Article | None:
        return self._articles({article_id}).get(article_id)

    def find_articles(self, text: str, limit: int) -> list[Article]:
        needle = text.casefold().strip().replace("\\", "").replace("%", "").replace("_", "\\_")
        rows = self._query(
            self.generation.articles,
            f"part == 0 and title_folded like {_literal('%' + needle + '%')}",
            ["article_id"],
            cap=PAGE,
        )
        found = self._articles({row["article_id"] for row in rows})
        return most_recent(list(found.values()), text, limit)

    # --- reading helpers ---

    def _search(
        self, field: str, data: list[Any], k: int, dates: DateRange | None, scale: float
    ) -> Candidates:
        if k <= 0:
            return Candidates.empty()
        params: dict[str, Any] = {}
        if field == "vector" and self.manifest.dense_index == "ivf-sq8":
            params = {"params": {"nprobe": min(NPROBE, list_count(self.manifest.chunks))}}
        found = self._client.search(
            self.generation.chunks,
            data=data,
            anns_field=field,
            limit=k,
            filter=_date_filter(dates),
            output_fields=["key"],
            search_params=params,
        )[0]
        keys = np.array([hit["key"] for hit in found], dtype=np.int64)
        # Milvus Lite reports a BM25 score as a negative distance, a Milvus server as a positive one.
        scores = np.array([abs(hit["distance"]) if field == "sparse" else hit["distance"] for hit in found])
        keep = scores > 0 if field == "sparse" else np.ones(len(keys), dtype=bool)
        return Candidates(keys[keep], (scores[keep] * scale).astype(np.float32))

    def _chunk_rows(self, keys: np.ndarray, fields: list[str]) -> dict[int, dict]:
        if len(keys) == 0:
            return {}
        keys = [int(key) for key in keys]
        rows = _rows(self._client.get(self.generation.chunks, ids=keys, output_fields=["key", *fields]))
        return {row["key"]: row for row in rows}

    def _articles(self, ids: Iterable[str]) -> dict[str, Article]:
        ids = sorted(ids)
        if not ids:
            return {}
        rows = self._query(
            self.generation.articles,
            f"article_id in [{', '.join(_literal(i) for i in ids)}]",
            ["article_id", "part", "meta", "text"],
        )
        return _join_articles(rows)

    def _query(self, collection: str, expression: str, fields: list[str], cap: int | None = None) -> list:
        return _query_all(self._client, collection, expression, fields, cap)


def _rows(result: Iterable) -> list[dict]:
    """Plain dicts of a pymilvus result: its list materializes rows lazily by position, and sorting it in
    place pairs one row's scalars with another row's vector."""
    return [dict(row) for row in result]


def _query_all(
    client: MilvusClient, collection: str, expression: str, fields: list[str], cap: int | None = None
) -> list[dict]:
    """Every row matching `expression` (or the first `cap`), page by page in key order."""
    rows: list[dict] = []
    last: int | None = None
    while cap is None or len(rows) < cap:
        where = expression if last is None else f"({expression}) and key > {last}"
        page = _rows(client.query(collection, filter=where, output_fields=["key", *fields], limit=PAGE))
        if not page:
            break
        page.sort(key=lambda row: row["key"])
        rows.extend(page)
        if len(page) < PAGE:
            break
        last = page[-1]["key"]
    return rows if cap is None else rows[:cap]


def _join_articles(rows: list[dict]) -> dict[str, Article]:
    parts: dict[str, list[dict]] = {}
    for row in rows:
        parts.setdefault(row["article_id"], []).append(row)
    articles = {}
    for article_id, pieces in parts.items():
        pieces.sort(key=lambda row: row["part"])
        meta = json.loads(pieces[0]["meta"])
        articles[article_id] = Article.from_json({**meta, "text": "".join(p["text"] for p in pieces)})
    return articles


# --- writing ---


class MilvusWriter:
    """Writes one build into Milvus: into the live generation (incremental) or into a new one."""

    def __init__(self, client: MilvusClient, prefix: str) -> None:
        self._client = client
        self.prefix = prefix
        self.live = Generation.live(client, prefix)
        self.target: Generation | None = None
        self.lease: Lease | None = None

    @contextmanager
    def build_lock(self, what: str, seconds: float = LEASE_SECONDS) -> Iterator[Lease]:
        """Hold the index's lease (kept in Milvus) for this build: IndexBusy at once when another build,
        from any process or host, holds it; partial generations of a build that died are dropped first."""
        board = MilvusBoard(self._client, self.prefix)
        with hold_lease(board, what, seconds=seconds, cleanup=self._drop_partial) as lease:
            self.live = Generation.live(self._client, self.prefix)  # as it is now that we hold the lease
            self.lease = lease
            try:
                yield lease
            finally:
                self.lease = None

    @classmethod
    def open(cls, uri: str, token: str, prefix: str) -> MilvusWriter:
        return cls(connect(uri, token), prefix)

    def previous_manifest(self) -> Manifest | None:
        """The live generation's manifest with every article's content hash, or None."""
        if self.live is None:
            return None
        try:
            manifest = read_manifest(self._client, self.live)
            for name in (self.live.chunks, self.live.units, self.live.articles):
                self._client.load_collection(name)  # a new process finds them released
        except (KeyError, ValueError, TypeError, MilvusException):
            return None
        rows = _query_all(self._client, self.live.articles, "part == 0", ["article_id", "content_hash"])
        hashes = {row["article_id"]: row["content_hash"] for row in rows}
        return Manifest.from_json({**manifest.to_json(), "article_hashes": hashes})

    def start(self, *, incremental: bool, dimension: int, expected_chunks: int) -> None:
        """Write into the live generation (`incremental`) or create a new one sized for the chunks."""
        if incremental and self.live is not None:
            self.target = self.live
            for name in (self.live.chunks, self.live.units, self.live.articles):
                self._client.load_collection(name)
            return
        self.target = Generation.new(self.prefix)
        if self.lease is not None:
            self.lease.record(self.target.name)  # dropped by the next build if this one dies
        _create_generation(self._client, self.target, dimension, expected_chunks)

    def write_article(
        self,
        article: Article,
        content_hash: str,
        chunks: Sequence[Chunk],
        vectors: np.ndarray,
        lexical_texts: Sequence[str],
        units: np.ndarray,
        unit_vectors: np.ndarray,
        old_chunk_count: int = 0,
    ) -> None:
        """Upsert every row of `article`, then delete what its previous version had beyond it."""
        target = self._target()
        if self.lease is not None:
            self.lease.check()
        published = _ordinal(article.published)
        chunk_rows = [
            {
                "key": key_of(article.id, chunk.position),
                "article_id": article.id,
                "position": chunk.position,
                "start": chunk.start,
                "end": chunk.end,
                "published": published,
                "sample_slot": key_of(article.id, chunk.position) % SLOTS,
                "text": chunk.text,
                "lexical": text,
                "vector": np.asarray(vector, dtype=np.float32).tolist(),
            }
            for chunk, vector, text in zip(chunks, vectors, lexical_texts, strict=True)
        ]
        unit_rows = [
            {
                "key": key_of(article.id, int(start), int(end)),
                "article_id": article.id,
                "start": int(start),
                "end": int(end),
                "vector": np.asarray(vector, dtype=np.float32).tolist(),
            }
            for (start, end), vector in zip(units, unit_vectors, strict=True)
        ]
        mean = np.asarray(vectors, dtype=np.float32).mean(axis=0)
        mean /= max(float(np.linalg.norm(mean)), 1e-12)
        meta = json.dumps({k: v for k, v in article.to_json().items() if k != "text"}, ensure_ascii=False)
        texts = [article.text[i : i + TEXT_PART] for i in range(0, len(article.text), TEXT_PART)] or [""]
        article_rows = [
            {
                "key": key_of(article.id, "part", part),
                "article_id": article.id,
                "part": part,
                "title_folded": article.title.casefold()[:1000],
                "published": published,
                "content_hash": content_hash,
                "meta": meta,
                "text": text,
                "vector": mean.tolist(),
            }
            for part, text in enumerate(texts)
        ]
        for collection, rows in (
            (target.chunks, chunk_rows),
            (target.units, unit_rows),
            (target.articles, article_rows),
        ):
            for begin in range(0, len(rows), WRITE_BATCH):
                self._client.upsert(collection, rows[begin : begin + WRITE_BATCH])
        if target == self.live:  # what the previous version of the article had beyond the new one
            quoted = _literal(article.id)
            self._delete(target.chunks, f"article_id == {quoted} and position >= {len(chunks)}")
            self._delete(target.articles, f"article_id == {quoted} and part >= {len(texts)}")
            keep = {row["key"] for row in unit_rows}
            stale = [
                row["key"]
                for row in _query_all(self._client, target.units, f"article_id == {quoted}", [])
                if row["key"] not in keep
            ]
            if stale:
                self._client.delete(target.units, ids=stale)

    def count_chunks(self) -> int:
        rows = self._client.query(self._target().chunks, filter="", output_fields=["count(*)"])
        return int(rows[0]["count(*)"])

    def delete_article(self, article_id: str) -> None:
        target = self._target()
        if self.lease is not None:
            self.lease.check()
        for collection in (target.chunks, target.units, target.articles):
            self._delete(collection, f"article_id == {_literal(article_id)}")

    def publish(self, manifest: Manifest) -> Generation:
        """Record the manifest and make the target generation the live one (an alias switch)."""
        target = self._target()
        if self.lease is not None:
            self.lease.check()
        data = {**manifest.to_json(), "article_hashes": {}}  # the hashes live with the articles
        self._client.alter_collection_properties(target.chunks, properties={MANIFEST: json.dumps(data)})
        for name in (target.chunks, target.units, target.articles):
            self._client.flush(name)
        alias = f"{self.prefix}_chunks"
        if self.lease is not None:
            self.lease.fence()  # still ours: no other build took over while this one ran
        if self.live is None:
            self._client.create_alias(target.chunks, alias)
        elif target != self.live:
            self._client.alter_alias(target.chunks, alias)
            self._drop_older(keep={target.name, self.live.name})
        self.live = target
        return target

    def abandon(self) -> None:
        """Drop a new generation that was not published (a failed build); the live one is untouched."""
        if self.target is not None and self.target != self.live:
            for name in (self.target.chunks, self.target.units, self.target.articles):
                if self._client.has_collection(name):
                    self._client.drop_collection(name)
        self.target = None

    def _drop_partial(self, work: tuple[str, ...]) -> None:
        """Drop the generations a build that died recorded (never the live one)."""
        live = Generation.live(self._client, self.prefix)
        for name in work:
            if not name.startswith(f"{self.prefix}_g") or (live is not None and name == live.name):
                continue
            generation = Generation(name)
            for collection in (generation.chunks, generation.units, generation.articles):
                if self._client.has_collection(collection):
                    self._client.drop_collection(collection)

    def _target(self) -> Generation:
        if self.target is None:
            raise RuntimeError("MilvusWriter.start() was not called")
        return self.target

    def _delete(self, collection: str, expression: str) -> None:
        self._client.delete(collection, filter=expression)

    def _drop_older(self, keep: set[str]) -> None:
        """Drop generations other than `keep` (the new one and the one readers may still be reading)."""
        pattern = re.compile(rf"^({re.escape(self.prefix)}_g\d{{8}}T\d{{12}})_(chunks|units|articles)$")
        for name in self._client.list_collections():
            match = pattern.match(name)
            if match and match[1] not in keep:
                self._client.drop_collection(name)


def _create_generation(client: MilvusClient, generation: Generation, dimension: int, chunks: int) -> None:
    kind = choose_kind(chunks)
    dense_index: dict[str, Any] = {"index_type": "FLAT", "metric_type": "IP"}
    if kind == "ivf-sq8":
        nlist = list_count(chunks)
        dense_index = {"index_type": "IVF_SQ8", "metric_type": "IP", "params": {"nlist": nlist}}

    schema = client.create_schema(auto_id=False)
    schema.add_field("key", DataType.INT64, is_primary=True)
    schema.add_field("article_id", DataType.VARCHAR, max_length=1024)
    schema.add_field("position", DataType.INT64)
    schema.add_field("start", DataType.INT64)
    schema.add_field("end", DataType.INT64)
    schema.add_field("published", DataType.INT64)
    schema.add_field("sample_slot", DataType.INT64)
    schema.add_field("text", DataType.VARCHAR, max_length=MAX_VARCHAR)
    schema.add_field(
        "lexical",
        DataType.VARCHAR,
        max_length=MAX_VARCHAR,
        enable_analyzer=True,
        analyzer_params={"tokenizer": "standard"},
    )
    schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dimension)
    schema.add_function(
        Function(
            name="bm25",
            function_type=FunctionType.BM25,
            input_field_names=["lexical"],
            output_field_names=["sparse"],
        )
    )
    index = client.prepare_index_params()
    index.add_index("vector", **dense_index)
    index.add_index(
        "sparse",
        index_type="SPARSE_INVERTED_INDEX",
        metric_type="BM25",
        params={"bm25_k1": BM25_K1, "bm25_b": BM25_B},
    )
    client.create_collection(generation.chunks, schema=schema, index_params=index, consistency_level="Strong")

    schema = client.create_schema(auto_id=False)
    schema.add_field("key", DataType.INT64, is_primary=True)
    schema.add_field("article_id", DataType.VARCHAR, max_length=1024)
    schema.add_field("start", DataType.INT64)
    schema.add_field("end", DataType.INT64)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dimension)
    index = client.prepare_index_params()
    index.add_index("vector", index_type="FLAT", metric_type="IP")
    client.create_collection(generation.units, schema=schema, index_params=index, consistency_level="Strong")

    schema = client.create_schema(auto_id=False)
    schema.add_field("key", DataType.INT64, is_primary=True)
    schema.add_field("article_id", DataType.VARCHAR, max_length=1024)
    schema.add_field("part", DataType.INT64)
    schema.add_field("title_folded", DataType.VARCHAR, max_length=4096)
    schema.add_field("published", DataType.INT64)
    schema.add_field("content_hash", DataType.VARCHAR, max_length=64)
    schema.add_field("meta", DataType.VARCHAR, max_length=MAX_VARCHAR)
    schema.add_field("text", DataType.VARCHAR, max_length=MAX_VARCHAR)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dimension)
    index = client.prepare_index_params()
    index.add_index("vector", index_type="FLAT", metric_type="IP")
    client.create_collection(
        generation.articles, schema=schema, index_params=index, consistency_level="Strong"
    )


class MilvusBoard:
    """The lease records of one index in Milvus itself: the collection `{prefix}_lease`, one row per
    record (key from its token). Milvus has no compare-and-set, so a claim is an upsert followed by the
    read-back of index/store/lease.py (reads are strongly consistent); `claim` itself always succeeds."""

    def __init__(self, client: MilvusClient, prefix: str) -> None:
        self._client = client
        self.collection = f"{prefix}_lease"
        self.where = f"the Milvus index {prefix!r}"
        self._ready = False

    def read(self) -> list[Holder]:
        with self._asking():
            self._create()
            rows = _rows(
                self._client.query(self.collection, filter="key >= 0", output_fields=["record"], limit=PAGE)
            )
        records = []
        for row in rows:
            try:
                records.append(Holder.from_json(json.loads(row["record"])))
            except (ValueError, KeyError, TypeError):
                continue
        return records

    def claim(self, holder: Holder) -> bool:
        self.write(holder)
        return True

    def write(self, holder: Holder) -> None:
        row = {"key": key_of(holder.token), "record": json.dumps(holder.to_json()), "vector": [0.0, 0.0]}
        with self._asking():
            self._create()
            self._client.upsert(self.collection, [row])

    def remove(self, holders: Sequence[Holder]) -> None:
        if holders:
            with self._asking():
                self._client.delete(self.collection, ids=[key_of(holder.token) for holder in holders])

    @contextmanager
    def _asking(self) -> Iterator[None]:
        """A Milvus that fails a lease request is one error naming it (builds stop; nothing is switched)."""
        try:
            yield
        except MilvusException as error:
            raise IndexStoreError(
                f"Milvus did not answer about the lease of {self.where} ({error.message}): "
                "check PITWALL_MILVUS_URI"
            ) from error

    def _create(self) -> None:
        if self._ready:
            return
        if not self._client.has_collection(self.collection):
            schema = self._client.create_schema(auto_id=False)
            schema.add_field("key", DataType.INT64, is_primary=True)
            schema.add_field("record", DataType.VARCHAR, max_length=MAX_VARCHAR)
            schema.add_field("vector", DataType.FLOAT_VECTOR, dim=2)  # Milvus wants a vector field
            index = self._client.prepare_index_params()
            index.add_index("vector", index_type="FLAT", metric_type="L2")
            try:
                self._client.create_collection(
                    self.collection, schema=schema, index_params=index, consistency_level="Strong"
                )
            except MilvusException:
                if not self._client.has_collection(self.collection):  # else another process made it
                    raise
        self._client.load_collection(self.collection)
        self._ready = True
