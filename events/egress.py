"""Where outbound HTTP may go: an address policy and an httpx transport that connects only to checked addresses.

A host is resolved once per connection and **every** address it resolves to is checked; the connection then goes to
one of those checked addresses, never to a second DNS answer (no DNS rebinding between check and connect). TLS is
still verified against the host name of the URL, since the URL is left as it is: only the socket address is pinned.

Refused always: link-local addresses, where cloud metadata endpoints live (169.254.0.0/16 with 169.254.169.254,
fe80::/10, and AWS's IPv6 endpoint fd00:ec2::254). Refused unless `allow_private`: loopback, private (RFC 1918,
unique-local fc00::/7), shared/CGNAT (100.64.0.0/10), unspecified, multicast, reserved and other non-global
addresses. IPv4 addresses embedded in IPv6 ones (IPv4-mapped `::ffff:a.b.c.d`, IPv4-compatible, NAT64
`64:ff9b::/96`, 6to4, Teredo) are checked as well, so no spelling of an address slips through. Host names in odd
IPv4 notations (`2852039166`, `0xA9FEA9FE`, `127.1`) are resolved by the same `getaddrinfo` the socket would use,
so they are judged by the address they really reach.
"""

from __future__ import annotations

import ipaddress
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

import httpcore
import httpx

from events.resolver import Resolver, system_resolver

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

_METADATA = (
    ipaddress.ip_network("169.254.0.0/16"),
    ipaddress.ip_network("fe80::/10"),
    ipaddress.ip_network("fd00:ec2::254/128"),
)
_SHARED = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
_CATEGORIES = ("loopback", "unspecified", "multicast", "private", "reserved")


class DestinationRefused(Exception):
    """The policy refuses where a request would go; `reason` says why, in words a user can act on, and `private`
    whether allowing private networks would let it through."""

    def __init__(self, reason: str, *, private: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.private = private


def _spellings(address: Address) -> tuple[list[Address], list[Address]]:
    """(every address that `address` reaches or carries, the ones that decide its category).

    IPv4-mapped, IPv4-compatible and NAT64 addresses are another spelling of their IPv4 address, which decides
    (their IPv6 ranges are "reserved" by themselves); 6to4 and Teredo addresses are IPv6 addresses of their own that
    also carry an IPv4 one, so both decide.
    """
    if not isinstance(address, ipaddress.IPv6Address):
        return [address], [address]
    if address.ipv4_mapped is not None:
        return [address, address.ipv4_mapped], [address.ipv4_mapped]
    if address in _NAT64 or (address in _IPV4_COMPATIBLE and int(address) > 1):  # :: and ::1 are IPv6's own
        embedded = ipaddress.IPv4Address(int(address) & 0xFFFF_FFFF)
        return [address, embedded], [embedded]
    carried = [a for a in (address.sixtofour, *(address.teredo or ())) if a is not None]
    return [address, *carried], [address, *carried]


def _category(address: Address) -> str | None:
    for name in _CATEGORIES:
        if getattr(address, f"is_{name}"):
            return f"an {name}" if name[0] in "aeiou" else f"a {name}"
    if address in _SHARED:
        return "a shared (CGNAT)"
    if not address.is_global:
        return "a non-global"
    return None


@dataclass(frozen=True)
class EgressPolicy:
    """Which addresses outbound requests may reach, and how host names are resolved (`resolve`, the DNS boundary)."""

    allow_private: bool = False
    resolve: Resolver = system_resolver

    def _judge(self, address: Address) -> tuple[str, bool] | None:
        """(why `address` may not be reached, whether allowing private networks would let it through), or None."""
        reached, deciding = _spellings(address)
        for candidate in reached:
            if candidate.is_link_local or any(candidate in network for network in _METADATA):
                return "a link-local address (where cloud metadata endpoints live), always refused", False
        if self.allow_private:
            return None
        for candidate in deciding:
            category = _category(candidate)
            if category is not None:
                return f"{category} address, refused unless private networks are allowed", True
        return None

    def addresses(self, host: str, port: int) -> list[str]:
        """Every address `host` reaches, each one checked. Raises `DestinationRefused` when any is refused (a name
        with one bad address is refused as a whole), `OSError` when the name does not resolve."""
        literal = _literal(host)
        if literal is not None:
            found, subject = [literal], f"{host} is"
        else:
            found = [ipaddress.ip_address(text.split("%", 1)[0]) for text in self.resolve(host, port)]
            # The addresses stay out of the message: they would map internal names for whoever asks.
            subject = f"{host} resolves to"
        if not found:
            raise OSError(f"{host} resolves to no address")
        for address in found:
            judged = self._judge(address)
            if judged:
                raise DestinationRefused(f"{subject} {judged[0]}", private=judged[1])
        return [str(address) for address in found]

    def check_url(self, url: str | httpx.URL) -> None:
        """Checks the host of an http(s) URL like a connection would (see `addresses`)."""
        parsed = httpx.URL(url)
        self.addresses(parsed.host, parsed.port or (443 if parsed.scheme == "https" else 80))


def _literal(host: str) -> Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


class _CheckedBackend(httpcore.NetworkBackend):
    """Resolves through the policy and connects to a checked address; everything else is httpcore's own backend."""

    def __init__(self, policy: EgressPolicy) -> None:
        self._policy = policy
        self._tcp = httpcore.SyncBackend()

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        try:
            addresses = self._policy.addresses(host, port)
        except OSError as error:
            raise httpcore.ConnectError(f"cannot resolve {host}: {error.strerror or error}") from None
        failure: httpcore.ConnectError | None = None
        for address in addresses:
            try:
                return self._tcp.connect_tcp(address, port, timeout, local_address, socket_options)
            except httpcore.ConnectError as error:
                failure = error
        assert failure is not None  # addresses is never empty
        raise failure

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        raise DestinationRefused("unix sockets are not an outbound destination")

    def sleep(self, seconds: float) -> None:
        self._tcp.sleep(seconds)


@cache
def _ssl_context() -> ssl.SSLContext:
    # Loading the CA bundle costs ~0.2 s; one context serves every client (SSLContext is thread-safe). Honours
    # SSL_CERT_FILE / SSL_CERT_DIR like httpx does.
    return httpx.create_ssl_context()


class CheckedTransport(httpx.HTTPTransport):
    """An httpx transport whose every new connection goes through `EgressPolicy.addresses` (see the module docstring).

    A refused destination raises `DestinationRefused` out of the request. Proxies from the environment are not used:
    a proxy would resolve the host itself, after the check. Pooled keep-alive connections stay with the address
    checked when they were opened.
    """

    def __init__(self, policy: EgressPolicy, *, limits: httpx.Limits | None = None) -> None:
        limits = limits or httpx.Limits()
        # Not calling HTTPTransport.__init__: all it does is build `_pool`, which handle_request and close use; this
        # is the same pool with the checking network backend (httpx offers no public hook for one).
        self._pool = httpcore.ConnectionPool(
            ssl_context=_ssl_context(), max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections, keepalive_expiry=limits.keepalive_expiry,
            network_backend=_CheckedBackend(policy),
        )
