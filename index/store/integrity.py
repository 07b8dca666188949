"""Is a generation of the index what its build wrote? Each file's size and SHA-256, recorded in the
manifest as the file is written, are checked when the generation is loaded: sizes first (a stat each),
then the checksums, streamed, two files at a time (hashlib works outside the GIL). SHA-256 rather than
BLAKE2b: with the CPU's SHA extensions it is about twice as fast here.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

CHECKSUM = "sha256"
HASH_THREADS = 2


class FileDamaged(Exception):
    """One file of a generation is missing or not what the manifest says."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"{name}: {reason}")
        self.name = name
        self.reason = reason


class HashingWriter:
    """A file being written and hashed in one go. numpy and faiss write to it piece by piece, so a full
    disk is the OSError (ENOSPC) of the write that failed, not a message about bytes requested."""

    def __init__(self, handle) -> None:
        self._handle = handle
        self._hash = hashlib.new(CHECKSUM)
        self.size = 0

    def write(self, data: bytes) -> int:
        self._handle.write(data)
        self._hash.update(data)
        self.size += len(data)
        return len(data)

    def record(self) -> dict[str, int | str]:
        return {"bytes": self.size, CHECKSUM: self._hash.hexdigest()}


def write_file(path: Path, fill: Callable[[HashingWriter], object]) -> dict[str, int | str]:
    """Create `path`, let `fill` write its bytes, flush them to disk; the file's size and checksum."""
    with open(path, "wb") as handle:
        writer = HashingWriter(handle)
        fill(writer)
        handle.flush()
        os.fsync(handle.fileno())
    return writer.record()


def file_record(path: Path) -> dict[str, int | str]:
    """Size and checksum of a file another library wrote (read back once)."""
    with open(path, "rb") as handle:
        digest = hashlib.file_digest(handle, CHECKSUM).hexdigest()
        os.fsync(handle.fileno())
    return {"bytes": path.stat().st_size, CHECKSUM: digest}


def verify_files(
    generation: Path, records: Mapping[str, Mapping[str, int | str]], *, checksums: bool = True
) -> None:
    """Raise FileDamaged for the first file that is missing, of another size or (with `checksums`)
    another checksum."""
    for name, record in records.items():
        try:
            size = (generation / name).stat().st_size
        except FileNotFoundError:
            raise FileDamaged(name, "the file is missing") from None
        if size != record["bytes"]:
            raise FileDamaged(name, f"{size:,} bytes where the build wrote {record['bytes']:,}")
    if not checksums:
        return
    names = sorted(records, key=lambda name: -int(records[name]["bytes"]))  # the largest first
    with ThreadPoolExecutor(HASH_THREADS) as pool:
        for name, digest in zip(names, pool.map(lambda name: _digest(generation / name), names), strict=True):
            if digest != records[name][CHECKSUM]:
                raise FileDamaged(name, "its bytes differ from what the build wrote (checksum mismatch)")


def json_checksum(document: Mapping[str, object]) -> str:
    """The checksum of a JSON document (the manifest checks itself with it)."""
    canonical = json.dumps(document, sort_keys=True, ensure_ascii=False).encode()
    return hashlib.new(CHECKSUM, canonical).hexdigest()


def _digest(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, CHECKSUM).hexdigest()
