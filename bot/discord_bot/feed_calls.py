"""Calls into the feed service from the event loop: each in a worker thread, one at a time (the service and
its database are used from one thread at a time), waiting without holding a thread of the pool."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, ParamSpec, TypeVar

from bot.discord_bot.service import FeedService

if TYPE_CHECKING:
    from bot.feeds import FeedStatus

P = ParamSpec("P")
T = TypeVar("T")


class FeedCalls:
    """The bot's one door to its FeedService: the scheduled refresh, /feeds, /add and /status all call
    through `run`, so a /feeds list during a refresh waits for the refresh instead of sharing the database
    connection with it."""

    def __init__(self, feeds: FeedService) -> None:
        self.feeds = feeds
        self._one_at_a_time = asyncio.Lock()
        self._statuses: list[FeedStatus] | None = None  # the feeds as the last look found them

    @property
    def busy(self) -> bool:
        """A call (e.g. a refresh) is running: the next one would wait for it."""
        return self._one_at_a_time.locked()

    async def run(self, method: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """`method(*args, **kwargs)` (a method of `feeds`) in a worker thread once no other call runs."""
        async with self._one_at_a_time:
            work = asyncio.ensure_future(asyncio.to_thread(method, *args, **kwargs))
            try:
                return await asyncio.shield(work)
            except asyncio.CancelledError:  # the thread runs on: the next call waits for it to finish
                await asyncio.wait({work})
                raise

    async def statuses(self) -> list[FeedStatus]:
        """Every feed's status; while another call runs (a refresh can take minutes) the statuses of the
        last look, so /status, /feeds list and suggestions answer at once."""
        if self._statuses is None or not self.busy:
            self._statuses = await self.run(self.feeds.list)
        return self._statuses
