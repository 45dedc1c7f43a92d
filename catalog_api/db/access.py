"""Who may call the catalog and what they did: API keys, and the audit log (one row per state-changing request,
whoever made it and however it ended).

The audit log is append-only: the catalog never updates or deletes a row, and no foreign key ties a row to what it
names, so the record of a request outlives the source, job or key it was about.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from catalog_api.db.models import URN_LENGTH, Base, _BigSerial, utcnow


class ApiKey(Base):
    """A key a program authenticates with: only a hash of its secret is kept; the key itself is shown once."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    """Public part of the key (`cat_<id>_<secret>`), so a key is found without scanning hashes."""
    name: Mapped[str] = mapped_column(String(128))
    secret_sha256: Mapped[str] = mapped_column(String(64))
    roles: Mapped[list[Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(255))
    expires_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class AuditRecord(Base):
    """Who (actor, name, authentication method, key id or token subject) did what (action, target), when, from
    where (client address, request id), and the outcome (HTTP status, or `ok`/an error code for GraphQL)."""

    __tablename__ = "audit_log"
    __table_args__ = (Index(None, "actor", "id"), Index(None, "at"))

    id: Mapped[int] = mapped_column(_BigSerial, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(300))
    actor_name: Mapped[str] = mapped_column(String(300))
    auth_method: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(300))
    """The API key's id or the token's subject (`oid`)."""
    action: Mapped[str] = mapped_column(String(300))
    """`DELETE /api/v1/sources/{source_id}` (method and route template) or `mutation deleteSource`."""
    target: Mapped[str | None] = mapped_column(String(URN_LENGTH))
    """The path parameters or the `id`/`urn` argument: never a body, a credential or a secret."""
    outcome: Mapped[str] = mapped_column(String(64))
    request_id: Mapped[str | None] = mapped_column(String(128))
    client: Mapped[str | None] = mapped_column(String(64))
