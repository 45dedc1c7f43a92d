"""Who is calling, and what they may do: one identity model for REST, GraphQL (HTTP and WebSocket) and SSE.

Roles are cumulative: each one includes everything the role below it may do.

| role     | may                                                                  |
|----------|----------------------------------------------------------------------|
| viewer   | read metadata, lineage, profiles, jobs and events                    |
| curator  | + descriptions, tags, anomaly thresholds, manual lineage, rules      |
| operator | + crawl, extract, profile, schedules, cancel jobs, webhooks          |
| admin    | + sources and their credentials, API keys, event replay, the audit   |

`pii:read` is granted separately (no role implies it): without it, values of columns tagged `pii.*` are masked.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Literal


class Permission(str, enum.Enum):
    READ = "catalog:read"
    CURATE = "catalog:curate"
    OPERATE = "catalog:operate"
    ADMIN = "catalog:admin"
    PII_READ = "pii:read"


ROLES: dict[str, frozenset[Permission]] = {}
_ladder: list[Permission] = []
for _role, _permission in (("viewer", Permission.READ), ("curator", Permission.CURATE),
                           ("operator", Permission.OPERATE), ("admin", Permission.ADMIN)):
    _ladder.append(_permission)
    ROLES[_role] = frozenset(_ladder)
ROLES["pii:read"] = frozenset({Permission.PII_READ})
"""Every grantable role name (the four roles and `pii:read`) with the permissions it carries."""

ROLE_NAMES = tuple(ROLES)


def permissions_of(roles: frozenset[str] | set[str] | list[str]) -> frozenset[Permission]:
    granted: set[Permission] = set()
    for role in roles:
        granted |= ROLES.get(role, frozenset())
    return frozenset(granted)


AuthMethod = Literal["api_key", "entra", "none"]


@dataclass(frozen=True)
class Identity:
    """An authenticated caller (or, with `CATALOG_AUTH=none`, the local operator who owns the process)."""

    subject: str
    """Stable id: the API key's id, the token's `oid` (or `sub`), or `local` without authentication."""
    name: str
    """What a person reads in the audit: the key's name, the token's `preferred_username`/`name`."""
    method: AuthMethod
    roles: frozenset[str] = field(default_factory=frozenset)

    @property
    def permissions(self) -> frozenset[Permission]:
        return permissions_of(self.roles)

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions

    @property
    def actor(self) -> str:
        """How change records, events, jobs and the audit name this caller: `api_key:<id>`, `entra:<oid>`, `local`
        or `system`."""
        return self.subject if self.method == "none" else f"{self.method}:{self.subject}"

    @property
    def reveals_pii(self) -> bool:
        return Permission.PII_READ in self.permissions


LOCAL_OPERATOR = Identity(subject="local", name="local operator", method="none", roles=frozenset(ROLES))
"""The identity of every caller when authentication is off (`CATALOG_AUTH=none`, loopback only)."""

SYSTEM = Identity(subject="system", name="catalog", method="none", roles=frozenset(ROLES))
"""The catalog acting on its own (scheduled crawls, the relay): the actor recorded for work nobody requested."""


_CURRENT: ContextVar[Identity] = ContextVar("catalog_identity", default=SYSTEM)


def current_identity() -> Identity:
    """The caller the running request or job acts for: set by the transports (one request each) and by the job
    runner (the job's requester). Outside both, the catalog itself (`SYSTEM`).

    Services read it where a rule depends on the caller (PII masking) or a record names it (change history, events,
    jobs, the audit); a context variable follows the request into worker threads and async tasks by itself.
    """
    return _CURRENT.get()


@contextmanager
def acting_as(identity: Identity) -> Iterator[Identity]:
    token = _CURRENT.set(identity)
    try:
        yield identity
    finally:
        _CURRENT.reset(token)


def assume(identity: Identity) -> None:
    """From now on the current task, and the tasks it starts, act as `identity`: for a connection that learns who
    its caller is after it began (a WebSocket's `connection_init`), whose operations run as tasks it starts."""
    _CURRENT.set(identity)


def job_identity(actor: str) -> Identity:
    """Whom a job acts for while it runs: its requester's actor name, with the rights the request was checked for."""
    return SYSTEM if actor == SYSTEM.actor else Identity(subject=actor, name=actor, method="none",
                                                          roles=frozenset(ROLES))
