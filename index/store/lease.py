"""One writer per index, across processes and hosts: a lease with an owner, an expiry and a heartbeat.

Every build (`pitwall index`, `/reindex`, a feed refresh, `pitwall fetch`) holds the index's lease while it
runs: `with build_lock(index_dir, what="pitwall index") as lease:` for the FAISS store (the lease is a file
in the shared index folder), `MilvusWriter.build_lock(...)` for Milvus (the lease is a row of a small
collection in the same Milvus). A second writer gets `IndexBusy` at once, naming the holder (what build,
host, pid, since when).

A lease record says who holds it, until when (`expires`, renewed by a heartbeat thread every third of the
lease time) and what the build creates (`work`: staging folders and generations, recorded before they are
made). Taking the lease is a claim under a new number (`epoch`, one above the highest seen) followed by a
read-back: the claim wins only if no other live record and no higher epoch is there. Two claimants each
write before they read, so at most one of them reads a board without the other (the flag principle);
the folder board also writes the claim with `link`, which fails when that epoch's file exists. A holder
that died (its lease expired; on the same machine, its process is gone) loses the lease to the next
build, which first removes what the dead one recorded in `work` and nothing else.

Before it switches the live index (the `current` link, the Milvus alias) a build calls `lease.fence()`: its
record must still be there under its token, with no live or newer record beside it, and is renewed; else the
build lost the lease (paused or cut off longer than the lease time, and another build took over) and
publishes nothing. docs/scaling.md explains the failure cases (a holder that dies, clock skew,
a partition, the store down).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import shutil
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Protocol

from index.store.generations import CURRENT, IndexBusy, IndexStoreError, current_generation

log = logging.getLogger(__name__)
LEASE_SECONDS = 60.0  # a dead holder blocks builds at most this long (default of PITWALL_LEASE_SECONDS)
CLAIM_ATTEMPTS = 3  # claims that collide (both claimants see each other) are retried after a short wait
LEASE_FOLDER = ".lease"  # in the index folder: one file per epoch
_WORK_NAME = re.compile(r"(tmp|gen)-[A-Za-z0-9_.-]+")  # what a FAISS build may record in `work`


class LeaseLost(IndexStoreError):
    """The build's lease expired while it ran and another build took over; nothing was published."""


@dataclass(frozen=True)
class Holder:
    """One lease record: who holds (or held) the index, until when, and what its build creates."""

    epoch: int
    token: str
    what: str  # the build: "pitwall index", "/reindex", "feed refresh", ...
    host: str
    pid: int
    machine: str  # boot and pid namespace: equal on the same machine, where the pid can be checked
    since: float  # unix time the lease was taken
    expires: float  # unix time, by the holder's clock
    work: tuple[str, ...] = ()
    released: bool = False
    process_start: str = ""  # the pid's start time on `machine` (a reused pid is another process)

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> Holder:
        """KeyError, TypeError or ValueError when the record is not one of ours."""
        holder = cls(**{name: data[name] for name in cls.__dataclass_fields__ if name in data})
        if not isinstance(holder.epoch, int) or not isinstance(holder.token, str):
            raise TypeError("not a lease record")
        return replace(holder, work=tuple(str(name) for name in holder.work))

    def live(self, now: float) -> bool:
        """Held by a running build (by this machine's clock and, on the holder's machine, its pid)."""
        return not self.released and now < self.expires and not _dead_here(self)

    def describe(self) -> str:
        since = dt.datetime.fromtimestamp(self.since, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        return f"{self.what} on host {self.host}, pid {self.pid}, since {since}"


class LeaseBoard(Protocol):
    """Where the lease records of one index live (a folder, a Milvus collection)."""

    where: str  # named in messages

    def read(self) -> list[Holder]: ...

    def claim(self, holder: Holder) -> bool:
        """Write a new record; False when that epoch's record exists (a board that can tell)."""
        ...

    def write(self, holder: Holder) -> None:
        """Replace the record of `holder.epoch` and `holder.token` (renewal, work, release)."""
        ...

    def remove(self, holders: Sequence[Holder]) -> None: ...


Cleanup = Callable[[tuple[str, ...]], None]  # removes what a dead build recorded in `work`


class Lease:
    """A held lease: renewed by a heartbeat thread until released; `record` and `fence` for the build."""

    def __init__(self, board: LeaseBoard, holder: Holder, seconds: float) -> None:
        self.board = board
        self.holder = holder
        self.seconds = seconds
        self._lock = threading.Lock()
        self._lost: str | None = None  # why, once the heartbeat found another holder
        self._stop = threading.Event()
        self._heartbeat = threading.Thread(target=self._beat, name="pitwall-lease", daemon=True)

    def record(self, name: str) -> None:
        """Note something this build is about to create, so the next build removes it if this one dies."""
        with self._lock:
            self.holder = replace(self.holder, work=(*self.holder.work, name))
            self.board.write(self.holder)

    def check(self) -> None:
        """LeaseLost when the heartbeat found another holder or the lease ran out by this machine's clock
        (cheap: no request; a writer calls it before each write into a live index)."""
        if self._lost:
            raise self._lost_error(self._lost)
        if time.time() >= self.holder.expires:
            raise self._lost_error("it ran out before the heartbeat could renew it")

    def fence(self) -> None:
        """LeaseLost unless this build still holds the lease: renews it (a full lease time left) or finds
        that another build took over. Called just before the live index is switched."""
        try:
            self._renew()
        except Exception as error:  # noqa: BLE001 - the store cannot be reached: do not switch blind
            self._lost = f"it could not be renewed ({type(error).__name__}: {error})"
        if self._lost:
            raise self._lost_error(self._lost)

    def _lost_error(self, why: str) -> LeaseLost:
        return LeaseLost(
            f"this build ({self.holder.what}) lost the lease of {self.board.where}: {why}; nothing was "
            "published, the live index is unchanged"
        )

    def _beat(self) -> None:
        while not self._stop.wait(self.seconds / 3):
            try:
                self._renew()
            except Exception:  # noqa: BLE001 - the store may be unreachable for a moment; fence() decides
                continue
            if self._lost:
                return

    def _renew(self) -> None:
        with self._lock:
            if self._lost:
                return
            now = time.time()
            others = _rivals(self.board.read(), self.holder, now)
            if others is not None:
                self._lost = others
                return
            self.holder = replace(self.holder, expires=now + self.seconds)
            self.board.write(self.holder)

    def _release(self) -> None:
        self._stop.set()
        if self._heartbeat.is_alive():
            self._heartbeat.join()
        if self._lost:
            return
        with self._lock:
            self.holder = replace(self.holder, released=True, work=(), expires=time.time())
            try:
                self.board.write(self.holder)
            except Exception:  # noqa: BLE001 - unreachable: the lease runs out by itself
                log.warning("could not release the lease of %s; it expires by itself", self.board.where)


def _rivals(records: Sequence[Holder], mine: Holder, now: float) -> str | None:
    """Why `mine` does not hold the lease in `records` (None when it does)."""
    own = [r for r in records if r.epoch == mine.epoch and r.token == mine.token]
    if not own:
        newer = max((r for r in records if r.epoch > mine.epoch), key=lambda r: r.epoch, default=None)
        return f"its record is gone{'; ' + newer.describe() + ' took over' if newer else ''}"
    for other in records:
        if other.token != mine.token and (other.epoch >= mine.epoch or other.live(now)):
            return f"{other.describe()} took over"
    return None


@contextmanager
def hold_lease(
    board: LeaseBoard, what: str, *, seconds: float = LEASE_SECONDS, cleanup: Cleanup | None = None
) -> Iterator[Lease]:
    """Take the lease of `board` for the build `what` (IndexBusy at once when another build holds it),
    remove what dead holders recorded, and hold it (renewed) until the block ends."""
    lease = _take(board, what, seconds, cleanup)
    lease._heartbeat.start()
    try:
        yield lease
    finally:
        lease._release()


def current_holder(board: LeaseBoard) -> Holder | None:
    """The build holding the lease now, if any."""
    return _live_holder(board.read(), time.time())


def _take(board: LeaseBoard, what: str, seconds: float, cleanup: Cleanup | None) -> Lease:
    host, machine = this_machine()
    for attempt in range(CLAIM_ATTEMPTS):
        records = board.read()
        now = time.time()
        holder = _live_holder(records, now)
        if holder is not None:
            raise _busy(board, holder)
        mine = Holder(
            epoch=max((r.epoch for r in records), default=0) + 1,
            token=uuid.uuid4().hex,
            what=what,
            host=host,
            pid=os.getpid(),
            machine=machine,
            since=now,
            expires=now + seconds,
            process_start=_process_start(os.getpid()),
        )
        if board.claim(mine):
            seen = board.read()  # the flag principle: a rival that wrote before this read is in it
            if _rivals(seen, mine, time.time()) is None:
                dead = [r for r in seen if r.token != mine.token]
                try:
                    for record in dead:
                        if cleanup is not None and not record.released and record.work:
                            cleanup(record.work)
                    board.remove(dead)
                except BaseException:
                    board.remove([mine])  # not held after all: the next build cleans up again
                    raise
                return Lease(board, mine, seconds)
            board.remove([mine])
        time.sleep(0.05 + 0.1 * attempt)
    holder = _live_holder(board.read(), time.time())
    if holder is not None:
        raise _busy(board, holder)
    raise IndexBusy(f"another build of {board.where} is starting at this moment; try again")


def _live_holder(records: Sequence[Holder], now: float) -> Holder | None:
    live = [record for record in records if record.live(now)]
    return max(live, key=lambda record: record.epoch, default=None)


def _busy(board: LeaseBoard, holder: Holder) -> IndexBusy:
    return IndexBusy(
        f"another build of {board.where} is running: {holder.describe()}; try again when it has finished"
    )


# --- the machine and its processes ---


def this_machine() -> tuple[str, str]:
    """This host's name, and an id equal only for processes that can see each other's pids (the boot of
    the kernel and the pid namespace; "" where they cannot be read, then pids are never checked)."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        namespace = os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        return socket.gethostname(), ""
    return socket.gethostname(), f"{boot}/{namespace}"


def _process_start(pid: int) -> str:
    """The start time of process `pid` in clock ticks since boot ("" when unknown; "gone" if it is not
    running or a zombie)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return "gone"
    except OSError:
        return ""
    fields = stat[stat.rindex(")") + 2 :].split()  # after the command name, which may hold spaces
    return "gone" if fields[0] in ("Z", "X") else fields[19]


def _dead_here(holder: Holder) -> bool:
    """The holder ran on this machine and its process is gone (no need to wait for the expiry)."""
    if not holder.machine or holder.machine != this_machine()[1]:
        return False
    started = _process_start(holder.pid)
    return started == "gone" or (bool(holder.process_start) and started not in ("", holder.process_start))


# --- the FAISS store: a lease folder in the (shared) index folder ---


class FolderBoard:
    """Lease records as files `.lease/<epoch>.json` in the index folder (a local or shared file system:
    a claim is a `link`, which fails when the file exists, also over NFS)."""

    def __init__(self, index_dir: Path) -> None:
        self.folder = index_dir / LEASE_FOLDER
        self.where = str(index_dir)

    def read(self) -> list[Holder]:
        records = []
        try:
            names = sorted(os.listdir(self.folder))
        except FileNotFoundError:
            return []
        for name in names:
            if not re.fullmatch(r"\d{12}\.json", name):
                continue
            try:
                records.append(Holder.from_json(json.loads((self.folder / name).read_text(encoding="utf-8"))))
            except FileNotFoundError:
                continue  # removed since the listing
            except PermissionError as error:  # a record no one can judge must not count as free
                raise IndexStoreError(
                    f"cannot read the lease record {self.folder / name} ({error.strerror}): every process "
                    f"that builds this index must be able to read and write {self.folder}"
                ) from None
            except (OSError, ValueError, KeyError, TypeError):
                # being replaced or damaged: an unreadable epoch still counts, so no one claims it again
                records.append(_unreadable(int(name[:12])))
        return records

    def claim(self, holder: Holder) -> bool:
        staged = self._staged(holder)
        try:
            os.link(staged, self._path(holder))
            return True
        except FileExistsError:
            return False
        finally:
            staged.unlink(missing_ok=True)

    def write(self, holder: Holder) -> None:
        os.replace(self._staged(holder), self._path(holder))

    def remove(self, holders: Sequence[Holder]) -> None:
        for holder in holders:
            path = self._path(holder)
            try:
                current = Holder.from_json(json.loads(path.read_text(encoding="utf-8")))
            except (OSError, ValueError, KeyError, TypeError):
                current = None
            if current is None or current.token == holder.token:
                path.unlink(missing_ok=True)

    def _path(self, holder: Holder) -> Path:
        return self.folder / f"{holder.epoch:012d}.json"

    def _staged(self, holder: Holder) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(prefix=".claim-", dir=self.folder)
        os.fchmod(handle, 0o644)  # builds of other users (on other hosts) read it
        with os.fdopen(handle, "w", encoding="utf-8") as out:  # no fsync: a power cut ends every holder
            json.dump(holder.to_json(), out)  # of this machine anyway (NFS writes it back on close)
        return Path(name)


def _unreadable(epoch: int) -> Holder:
    """A record that could not be read: it blocks its epoch, expires at once and owns nothing."""
    return Holder(epoch, "unreadable", "an unreadable lease record", "?", 0, "", 0.0, 0.0)


@contextmanager
def build_lock(index_dir: Path, what: str = "a build", seconds: float = LEASE_SECONDS) -> Iterator[Lease]:
    """One build at a time of the FAISS index in `index_dir`, whichever process or host runs it: IndexBusy
    at once when another build holds the lease; what a dead build recorded is removed first."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with hold_lease(
        FolderBoard(index_dir), what, seconds=seconds, cleanup=lambda work: remove_work(index_dir, work)
    ) as lease:
        yield lease


def remove_work(index_dir: Path, work: tuple[str, ...]) -> None:
    """Remove the staging folders and generations a dead build recorded, never the live generation."""
    try:
        live = current_generation(index_dir)
    except IndexStoreError:
        live = None
    for name in work:
        if not _WORK_NAME.fullmatch(name) or name == CURRENT or (live is not None and live.name == name):
            continue
        path = index_dir / name
        if path.is_symlink():
            path.unlink(missing_ok=True)
        elif path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
