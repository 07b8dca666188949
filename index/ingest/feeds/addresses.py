"""Which addresses Pitwall may fetch from: the public internet only, unless the setting allows private ones.

Every URL and every redirect hop is resolved once here; the downloader then connects to exactly the
address that was checked (no second DNS lookup an attacker could answer differently).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from index.errors import UserError

Resolver = Callable[[str, int], Iterable[str]]


class AddressRefused(UserError):
    """A URL that may not be fetched: not http(s), no host, or an address that is not public."""


def resolve(host: str, port: int) -> list[str]:
    """The IP addresses `host` resolves to (IPv4 and IPv6), in the resolver's order."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise AddressRefused(f"cannot resolve {host}: {error}") from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _kind(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """What makes `ip` non-public, or None for a public address."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return _kind(ip.ipv4_mapped)
    for name, flag in (
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("unspecified", ip.is_unspecified),
        ("private", ip.is_private),
        ("reserved", ip.is_reserved),
    ):
        if flag:
            return name
    return None if ip.is_global else "reserved"


@dataclass(frozen=True)
class AddressGuard:
    """Checks a URL and gives the address to connect to.

    `treat_as_public`: addresses to handle as public ones (tests stand a local server in for the internet
    with it, to show that a later redirect hop is still checked)."""

    allow_private: bool = False
    resolver: Resolver = resolve
    treat_as_public: frozenset[str] = field(default_factory=frozenset)

    def check(self, url: str) -> str:
        """The address to connect to for `url`, or AddressRefused with the reason."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise AddressRefused(f"only http and https URLs are fetched, not {parts.scheme or 'no'} scheme")
        host = parts.hostname
        if not host:
            raise AddressRefused(f"the URL {url!r} names no host")
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            raise AddressRefused(f"the URL {url!r} has a bad port") from None
        addresses = [host] if _is_ip(host) else list(self.resolver(host, port))
        if not addresses:
            raise AddressRefused(f"{host} resolves to no address")
        if self.allow_private:
            return addresses[0]
        for address in addresses:  # every address the name has: any of them could be the one used
            kind = None if address in self.treat_as_public else _kind(ipaddress.ip_address(address))
            if kind is not None:
                raise AddressRefused(
                    f"refused {host}: {address} is a {kind} address "
                    "(set PITWALL_FETCH_ALLOW_PRIVATE=true to fetch from your own network)"
                )
        return addresses[0]


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
