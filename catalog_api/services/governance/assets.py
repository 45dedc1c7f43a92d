"""The entities curation hangs on: which kinds carry owners, terms and a domain, the source each belongs to, and how
a change of one is recorded (a change-log row on its table's or source's history, and an event, in one transaction).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from catalog_api.db.models import ChangeLogEntry, Column, DataSource, Schema, Table
from catalog_api.errors import Conflict, InvalidInput, NotFound
from catalog_api.security.identity import current_identity
from catalog_api.services.browse import MAX_BOUND_PARAMETERS, entity_by_urn
from catalog_api.services.events.outbox import record_event
from catalog_api.services.text import free_text
from catalog_api.services.views import MAX_ID
from catalog_api.urns import EntityType, parse_urn
from events import EventPayload

OWNED = (EntityType.SOURCE, EntityType.SCHEMA, EntityType.DATASET)
"""Kinds of entity that have owners."""
TERMED = (EntityType.DATASET, EntityType.COLUMN)
"""Kinds of entity glossary terms link to."""
IN_DOMAIN = (EntityType.SOURCE, EntityType.DATASET)
"""Kinds of entity that belong to a domain."""

MAX_NAME = 200
"""The longest name of a glossary term or domain."""
MAX_TEXT = 20_000
"""The longest definition of a term or description of a domain."""
CONTROL = {chr(c) for c in range(32)} | {"\x7f"}
MODELS: dict[EntityType, Any] = {EntityType.SOURCE: DataSource, EntityType.SCHEMA: Schema,
                                 EntityType.DATASET: Table, EntityType.COLUMN: Column}


class Asset:
    """A curated entity: its row, kind, URN and the ids of its source and (for tables and columns) table."""

    __slots__ = ("row", "kind", "urn", "source_id", "table_id")

    def __init__(self, row: Any, kind: EntityType, source_id: int, table_id: int | None) -> None:
        self.row, self.kind, self.urn, self.source_id, self.table_id = row, kind, row.urn, source_id, table_id


def asset(session: Session, urn: str, kinds: tuple[EntityType, ...], what: str, *, field: str = "urn") -> Asset:
    """The entity `urn` names, when it is of one of `kinds` (`what` says what they carry, for the error)."""
    kind = parse_urn(urn, field=field).type
    if kind not in kinds:
        allowed = ", ".join(k.value for k in kinds)
        raise InvalidInput(field, f"{what} hang on a {allowed}, not on a {kind.value}")
    row = entity_by_urn(session, urn, field=field)
    if kind is EntityType.SOURCE:
        return Asset(row, kind, row.id, None)
    if kind is EntityType.SCHEMA:
        return Asset(row, kind, row.source_id, None)
    if kind is EntityType.DATASET:
        return Asset(row, kind, row.source_id, row.id)
    return Asset(row, kind, session.get(Table, row.table_id).source_id, row.table_id)


def record_change(session: Session, target: Asset, change_type: str, before: Any, after: Any,
                  payload: EventPayload) -> None:
    """Adds the change to the history of the asset's table (its source's, for sources and schemas) and its event."""
    session.add(ChangeLogEntry(source_id=target.source_id, table_id=target.table_id, entity_urn=target.urn,
                               change_type=change_type, before=before, after=after,
                               actor=current_identity().actor))
    record_event(session, payload, target.urn)


def assets_by_urn(session: Session, urns: Iterable[str]) -> dict[str, Asset]:
    """The assets of many URNs (those still in the catalog), with a few statements per kind."""
    by_kind: dict[EntityType, list[str]] = {}
    for urn in dict.fromkeys(urns):
        by_kind.setdefault(parse_urn(urn).type, []).append(urn)
    found: dict[str, Asset] = {}
    for kind, kind_urns in by_kind.items():
        for start in range(0, len(kind_urns), MAX_BOUND_PARAMETERS):
            chunk = kind_urns[start:start + MAX_BOUND_PARAMETERS]
            if kind is EntityType.COLUMN:
                rows = session.execute(select(Column, Table.source_id).join(Table, Table.id == Column.table_id)
                                       .where(Column.urn.in_(chunk)))
                found.update({c.urn: Asset(c, kind, source_id, c.table_id) for c, source_id in rows})
                continue
            model = MODELS[kind]
            for row in session.scalars(select(model).where(model.urn.in_(chunk))):
                source_id = row.id if kind is EntityType.SOURCE else row.source_id
                found[row.urn] = Asset(row, kind, source_id, row.id if kind is EntityType.DATASET else None)
    return found


def is_deleted(row: Any) -> bool:
    return getattr(row, "deleted_at", None) is not None


def curated_name(field: str, value: Any, noun: str) -> str:
    """A term's or domain's name: no control characters, runs of spaces folded into one and the ends trimmed, 1 to
    `MAX_NAME` characters."""
    if not isinstance(value, str):
        raise InvalidInput(field, f"{noun} is a text")
    if CONTROL & set(value):
        raise InvalidInput(field, f"{noun} cannot contain control characters (tabs and line breaks included)")
    name = " ".join(value.split())
    if not name:
        raise InvalidInput(field, f"{noun} needs at least one character that is not a space")
    if len(name) > MAX_NAME:
        raise InvalidInput(field, f"{noun} has at most {MAX_NAME} characters")
    return name


def curated_text(field: str, value: str | None, noun: str) -> str | None:
    """A definition or description: at most `MAX_TEXT` characters, no NUL; blank is none."""
    free_text(field, value, max_length=MAX_TEXT, noun=noun)
    return value.strip() or None if value is not None else None


def flush_unique(session: Session, field: str, message: str) -> None:
    """Flushes a new name or link: one another request took since this one looked is a 409, not a 500."""
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(message, field=field) from None


# -- named things (glossary terms, domains): by id, by name in any case, and a name not yet taken --------------------

def named_by_id(session: Session, model: Any, row_id: int, noun: str) -> Any:
    """The `model` row of `row_id`; NotFound (field `id`) for an unknown id."""
    row = session.get(model, row_id) if 1 <= row_id <= MAX_ID else None
    if row is None:
        raise NotFound(f"no {noun} {row_id}", field="id")
    return row


def named_by_name(session: Session, model: Any, name: Any, noun: str, *, field: str) -> Any:
    """The `model` row named `name` in any case; NotFound naming `field` otherwise."""
    name = curated_name(field, name, f"a {noun}'s name")
    row = session.scalars(select(model).where(func.lower(model.name) == name.lower())).first()
    if row is None:
        raise NotFound(f"no {noun} named {name!r}", field=field)
    return row


def name_free(session: Session, model: Any, name: str, noun: str) -> None:
    """Conflict (field `name`) when a `model` row has `name` in any case."""
    if session.scalars(select(model.id).where(func.lower(model.name) == name.lower())).first() is not None:
        raise Conflict(f"a {noun} named {name!r} exists", field="name")
