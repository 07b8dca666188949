"""The one module that imports faiss: inner-product search over unit vectors.

The index type follows the corpus size (measured with `pitwall bench`, see docs/performance.md):
- "flat": exact search (IndexFlatIP) up to EXACT_UP_TO vectors, where one query still takes a few ms;
- "ivf-sq8": beyond it, an inverted file of sqrt(n) lists with 8-bit scalar-quantized vectors
  (IndexIVFScalarQuantizer, inner product), NPROBE lists searched per query: recall@10 against exact
  search >= 0.95, a quarter of the memory.
Both load memory-mapped (`load(mmap=True)`): the vectors stay in the file's page cache, not in the process.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import faiss
import numpy as np

IndexKind = Literal["flat", "ivf-sq8"]
KINDS: tuple[IndexKind, ...] = ("flat", "ivf-sq8")
EXACT_UP_TO = 50_000  # vectors; above this, exact search p50 passes a few ms on this machine
NPROBE = 32  # inverted lists searched per query (of about sqrt(n))
TRAIN_PER_LIST = 40  # k-means training points per list (faiss wants at least 39)
# One query is searched on one thread: on 2 busy cores, OpenMP's second thread made an exact search of
# 50,000 vectors take 36 ms instead of 3 ms. (The setting is per calling thread.)
SEARCH_THREADS = 1


def choose_kind(size: int, exact_up_to: int = EXACT_UP_TO) -> IndexKind:
    """The index type for `size` vectors: exact up to `exact_up_to`, approximate beyond."""
    return "flat" if size <= exact_up_to else "ivf-sq8"


def list_count(size: int) -> int:
    """Inverted lists for `size` vectors: about sqrt(size), with enough vectors to train each."""
    return max(1, min(int(math.sqrt(size)), size // TRAIN_PER_LIST))


class DenseIndex:
    """Inner-product (cosine, for unit vectors) search, exact or approximate by `kind`."""

    def __init__(self, index: faiss.Index) -> None:
        self._index = index

    @classmethod
    def build(
        cls, vectors: np.ndarray, kind: IndexKind | None = None, exact_up_to: int = EXACT_UP_TO
    ) -> DenseIndex:
        """An index over `vectors`; its type is `kind`, or chosen by size (`choose_kind`)."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        size, dimension = vectors.shape
        kind = kind or choose_kind(size, exact_up_to)
        if kind == "flat":
            index = faiss.IndexFlatIP(dimension)
        elif kind == "ivf-sq8":
            nlist = list_count(size)
            index = faiss.IndexIVFScalarQuantizer(
                faiss.IndexFlatIP(dimension),
                dimension,
                nlist,
                faiss.ScalarQuantizer.QT_8bit,
                faiss.METRIC_INNER_PRODUCT,
            )
            sample = np.random.default_rng(0).choice(size, min(size, nlist * TRAIN_PER_LIST), replace=False)
            index.train(vectors[np.sort(sample)])
            index.nprobe = min(NPROBE, nlist)
        else:
            raise ValueError(f"unknown dense index type {kind!r}; use one of {', '.join(KINDS)}")
        index.add(vectors)
        return cls(index)

    def __len__(self) -> int:
        return int(self._index.ntotal)

    @property
    def dimension(self) -> int:
        return int(self._index.d)

    @property
    def kind(self) -> IndexKind:
        return "ivf-sq8" if isinstance(self._index, faiss.IndexIVF) else "flat"

    def search(
        self, query: np.ndarray, k: int, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The `k` best (scores, rows) for one query vector; `allowed` (sorted row ids) restricts the rows."""
        k = min(k, len(self) if allowed is None else len(allowed))
        if k <= 0:
            return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
        params = None
        if allowed is not None or self.kind != "flat":
            params = self._search_parameters(allowed)
        threads = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(SEARCH_THREADS)
        try:
            scores, rows = self._index.search(
                np.asarray(query, dtype=np.float32).reshape(1, -1), k, params=params
            )
        finally:
            faiss.omp_set_num_threads(threads)  # builds in this thread keep every core
        keep = rows[0] >= 0
        return scores[0][keep], rows[0][keep]

    def _search_parameters(self, allowed: np.ndarray | None) -> faiss.SearchParameters:
        selector = None if allowed is None else faiss.IDSelectorBatch(np.asarray(allowed, dtype=np.int64))
        if self.kind == "flat":
            return faiss.SearchParameters(sel=selector)
        ivf = faiss.extract_index_ivf(self._index)
        nprobe = ivf.nprobe
        if allowed is not None:  # a date filter: search more lists, so as many allowed vectors are seen
            nprobe = math.ceil(nprobe * len(self) / max(1, len(allowed)))
        return faiss.SearchParametersIVF(sel=selector, nprobe=min(nprobe, ivf.nlist))

    def write(self, write: Callable[[bytes], object]) -> None:
        """Serialize the index into `write`, piece by piece; an error `write` raises propagates as is."""
        faiss.write_index(self._index, faiss.PyCallbackIOWriter(write))

    def save(self, path: Path) -> None:
        faiss.write_index(self._index, str(path))

    @classmethod
    def load(cls, path: Path, mmap: bool = False) -> DenseIndex:
        """Read an index; with `mmap` its vectors stay in the file and are paged in when searched."""
        return cls(faiss.read_index(str(path), _mmap_flags(path) if mmap else 0))


def _mmap_flags(path: Path) -> int:
    """faiss maps the lists of an IVF index with IO_FLAG_MMAP, but the vectors of a flat index only with
    IO_FLAG_MMAP_IFC (IO_FLAG_MMAP reads them into memory, IO_FLAG_MMAP_IFC fails on IVF)."""
    with open(path, "rb") as handle:
        flat = handle.read(3) == b"IxF"  # the fourcc of IndexFlat* ("IxFI": inner product)
    flag = getattr(faiss, "IO_FLAG_MMAP_IFC", faiss.IO_FLAG_MMAP) if flat else faiss.IO_FLAG_MMAP
    return flag | faiss.IO_FLAG_READ_ONLY
