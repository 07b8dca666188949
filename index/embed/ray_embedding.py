"""The one module that imports ray: passages embedded by Ray actors across a cluster's workers.

`pitwall index --ray ADDRESS` uses it where texts become vectors; everything else of a build stays local.
ADDRESS is "local" (start a Ray instance on this machine, or use the one this process already runs),
"auto" (join the cluster this machine belongs to) or "ray://host:10001" (a Ray client connection).

Each worker is an actor holding one copy of the embedding model, built by the same recipe as the local
embedder (it embeds with the threads its node gives it). The texts of a call are cut into the local
embedder's own batches (sorted by length) and each worker gets a run of whole batches, so every text is
padded and batched as it would be here and the vectors equal a local build's. A worker whose model id
differs from the local one (another model, or int8 weights quantized for another instruction set) is
refused: its vectors would not match the index.

The `index` package is shipped to the workers with the job (Ray's `py_modules`), so they run the driver's
code; the model must be installable there (the bundled model comes with `pip install pitwall`).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import ray

from index.embed.embedding import Embedder, SpanEmbedder

LOCAL = "local"


class RayEmbeddingError(ValueError):
    """A bad Ray address: Ray cannot be reached, or its workers embed differently from this machine."""


@ray.remote(num_cpus=1)
class _EmbeddingWorker:
    """One copy of the embedding model on one CPU of the cluster."""

    def __init__(self, factory: Callable[[], Embedder]) -> None:
        self._embedder = factory()

    def model_id(self) -> str:
        return self._embedder.model_id

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self._embedder.embed_passages(texts)

    def embed_passages_and_spans(
        self, texts: list[str], spans: list[list[tuple[int, int]]]
    ) -> tuple[np.ndarray, np.ndarray]:
        return self._embedder.embed_passages_and_spans(texts, spans)  # type: ignore[attr-defined]


def connect(address: str, cpus: int | None = None) -> bool:
    """Join (or start, for "local") the Ray cluster at `address`; True if this call started Ray and so must
    stop it. A process that already runs Ray keeps its session."""
    if ray.is_initialized():
        return False
    package = str(Path(__file__).resolve().parent)
    options: dict = {
        "runtime_env": {"py_modules": [package], "env_vars": {"TOKENIZERS_PARALLELISM": "false"}},
        "log_to_driver": False,
        "configure_logging": False,
    }
    try:
        if address == LOCAL:
            ray.init(
                num_cpus=cpus or os.cpu_count() or 1,
                include_dashboard=False,
                object_store_memory=256 * 1024 * 1024,
                _node_ip_address="127.0.0.1",
                **options,
            )
        else:
            ray.init(address=address, **options)
    except (ConnectionError, RuntimeError, ValueError) as error:
        raise RayEmbeddingError(f"cannot reach Ray at {address!r} ({error}): check --ray") from error
    return True


def cluster_cpus() -> int:
    return int(ray.cluster_resources().get("CPU", 0))


class RayEmbedder:
    """An `Embedder` whose passages are embedded by `workers` Ray actors; token counts, queries and the
    model's facts come from `local`, the same model on this machine."""

    engine = "ray"

    def __init__(self, local: Embedder, factory: Callable[[], Embedder], workers: int) -> None:
        if workers < 1:
            raise RayEmbeddingError(f"the Ray cluster offers no CPU for embedding workers (asked {workers})")
        self._local = local
        self.model_id = local.model_id
        self.dimension = local.dimension
        self.max_tokens = local.max_tokens
        self.workers = workers
        self._actors = [_EmbeddingWorker.remote(factory) for _ in range(workers)]
        remote_ids = set(ray.get([actor.model_id.remote() for actor in self._actors]))
        if remote_ids != {self.model_id}:
            self.close()
            raise RayEmbeddingError(
                f"the Ray workers embed with {sorted(remote_ids)}, this machine with {self.model_id!r}: "
                "install the same model and embedding backend on every node (or embed locally)"
            )

    def token_lengths(self, texts: Sequence[str]) -> list[int]:
        return self._local.token_lengths(texts)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._local.embed_queries(texts)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        plan = self._plan(texts)
        parts = ray.get(
            [
                actor.embed_passages.remote([texts[i] for i in part])
                for actor, part in zip(self._actors, plan, strict=False)
            ]
        )
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for part, found in zip(plan, parts, strict=True):
            vectors[part] = found
        return vectors

    def _plan(self, texts: Sequence[str]) -> list[np.ndarray]:
        """Which texts each worker embeds: whole batches of the local embedder, in its order (by length
        in word pieces, as it cuts a call into batches), a contiguous run of batches per worker. A worker
        so pads and batches every text as this machine would, and the vectors come out the same (with
        int8 weights, activations are quantized per batch: another batch would shift them)."""
        limit = self.max_tokens
        lengths = [min(n, limit) for n in self._local.token_lengths(texts)]
        order = np.array(sorted(range(len(texts)), key=lambda i: lengths[i]), dtype=np.int64)
        batch = int(getattr(self._local, "batch_size", 32))
        batches = math.ceil(len(texts) / batch)
        per_worker = math.ceil(batches / len(self._actors))
        step = per_worker * batch
        return [order[begin : begin + step] for begin in range(0, len(texts), step)]

    def close(self) -> None:
        for actor in self._actors:
            ray.kill(actor)
        self._actors = []


class RaySpanEmbedder(RayEmbedder):
    """A `RayEmbedder` over a model that pools span vectors from the passage's forward pass
    (`SpanEmbedder`): the build's quote units are pooled on the workers as they are locally."""

    def embed_passages_and_spans(
        self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]]
    ) -> tuple[np.ndarray, np.ndarray]:
        if len(spans) != len(texts):
            raise ValueError(f"{len(texts)} passages but spans for {len(spans)}")
        offsets = np.cumsum([0, *(len(s) for s in spans)])
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        pooled = np.zeros((int(offsets[-1]), self.dimension), dtype=np.float32)
        if not texts:
            return vectors, pooled
        plan = self._plan(texts)
        parts = ray.get(
            [
                actor.embed_passages_and_spans.remote(
                    [texts[i] for i in part], [list(spans[i]) for i in part]
                )
                for actor, part in zip(self._actors, plan, strict=False)
            ]
        )
        for part, (found, found_spans) in zip(plan, parts, strict=True):
            vectors[part] = found
            start = 0
            for i in part:  # the worker's span vectors come passage by passage, in its order
                count = len(spans[i])
                pooled[offsets[i] : offsets[i] + count] = found_spans[start : start + count]
                start += count
        return vectors, pooled


def ray_embedder(local: Embedder, factory: Callable[[], Embedder], workers: int) -> RayEmbedder:
    """The Ray embedder that embeds as `local` does (pooling spans if `local` can)."""
    kind = RaySpanEmbedder if isinstance(local, SpanEmbedder) else RayEmbedder
    return kind(local, factory, workers)


def shutdown() -> None:
    ray.shutdown()
