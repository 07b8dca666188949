"""The one module that imports ray: passages embedded by Ray actors across a cluster's workers.

`pitwall index --ray ADDRESS` uses it where texts become vectors; everything else of a build stays local.
ADDRESS is "local" (start a Ray instance on this machine, or use the one this process already runs),
"auto" (join the cluster this machine belongs to) or "ray://host:10001" (a Ray client connection).

Each worker is an actor holding one copy of the embedding model, built by the same factory as the local
embedder, on one CPU. A batch of passages is split into contiguous slices, one per worker, in the order
the build hands them (sorted by length), and the vectors come back in that order. A worker whose model id
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

from index.embedding import Embedder

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
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        size = math.ceil(len(texts) / len(self._actors))
        slices = [texts[begin : begin + size] for begin in range(0, len(texts), size)]
        parts = ray.get(
            [actor.embed_passages.remote(part) for actor, part in zip(self._actors, slices, strict=False)]
        )
        return np.ascontiguousarray(np.concatenate(parts), dtype=np.float32)

    def close(self) -> None:
        for actor in self._actors:
            ray.kill(actor)
        self._actors = []


def shutdown() -> None:
    ray.shutdown()
