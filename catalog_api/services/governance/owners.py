"""Owners of sources, schemas and datasets: users or groups, technical or business. Curators replace an entity's
owners as a whole (like its tags); the change goes to its history and to `catalog.owners.changed`."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from catalog_api.db.curation import PRINCIPAL_LENGTH, Owner
from catalog_api.errors import InvalidInput
from catalog_api.security.identity import current_identity
from catalog_api.services.browse import MAX_BOUND_PARAMETERS
from catalog_api.services.context import ServiceContext
from catalog_api.services.governance.assets import CONTROL, OWNED, asset, flush_unique, record_change
from catalog_api.services.governance.views import OwnerView, owner_view
from catalog_api.services.search.documents import refresh_entities
from events.data import Owner as OwnerRef
from events.data import OwnersChanged

MAX_OWNERS = 50
"""The most owners one entity has."""
PRINCIPAL_KINDS = ("user", "group")
OWNER_TYPES = ("technical", "business")


def validate_owners(owners: Sequence[Mapping[str, Any]]) -> list[OwnerRef]:
    """The owners as given, checked (`owners.N.principal`, `.kind`, `.type` name a bad one), without repeats."""
    if len(owners) > MAX_OWNERS:
        raise InvalidInput("owners", f"an entity has at most {MAX_OWNERS} owners")
    cleaned: dict[OwnerRef, None] = {}
    for index, owner in enumerate(owners):
        principal = owner.get("principal")
        if not isinstance(principal, str) or not principal.strip():
            raise InvalidInput(f"owners.{index}.principal", "name the user or group (e.g. an e-mail address)")
        principal, raw = principal.strip(), principal
        if len(raw) > PRINCIPAL_LENGTH or CONTROL & set(raw):
            raise InvalidInput(f"owners.{index}.principal",
                               f"a principal has at most {PRINCIPAL_LENGTH} characters and no control characters")
        kind, type_ = owner.get("kind", "user"), owner.get("type", "technical")
        if kind not in PRINCIPAL_KINDS:
            raise InvalidInput(f"owners.{index}.kind", "user or group")
        if type_ not in OWNER_TYPES:
            raise InvalidInput(f"owners.{index}.type", "technical or business")
        cleaned[OwnerRef(principal=principal, kind=kind, type=type_)] = None
    return list(cleaned)


def set_owners(ctx: ServiceContext, urn: str, owners: Sequence[Mapping[str, Any]]) -> list[OwnerView]:
    """Replaces the owners of a source, schema or dataset; returns them by type, kind and principal."""
    wanted = validate_owners(owners)
    with ctx.db.session() as session:
        target = asset(session, urn, OWNED, "owners")
        rows = list(session.scalars(select(Owner).where(Owner.entity_urn == target.urn)))
        current = {_ref(row): row for row in rows}
        gone = [row.id for ref, row in current.items() if ref not in wanted]
        if gone:
            session.execute(delete(Owner).where(Owner.id.in_(gone)))
        actor = current_identity().actor
        session.add_all(Owner(entity_urn=target.urn, source_id=target.source_id, principal=o.principal,
                              principal_kind=o.kind, owner_type=o.type, created_by=actor)
                        for o in wanted if o not in current)
        if set(current) != set(wanted):
            payload = OwnersChanged.between(target.kind.value, set(current), set(wanted),
                                            changed_by=current_identity().name)
            record_change(session, target, "owners_changed", _dumped(payload.before), _dumped(payload.after),
                          payload)
        flush_unique(session, "owners", f"the owners of {urn} were changed at the same time; try again")
        refresh_entities(session, [target.urn])
        return owners_of(session, [target.urn])[target.urn]


def owners_of(session: Session, urns: Sequence[str]) -> dict[str, list[OwnerView]]:
    """The owners of each entity, by type, kind and principal: one statement per 30,000 URNs."""
    found: dict[str, list[OwnerView]] = defaultdict(list)
    unique = list(dict.fromkeys(urns))
    for start in range(0, len(unique), MAX_BOUND_PARAMETERS):
        rows = session.scalars(select(Owner).where(Owner.entity_urn.in_(unique[start:start + MAX_BOUND_PARAMETERS]))
                               .order_by(Owner.owner_type, Owner.principal_kind, Owner.principal))
        for row in rows:
            found[row.entity_urn].append(owner_view(row))
    return {urn: found.get(urn, []) for urn in urns}


def _ref(row: Owner) -> OwnerRef:
    return OwnerRef(principal=row.principal, kind=row.principal_kind, type=row.owner_type)


def _dumped(owners: list[OwnerRef]) -> list[dict[str, str]]:
    return [o.model_dump() for o in owners]
