"""The answer service: the one object the CLI and the Discord bot call. All methods block (CPU work)."""

from __future__ import annotations

import datetime as dt
import functools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from bot.answering.answers import Answer, compose_answer
from bot.settings import SEARCH_RESULTS, Settings
from index.documents import Article
from index.embed.embedding import Embedder, create_embedder
from index.errors import UserError
from index.search import Mode, Searcher
from index.store.generations import IndexBusy, IndexNotFound, current_generation, load_index
from index.store.lease import build_lock
from index.store.stores import FaissStore, Store
from index.text.translation import english_to_german

if TYPE_CHECKING:  # building (loaders, HTML parsing, bm25s) is imported only when an index is built
    from index.build import IndexReport, Progress


log = logging.getLogger(__name__)
FOLLOW_SECONDS = 15.0  # how often a process looks whether another process or host published a build
WAIT_SECONDS = 5.0  # how often `pitwall bot` at start-up retries while another build makes the first index


class QuestionError(UserError):
    """A question or query that cannot be answered as given (empty, not UTF-8)."""


def checked_text(text: str, what: str = "question") -> str:
    """`text` stripped; an empty text or one with bytes that are not UTF-8 is a QuestionError."""
    text = text.strip()
    if not text:
        raise QuestionError(f'the {what} is empty: ask something, e.g. "Is Alpine entering IMSA?"')
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:  # undecodable bytes from the command line or stdin
        code = ord(text[error.start])
        byte = f"byte 0x{code - 0xDC00:02X}" if 0xDC80 <= code <= 0xDCFF else f"U+{code:04X}"
        raise QuestionError(
            f"the {what} is not UTF-8 text ({byte} at character {error.start + 1}); "
            "type it again or set the terminal to UTF-8"
        ) from None
    return text


@dataclass(frozen=True)
class SearchResult:
    article_id: str
    title: str
    source: str
    url: str
    published: dt.date | None
    text: str
    score: float
    start: int
    end: int

    def to_json(self) -> dict:
        return {
            "article_id": self.article_id,
            "title": self.title,
            "text": self.text,
            "score": round(self.score, 4),
            "start": self.start,
            "end": self.end,
        }


@dataclass(frozen=True)
class ServiceStatus:
    articles: int
    chunks: int
    model: str
    built_at: str
    last_report: IndexReport | None


def embedder_recipe(settings: Settings) -> Callable[[], Embedder]:
    """How to make the settings' embedder, as a picklable callable (Ray workers make their own with it)."""
    return functools.partial(
        create_embedder,
        settings.embedding_model,
        query_prompt=settings.query_prompt,
        passage_prompt=settings.passage_prompt,
        backend=settings.embedding_backend,
    )


def make_embedder(settings: Settings) -> Embedder:
    return embedder_recipe(settings)()


def milvus_address(settings: Settings) -> tuple[str, str, str]:
    """URI, token and collection prefix of the Milvus index; the default URI is Milvus Lite's file in the
    index folder."""
    uri = settings.milvus_uri or str(settings.index_dir / "milvus.db")
    if "://" not in uri:
        Path(uri).parent.mkdir(parents=True, exist_ok=True)
    return uri, settings.milvus_token.get_secret_value(), settings.milvus_collection


def _milvus_modules():  # noqa: ANN202 (module objects)
    try:
        from index import milvus_build
        from index.store import milvus as milvus_store
    except ImportError as error:
        raise UserError(
            f"PITWALL_STORE=milvus needs pymilvus ({error}): pip install 'pitwall[milvus]'"
        ) from error
    return milvus_store, milvus_build


def open_store(settings: Settings) -> Store:
    """The published index of the settings' store, checked against the settings' model."""
    if settings.store == "milvus":
        milvus_store, _ = _milvus_modules()
        return milvus_store.MilvusStore.open(*milvus_address(settings), model_id=settings.model_id)
    return FaissStore(load_index(settings.index_dir, model_id=settings.model_id))


class AnswerService:
    """Owns the embedder and the loaded index; a re-index swaps in the new index when it is published, and
    so does a build published by another process or host (looked for every FOLLOW_SECONDS while asked)."""

    def __init__(
        self,
        settings: Settings,
        embedder_factory: Callable[[Settings], Embedder] = make_embedder,
        recipe: Callable[[Settings], Callable[[], Embedder]] = embedder_recipe,
    ) -> None:
        """`embedder_factory` makes this process's embedder; `recipe` the picklable maker of the same
        embedder that Ray workers run."""
        self.settings = settings
        self._embedder_factory = embedder_factory
        self._recipe = recipe
        self._embedder: Embedder | None = None
        self._searcher: Searcher | None = None
        self._lock = threading.Lock()
        self._load_lock = threading.Lock()
        self._version: str | None = None  # of the published index the searcher was loaded from
        self._next_look = 0.0  # time.monotonic() of the next look for a build published elsewhere
        self.last_report: IndexReport | None = None

    def embedder(self) -> Embedder:
        with self._lock:
            if self._embedder is None:
                self._embedder = self._embedder_factory(self.settings)
            return self._embedder

    def searcher(self) -> Searcher:
        searcher = self._searcher
        if searcher is None:
            with self._load_lock:  # threads asking at once load the index once
                if self._searcher is None:
                    self._searcher = self._load_searcher()
                searcher = self._searcher
        elif time.monotonic() >= self._next_look:
            searcher = self._follow(searcher)
        return searcher

    def _follow(self, searcher: Searcher) -> Searcher:
        """The index another process or host published since this one was loaded, swapped in; else (or
        when the store cannot tell now) the loaded one. One thread looks; the others keep answering."""
        if not self._load_lock.acquire(blocking=False):
            return searcher
        try:
            self._next_look = time.monotonic() + FOLLOW_SECONDS
            if self._published_version(searcher) != self._version:
                self._searcher = searcher = self._load_searcher()
        except Exception as error:  # noqa: BLE001 - the store is unreachable or mid-change: look again later
            log.warning("could not look for a newer index (%s); answering from the loaded one", error)
        finally:
            self._load_lock.release()
        return searcher

    def _published_version(self, searcher: Searcher | None) -> str | None:
        """What identifies the published index now: the generation `current` points to, or for Milvus the
        alias's generation and its manifest (read with the loaded store's connection)."""
        if self.settings.store == "milvus":
            return searcher.store.published_version() if searcher is not None else None  # type: ignore[attr-defined]
        generation = current_generation(self.settings.index_dir)
        return generation.name if generation is not None else None

    def load(self) -> None:
        """Load the model and the index now, once, and run one search so the first question is fast."""
        self.searcher().search("warm-up", 1)

    def _load_searcher(self) -> Searcher:
        version = self._published_version(None)  # before loading: a build published meanwhile is seen later
        store = open_store(self.settings)
        self._version = getattr(store, "version", version)  # a Milvus store knows what it opened
        self._next_look = time.monotonic() + FOLLOW_SECONDS
        return Searcher(
            store, self.embedder(), lexical_weight=self.settings.lexical_weight, translate=english_to_german()
        )

    def reindex(
        self,
        progress: Progress | None = None,
        *,
        ray: str | None = None,
        ray_workers: int | None = None,
        what: str = "pitwall index",
    ) -> IndexReport:
        """Update the index from the corpus folder; answers come from the old index until this returns.

        The one entry point of every build: it holds the index's lease (index/store/lease.py) while it
        runs, so one build at a time per index runs, whichever process or host starts it; another build
        running is IndexBusy at once, naming it. `what` names this build to others ("/reindex", "feed
        refresh", ...).

        With `ray` (an address: "local", "auto", "ray://host:10001") new and changed passages are embedded
        by `ray_workers` Ray workers (default: one per CPU of the cluster); Ray is only started when
        something has to be embedded."""
        if ray is None:
            report = self._build(self.embedder, progress, what)
        else:
            report = self._build_with_ray(ray, ray_workers, progress, what)
        changed = report.added or report.changed or report.removed
        if self._searcher is not None and changed:  # swap in the new index; otherwise load it when asked
            self._searcher = self._load_searcher()
        self.last_report = report
        return report

    def reindex_at_start(
        self, progress: Progress | None = None, *, notify: Callable[[str], None] = log.warning
    ) -> IndexReport | None:
        """`pitwall bot`'s start-up re-index. None when another build runs (another shard, host or a
        refresh): this process answers from the published index and swaps in that build's result when it
        is published; when no index is published yet, it waits for that build (retrying its own)."""
        waiting = False
        while True:
            try:
                return self.reindex(progress, what="pitwall bot start-up")
            except IndexBusy as busy:
                if self._published():
                    notify(f"{busy}; answering from the current index until that build is published")
                    return None
                if not waiting:
                    notify(f"{busy}; there is no index yet: waiting for that build")
                    waiting = True
                time.sleep(WAIT_SECONDS)

    def _published(self) -> bool:
        if self.settings.store == "faiss":
            return self._published_version(None) is not None
        try:
            open_store(self.settings)
        except IndexNotFound:
            return False
        return True

    def _build(
        self, get_embedder: Callable[[], Embedder], progress: Progress | None, what: str
    ) -> IndexReport:
        from index.build import build_index
        from index.store.generations import claim_index_folder

        settings, seconds = self.settings, self.settings.lease_seconds
        if settings.store == "milvus":
            milvus_store, milvus_build = _milvus_modules()
            writer = milvus_store.MilvusWriter.open(*milvus_address(settings))
            with writer.build_lock(what, seconds):
                return milvus_build.build_into_milvus(
                    settings.corpus_dir,
                    writer,
                    model_id=settings.model_id,
                    get_embedder=get_embedder,
                    overlap_sentences=settings.chunk_overlap_sentences,
                    target_tokens=settings.chunk_target_tokens,
                    progress=progress,
                )
        claim_index_folder(settings.index_dir, settings.corpus_dir)  # before the lease writes into it
        with build_lock(settings.index_dir, what, seconds) as lease:
            return build_index(
                settings.corpus_dir,
                settings.index_dir,
                model_id=settings.model_id,
                get_embedder=get_embedder,
                overlap_sentences=settings.chunk_overlap_sentences,
                target_tokens=settings.chunk_target_tokens,
                progress=progress,
                lease=lease,
            )

    def _build_with_ray(
        self, address: str, workers: int | None, progress: Progress | None, what: str
    ) -> IndexReport:
        try:
            from index.embed import ray_embedding
        except ImportError as error:
            raise ValueError(f"embedding with Ray needs Ray ({error}): pip install 'pitwall[ray]'") from error
        started: list[ray_embedding.RayEmbedder] = []
        stop_ray = False

        def get_embedder() -> Embedder:
            nonlocal stop_ray
            stop_ray = ray_embedding.connect(address, cpus=workers)
            count = workers or ray_embedding.cluster_cpus()
            started.append(ray_embedding.ray_embedder(self.embedder(), self._recipe(self.settings), count))
            return started[0]

        try:
            report = self._build(get_embedder, progress, what)
        finally:
            for embedder in started:
                embedder.close()
            if stop_ray:
                ray_embedding.shutdown()
        return replace(report, engine="ray", workers=started[0].workers if started else 0)

    def search(
        self,
        query: str,
        *,
        k: int = SEARCH_RESULTS,
        since: dt.date | None = None,
        until: dt.date | None = None,
        mode: Mode = "hybrid",
    ) -> list[SearchResult]:
        query = checked_text(query, "query")
        hits = self.searcher().search(query, k, since=since, until=until, mode=mode)
        return [
            SearchResult(
                hit.article.id,
                hit.article.title,
                hit.article.source,
                hit.article.url,
                hit.article.published,
                hit.chunk.text,
                hit.score,
                hit.chunk.start,
                hit.chunk.end,
            )
            for hit in hits
        ]

    def ask(
        self, question: str, *, context: str = "", since: dt.date | None = None, until: dt.date | None = None
    ) -> Answer:
        question = checked_text(question)
        searcher = self.searcher()  # loading the index and model is not part of answering
        started = time.perf_counter()
        answer = compose_answer(
            searcher,
            question,
            context=context,
            since=since,
            until=until,
            min_evidence=self.settings.min_evidence,
        )
        return replace(answer, timings_ms=(("total", round((time.perf_counter() - started) * 1000, 1)),))

    def article(self, article_id: str) -> Article | None:
        return self.searcher().store.article(article_id)

    def find_articles(self, text: str, limit: int = 25) -> list[Article]:
        """Articles whose title contains `text` (any case), most recent first."""
        return self.searcher().store.find_articles(text, limit)

    def status(self) -> ServiceStatus:
        manifest = self.searcher().manifest
        return ServiceStatus(
            manifest.articles, manifest.chunks, manifest.model_id, manifest.built_at, self.last_report
        )
