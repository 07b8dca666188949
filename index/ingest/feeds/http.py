"""The one downloader every web request goes through (httpx), polite and bounded.

Politeness is settings, not code paths: a User-Agent naming Pitwall, robots.txt obeyed (`robots.py`), at
most one request per `host_delay` seconds to a host, 429 and 503 answered by waiting out Retry-After once
(or failing until then when it is longer than `max_retry_wait`). Bounds: only http(s) to public addresses
(`addresses.py`, checked again on every redirect hop), at most `max_redirects` redirects, `max_bytes` read
after decompression (so a gzip bomb stops at the cap), `timeout` seconds from connecting to the last byte
(so a page that never ends stops too).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

from index.ingest.feeds.addresses import AddressGuard, AddressRefused
from index.ingest.feeds.robots import RobotsRules

_REDIRECTS = frozenset((301, 302, 303, 307, 308))
_BACK_OFF = frozenset((429, 503))


class FetchError(Exception):
    """One request that gave no usable response; the message is the one-line reason for the report.

    `status`: the HTTP status that ended it, if one did; `retry_at`: when the server asked to be asked
    again (Retry-After), as a UTC datetime."""

    def __init__(
        self, message: str, *, status: int | None = None, retry_at: dt.datetime | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.retry_at = retry_at

    @property
    def permanent(self) -> bool:
        """Asking again soon would give the same answer (a 4xx other than 429)."""
        return self.status is not None and 400 <= self.status < 500 and self.status != 429


class RobotsDisallowed(FetchError):
    """robots.txt of the host asks Pitwall not to fetch the URL."""

    @property
    def permanent(self) -> bool:
        return True


@dataclass(frozen=True)
class FetchPolicy:
    user_agent: str
    host_delay: float = 1.0
    max_bytes: int = 5_000_000
    timeout: float = 30.0
    max_redirects: int = 5
    max_retry_wait: float = 60.0
    obey_robots: bool = True


@dataclass(frozen=True)
class Response:
    """A 2xx or 304 response: the URL it finally came from, its status, headers (lower-case) and body."""

    url: str
    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""


class Fetcher:
    """Downloads with the policy's manners and bounds. One per fetch round; close() it (or use `with`)."""

    def __init__(
        self,
        policy: FetchPolicy,
        guard: AddressGuard,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.policy = policy
        self.guard = guard
        self._clock = clock
        self._sleep = sleep
        self._last_request: dict[str, float] = {}
        self._host_lock = threading.Lock()
        self._client = httpx.Client(  # no connection kept: one per request, to the address just checked
            timeout=httpx.Timeout(policy.timeout),
            follow_redirects=False,
            trust_env=False,
            limits=httpx.Limits(max_keepalive_connections=0),
        )
        self.robots = RobotsRules(lambda url: self.get(url, check_robots=False), policy.user_agent)

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def get(
        self, url: str, headers: Mapping[str, str] | None = None, *, check_robots: bool = True
    ) -> Response:
        """The response for `url` after at most `max_redirects` redirects, each hop checked like the first.
        A status other than 2xx and 304 is a FetchError."""
        seen = {url}
        for _hop in range(self.policy.max_redirects + 1):
            try:
                self.guard.check(url)  # before robots.txt is asked for: a refused host is never contacted
            except AddressRefused as error:
                raise FetchError(str(error)) from None
            if check_robots and self.policy.obey_robots and not self.robots.allowed(url):
                raise RobotsDisallowed(f"robots.txt of {urlsplit(url).netloc} disallows {url}")
            status, response_headers, body = self._request(url, headers or {})
            if status not in _REDIRECTS:
                if status == 304 or 200 <= status < 300:
                    return Response(url, status, response_headers, body)
                raise FetchError(f"HTTP {status} from {url}", status=status)
            location = response_headers.get("location", "").strip()
            if not location:
                raise FetchError(f"HTTP {status} redirect without a Location from {url}")
            url = urljoin(url, location)
            if url in seen:
                raise FetchError(f"redirect loop: {url} redirects back to itself")
            seen.add(url)
        raise FetchError(f"more than {self.policy.max_redirects} redirects, stopped at {url}")

    def _request(self, url: str, headers: Mapping[str, str]) -> tuple[int, dict[str, str], bytes]:
        """One request, 429/503 waited out once when Retry-After allows."""
        for attempt in range(2):
            status, response_headers, body = self._request_once(url, headers)
            if status not in _BACK_OFF:
                return status, response_headers, body
            wait = retry_after_seconds(response_headers.get("retry-after", ""))
            if wait is None:
                wait = self.policy.host_delay * 5  # no Retry-After: back off a few polite steps
            if attempt == 1 or wait > self.policy.max_retry_wait:
                retry_at = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=wait)
                raise FetchError(
                    f"HTTP {status} from {url}: the server asks to wait {wait:.0f} s (Retry-After); "
                    f"not asking again before {retry_at:%Y-%m-%d %H:%M} UTC",
                    status=status,
                    retry_at=retry_at,
                )
            self._sleep(wait)
        raise AssertionError("unreachable")

    def _request_once(self, url: str, headers: Mapping[str, str]) -> tuple[int, dict[str, str], bytes]:
        try:
            address = self.guard.check(url)
        except AddressRefused as error:
            raise FetchError(str(error)) from None
        parts = urlsplit(url)
        host = parts.hostname or ""
        pinned = address if ":" not in address else f"[{address}]"
        if parts.port:
            pinned = f"{pinned}:{parts.port}"
        target = urlunsplit((parts.scheme, pinned, parts.path or "/", parts.query, ""))
        request = self._client.build_request(
            "GET",
            target,
            headers={
                "Host": parts.netloc.rpartition("@")[2],
                "User-Agent": self.policy.user_agent,
                "Accept-Encoding": "gzip, deflate",
                **headers,
            },
            extensions={"sni_hostname": host} if parts.scheme == "https" else {},
        )
        self._wait_for_host(parts.netloc.lower())
        started = self._clock()
        try:
            response = self._client.send(request, stream=True)
            try:
                response_headers = {key.lower(): value for key, value in response.headers.items()}
                if response.status_code in _REDIRECTS or response.status_code in _BACK_OFF:
                    return response.status_code, response_headers, b""
                body = self._read(response, url, started)
            finally:
                response.close()
        except httpx.TimeoutException:
            raise FetchError(f"no answer from {url} within {self.policy.timeout:g} s") from None
        except httpx.HTTPError as error:
            raise FetchError(f"cannot fetch {url}: {type(error).__name__}: {error}") from None
        return response.status_code, response_headers, body

    def _wait_for_host(self, host: str) -> None:
        with self._host_lock:
            last = self._last_request.get(host)
            if last is not None:
                wait = last + self.policy.host_delay - self._clock()
                if wait > 0:
                    self._sleep(wait)
            self._last_request[host] = self._clock()

    def _read(self, response: httpx.Response, url: str, started: float) -> bytes:
        """The decoded body, stopped at `max_bytes` and at `timeout` seconds after the request started."""
        limit = self.policy.max_bytes
        declared = response.headers.get("content-length", "")
        encoding = response.headers.get("content-encoding", "identity").strip().lower()
        if declared.isdigit() and encoding in ("", "identity") and int(declared) > limit:
            raise FetchError(f"{url} is {int(declared):,} bytes, more than the {limit:,} read")
        body = bytearray()
        for piece in _decoded(response.iter_raw(), encoding, limit + 1, url):
            body += piece
            if len(body) > limit:
                raise FetchError(f"{url} is larger than {limit:,} bytes (stopped reading there)")
            if self._clock() - started > self.policy.timeout:
                raise FetchError(f"{url} was still sending after {self.policy.timeout:g} s (stopped)")
        return bytes(body)


def _decoded(raw: Iterator[bytes], encoding: str, limit: int, url: str) -> Iterator[bytes]:
    """The bytes of `raw` with the Content-Encoding undone, never more than `limit` per piece (a small
    compressed piece can hold gigabytes: it is inflated only as far as the caller reads)."""
    if encoding in ("", "identity"):
        yield from raw
        return
    if encoding not in ("gzip", "x-gzip", "deflate"):
        raise FetchError(f"{url} came with Content-Encoding {encoding!r}, which Pitwall did not ask for")
    inflater = zlib.decompressobj(wbits=47)  # a gzip or zlib header, detected
    try:
        for piece in raw:
            data = inflater.decompress(piece, limit)
            while data:
                yield data
                if not inflater.unconsumed_tail:
                    break
                data = inflater.decompress(inflater.unconsumed_tail, limit)
    except zlib.error as error:
        raise FetchError(f"{url} sent a broken {encoding} body: {error}") from None


def retry_after_seconds(value: str) -> float | None:
    """Seconds a Retry-After header asks to wait (a number of seconds or an HTTP date), None without one."""
    value = value.strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())
