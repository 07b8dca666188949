"""Per-user rate limit (pure, the clock injected) and the per-server queue of questions being answered."""

from __future__ import annotations

import asyncio
import math
import time
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Callable, Hashable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

WINDOW_SECONDS = 60.0


class Throttled(Exception):
    """A question refused for now; the message is meant for the asker."""


class RateLimit:
    """At most `per_user_per_minute` questions per user in any 60 seconds."""

    def __init__(self, per_user_per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_user_per_minute = per_user_per_minute
        self._clock = clock
        self._asked: defaultdict[int, deque[float]] = defaultdict(deque)

    def admit(self, user_id: int) -> None:
        """Count a question of `user_id`; Throttled (with the wait) if they are over the limit."""
        now = self._clock()
        asked = self._asked[user_id]
        while asked and asked[0] <= now - WINDOW_SECONDS:
            asked.popleft()
        if len(asked) >= self.per_user_per_minute:
            wait = math.ceil(asked[0] + WINDOW_SECONDS - now)
            raise Throttled(
                f"Easy there: you can ask {self.per_user_per_minute} questions a minute. "
                f"Try again in {wait} s."
            )
        asked.append(now)


@dataclass
class _Line:
    running: int = 0
    waiting: deque[asyncio.Future[None]] = field(default_factory=deque)


class ServerQueues:
    """Per server, `max_running` questions answered at once and up to `max_waiting` more queued in order.

    Only a full queue refuses (Throttled). Direct messages queue per user (key `("dm", user_id)`)."""

    def __init__(self, max_running: int, max_waiting: int) -> None:
        self.max_running = max_running
        self.max_waiting = max_waiting
        self._lines: defaultdict[Hashable, _Line] = defaultdict(_Line)

    @staticmethod
    def key(server_id: int | None, user_id: int) -> Hashable:
        return server_id if server_id is not None else ("dm", user_id)

    def check(self, key: Hashable) -> None:
        """Throttled if a question for `key` could not even wait in line now (the queue is full)."""
        line = self._lines[key]
        if (line.running >= self.max_running or line.waiting) and len(line.waiting) >= self.max_waiting:
            raise Throttled(
                f"I'm answering {line.running} questions in this server and {len(line.waiting)} more "
                "are waiting. Please ask again in a minute."
            )

    @asynccontextmanager
    async def slot(self, key: Hashable) -> AsyncIterator[None]:
        """Hold one of the server's slots while a question is answered, waiting in line for it if needed."""
        line = self._lines[key]
        self.check(key)
        if line.running >= self.max_running or line.waiting:
            turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            line.waiting.append(turn)
            try:
                await turn  # a finishing question hands its slot over (running stays the same)
            except BaseException:
                if turn in line.waiting:
                    line.waiting.remove(turn)
                elif turn.done() and not turn.cancelled():
                    self._release(line)  # the slot was handed over just as we gave up: pass it on
                raise
        else:
            line.running += 1
        try:
            yield
        finally:
            self._release(line)

    @staticmethod
    def _release(line: _Line) -> None:
        while line.waiting:
            turn = line.waiting.popleft()
            if not turn.done():
                turn.set_result(None)
                return
        line.running -= 1
