"""Per-user rate limit and per-server limit on questions answered at once. Pure (the clock is injected)."""

from __future__ import annotations

import math
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager

WINDOW_SECONDS = 60.0


class Throttled(Exception):
    """A question refused for now; the message is meant for the asker."""


class Throttle:
    def __init__(
        self,
        per_user_per_minute: int,
        max_concurrent_per_server: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_user_per_minute = per_user_per_minute
        self.max_concurrent_per_server = max_concurrent_per_server
        self._clock = clock
        self._asked: defaultdict[int, deque[float]] = defaultdict(deque)
        self._running: defaultdict[int | None, int] = defaultdict(int)

    @contextmanager
    def question(self, user_id: int, server_id: int | None) -> Iterator[None]:
        """Hold a slot while a question is answered; Throttled if the user or server is over its limit."""
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
        if self._running[server_id] >= self.max_concurrent_per_server:
            raise Throttled(
                f"I'm answering {self.max_concurrent_per_server} questions in this server right now. "
                "Please ask again in a moment."
            )
        asked.append(now)
        self._running[server_id] += 1
        try:
            yield
        finally:
            self._running[server_id] -= 1
