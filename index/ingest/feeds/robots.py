"""robots.txt, fetched once per host and round through the downloader, and obeyed.

As the big crawlers read it: a 4xx (no robots.txt) allows everything; a 5xx or no answer at all disallows
the host for this round (the site may be in trouble; ask again next round).
"""

from __future__ import annotations

import urllib.robotparser
from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

if TYPE_CHECKING:
    from index.ingest.feeds.http import Response


class RobotsRules:
    """`allowed(url)` for the user agent, with each host's robots.txt read at most once."""

    def __init__(self, fetch: Callable[[str], Response], user_agent: str) -> None:
        self._fetch = fetch
        self._agent = user_agent.split("/")[0]  # "Pitwall" of "Pitwall/0.1.0 (+...)"
        self._rules: dict[str, urllib.robotparser.RobotFileParser | bool] = {}

    def allowed(self, url: str) -> bool:
        parts = urlsplit(url)
        origin = (parts.scheme, parts.netloc.lower())
        key = "://".join(origin)
        if key not in self._rules:
            self._rules[key] = self._read(urlunsplit((*origin, "/robots.txt", "", "")))
        rules = self._rules[key]
        return rules if isinstance(rules, bool) else rules.can_fetch(self._agent, url)

    def _read(self, robots_url: str) -> urllib.robotparser.RobotFileParser | bool:
        from index.ingest.feeds.http import FetchError

        try:
            response = self._fetch(robots_url)
        except FetchError as error:  # none there: allowed; server trouble or no answer: not this round
            return error.status is not None and 400 <= error.status < 500 and error.status != 429
        parser = urllib.robotparser.RobotFileParser(robots_url)
        parser.parse(response.body.decode("utf-8", errors="replace").splitlines())
        return parser
