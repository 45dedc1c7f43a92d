"""The DNS boundary of outbound calls: how a host name becomes the addresses `events.egress` judges.

Its own module, free of httpx, so that a process can hold a resolver (the catalog's service context always does)
without importing the HTTP stack it only needs when it sends a webhook.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Sequence

Resolver = Callable[[str, int], Sequence[str]]
"""`resolve(host, port)` -> the addresses (as text) the host name resolves to; raises `OSError` when it cannot."""


def system_resolver(host: str, port: int) -> list[str]:
    """The host's addresses from `getaddrinfo`, as the operating system's own connect would resolve it."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))
