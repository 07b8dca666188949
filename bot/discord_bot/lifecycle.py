"""The work in flight: every question being answered, so a stop can finish or answer it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from bot.discord_bot.throttle import RateLimit, ServerQueues
from index.errors import UserError

log = logging.getLogger(__name__)

RESTARTING = "Pitwall is restarting and takes no new questions right now. Please ask again in a minute."
ABANDONED = "Sorry, Pitwall had to stop before this answer was ready. Please ask again in a minute."


class ShuttingDown(UserError):
    """A question that arrived after the stop began."""

    def __init__(self) -> None:
        super().__init__(RESTARTING)


class InFlight:
    """Tracks the tasks answering someone. `drain` stops new work, waits, then cancels and apologises."""

    def __init__(self) -> None:
        self.accepting = True
        self._tasks: dict[asyncio.Task[object], Callable[[], Awaitable[object]]] = {}
        self._abandoning = False

    def __len__(self) -> int:
        return len(self._tasks)

    @asynccontextmanager
    async def track(self, apologise: Callable[[], Awaitable[object]]) -> AsyncIterator[None]:
        """Run the body as work in flight; `apologise()` tells the asker if a stop cuts it short."""
        if not self.accepting:
            raise ShuttingDown()
        task = asyncio.current_task()
        assert task is not None
        self._tasks[task] = apologise
        try:
            yield
        except asyncio.CancelledError:
            if self._abandoning:
                try:
                    await asyncio.wait_for(apologise(), 5)
                except Exception:
                    log.warning("could not tell the asker that the answer was abandoned", exc_info=True)
            raise
        finally:
            self._tasks.pop(task, None)

    async def drain(self, grace: float) -> tuple[int, int]:
        """Take no new work, give the running work `grace` seconds, then cancel what is left (each asker
        is told). Returns (finished, abandoned)."""
        self.accepting = False
        running = set(self._tasks)
        if running:
            await asyncio.wait(running, timeout=grace)
        left = [task for task in running if not task.done()]
        self._abandoning = True
        for task in left:
            task.cancel()
        if left:
            await asyncio.wait(left, timeout=10)
        return len(running) - len(left), len(left)


@dataclass(frozen=True)
class Admission:
    """What a question passes before it is answered: the asker's rate limit, the server's queue, and the
    record of work in flight."""

    rate_limit: RateLimit
    queues: ServerQueues
    in_flight: InFlight

    def admit(self, user_id: int, server_id: int | None) -> Hashable:
        """Count the question now (Throttled or ShuttingDown if it can't be taken); returns its queue key."""
        if not self.in_flight.accepting:
            raise ShuttingDown()
        key = ServerQueues.key(server_id, user_id)
        self.queues.check(key)
        self.rate_limit.admit(user_id)
        return key
