"""The scheduled feed refresh of `pitwall bot`: every few minutes a worker thread fetches every feed and
updates the index (`FeedService.fetch`, which builds through `AnswerService.reindex`: the one build entry
point, so the new index is swapped in when it is published and answers come from the old one until then).

Only the process running shard 0 (or an unsharded process) refreshes; a round that finds another build
running (`IndexBusy`) is skipped with a log line, and the next round comes at the usual time."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable

from bot.discord_bot.feed_panels import RefreshState, fetch_summary
from bot.discord_bot.service import FeedService
from index.errors import UserError
from index.store.generations import IndexBusy

log = logging.getLogger(__name__)


class FeedRefresh:
    """Fetches every feed each `every_seconds` (0: never), in a worker thread, in the process that `here`
    says refreshes. `start()` begins the schedule; `stop()` ends it (a fetch already running finishes in
    its thread: the build publishes atomically)."""

    def __init__(
        self,
        feeds: FeedService,
        every_seconds: float,
        *,
        here: bool,
        ready: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        """`ready` is awaited before the first round (the bot's model and index loading)."""
        self.feeds = feeds
        self.every_seconds = every_seconds
        self.here = here
        self._ready = ready
        self._next: dt.datetime | None = None
        self._running_since: dt.datetime | None = None
        self._task: asyncio.Task[None] | None = None
        self.rounds = 0  # rounds finished (fetched, skipped or failed): for tests and diagnostics

    @property
    def scheduled(self) -> bool:
        return self.here and self.every_seconds > 0

    def state(self) -> RefreshState:
        minutes = self.every_seconds / 60
        if self.every_seconds <= 0:
            return RefreshState("off")
        if not self.here:
            return RefreshState("elsewhere", every_minutes=minutes)
        if self._running_since is not None:
            return RefreshState("running", self._running_since, minutes)
        return RefreshState("scheduled", self._next, minutes)

    def start(self) -> None:
        if self.scheduled and self._task is None:
            self._next = _now() + dt.timedelta(seconds=self.every_seconds)
            self._task = asyncio.create_task(self._run_forever(), name="pitwall-feed-refresh")
            log.info("feeds: refreshing every %s min", f"{self.every_seconds / 60:g}")

    def stop(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()

    async def _run_forever(self) -> None:
        if self._ready is not None:
            await self._ready()
        while True:
            assert self._next is not None
            await asyncio.sleep(max((self._next - _now()).total_seconds(), 0.0))
            await self.refresh_once()
            self._next = _now() + dt.timedelta(seconds=self.every_seconds)

    async def refresh_once(self) -> None:
        """One round: fetch every feed and update the index in a worker thread; never raises (a failed round
        is logged and the next one tries again)."""
        self._running_since = _now()
        try:
            report = await asyncio.to_thread(self.feeds.fetch, what="the scheduled feed refresh")
        except IndexBusy as busy:
            log.info("feeds: refresh skipped, the index is being built: %s", busy)
        except UserError as error:  # e.g. the corpus folder is gone: one line, no traceback, every round
            log.warning("feeds: refresh failed: %s", error)
        except Exception:
            log.exception("feeds: refresh failed; the next round tries again")
        else:
            log.info("feeds: refreshed: %s", fetch_summary(report))
        finally:
            self._running_since = None
            self.rounds += 1


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
