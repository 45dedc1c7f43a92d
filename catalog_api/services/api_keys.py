"""API keys: how programs authenticate. A key is `cat_<id>_<secret>`; the catalog keeps the id, a SHA-256 of the
secret, a name, roles, an optional expiry and when it was last used. The whole key is returned once, at creation.

The secret carries 256 random bits, so a plain SHA-256 is as strong as a slow password hash here and costs
microseconds per request.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog_api.db.access import ApiKey
from catalog_api.db.models import utcnow
from catalog_api.errors import InvalidInput, NotFound
from catalog_api.security.identity import ROLE_NAMES, Identity, current_identity
from catalog_api.services.browse import as_utc
from catalog_api.services.context import ServiceContext
from catalog_api.services.text import reject_nul
from catalog_api.services.views import from_row

PREFIX = "cat_"
_KEY = re.compile(r"^cat_([0-9a-f]{12})_([A-Za-z0-9_\-]{43})$")
MAX_NAME = 128
LAST_USED_PRECISION = timedelta(minutes=1)
"""`last_used_at` is written at most this often per key, so reads do not turn into a write per request."""


@dataclass(frozen=True, slots=True)
class ApiKeyView:
    """An API key as callers see it: never its secret or hash."""

    id: str
    name: str
    roles: list[str]
    created_at: datetime
    created_by: str
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None and (self.expires_at is None or as_utc(self.expires_at) > utcnow())


@dataclass(frozen=True, slots=True)
class CreatedApiKey:
    """A new key and, this once, the whole key to hand to the program that will use it."""

    key: ApiKeyView
    secret: str


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def validate_roles(roles: list[str], field: str = "roles") -> list[str]:
    if not roles:
        raise InvalidInput(field, f"give at least one role: {', '.join(ROLE_NAMES)}")
    for index, role in enumerate(roles):
        if role not in ROLE_NAMES:
            raise InvalidInput(f"{field}.{index}", f"unknown role {role!r}; roles are {', '.join(ROLE_NAMES)}")
    return sorted(set(roles))


def create_key(ctx: ServiceContext, name: str, roles: list[str], expires_at: datetime | None = None) -> CreatedApiKey:
    name = (name or "").strip()
    if not name or len(name) > MAX_NAME:
        raise InvalidInput("name", f"a key's name is 1 to {MAX_NAME} characters")
    reject_nul("name", name)
    roles = validate_roles(roles)
    if expires_at is not None and as_utc(expires_at) <= utcnow():
        raise InvalidInput("expires_at", "the expiry must lie in the future")
    key_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    with ctx.db.session() as session:
        row = ApiKey(id=key_id, name=name, secret_sha256=_digest(secret), roles=roles,
                     created_by=current_identity().actor, expires_at=expires_at)
        session.add(row)
        session.flush()
        return CreatedApiKey(key=from_row(ApiKeyView, row), secret=f"{PREFIX}{key_id}_{secret}")


def list_keys(session: Session, include_revoked: bool = False) -> list[ApiKeyView]:
    query = select(ApiKey).order_by(ApiKey.created_at, ApiKey.id)
    if not include_revoked:
        query = query.where(ApiKey.revoked_at.is_(None))
    return [from_row(ApiKeyView, row) for row in session.scalars(query)]


def revoke_key(ctx: ServiceContext, key_id: str) -> ApiKeyView:
    """Revokes a key at once: the next request made with it answers 401. Revoking twice changes nothing."""
    with ctx.db.session() as session:
        row = session.get(ApiKey, key_id)
        if row is None:
            raise NotFound(f"no API key with id {key_id!r}")
        if row.revoked_at is None:
            row.revoked_at = utcnow()
        session.flush()
        return from_row(ApiKeyView, row)


def looks_like_key(credential: str) -> bool:
    return credential.startswith(PREFIX)


def identify(ctx: ServiceContext, credential: str) -> Identity | None:
    """The identity of a valid, active key, else None (the caller cannot tell unknown from revoked or expired)."""
    match = _KEY.match(credential)
    if not match:
        return None
    key_id, secret = match.groups()
    with ctx.db.session() as session:
        row = session.get(ApiKey, key_id)
        if row is None or not hmac.compare_digest(row.secret_sha256, _digest(secret)):
            return None
        now = utcnow()
        if row.revoked_at is not None or (row.expires_at is not None and as_utc(row.expires_at) <= now):
            return None
        if row.last_used_at is None or now - as_utc(row.last_used_at) >= LAST_USED_PRECISION:
            row.last_used_at = now
        return Identity(subject=row.id, name=row.name, method="api_key", roles=frozenset(row.roles))
