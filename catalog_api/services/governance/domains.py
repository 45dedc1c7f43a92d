"""Domains: named parts of the business with a description. A source or dataset belongs to at most one.

Creating, changing and deleting a domain is recorded in the domain's history and published as
`catalog.domain.created|updated|deleted` about the domain's URN (`urn:catalog:domain:<id>`); putting an entity in a
domain (or taking it out) in the history of the table or source and as `catalog.domain.changed`. Deleting a domain
takes every entity out of it, each with its history and event.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from catalog_api.db.curation import Domain, DomainAssignment
from catalog_api.errors import InvalidInput
from catalog_api.security.identity import current_identity
from catalog_api.services.browse import MAX_BOUND_PARAMETERS
from catalog_api.services.context import ServiceContext
from catalog_api.services.governance.assets import (
    IN_DOMAIN,
    Asset,
    asset,
    assets_by_urn,
    curated_name,
    curated_text,
    flush_unique,
    name_free,
    named_by_id,
    named_by_name,
    record_change,
)
from catalog_api.services.governance.glossary import MAX_LINKED, linked_page, linked_urns
from catalog_api.services.governance.history import record as record_history
from catalog_api.services.governance.views import DomainDetailView, DomainRefView, DomainView, domain_view
from catalog_api.services.search.documents import refresh_entities
from events.curation_data import DomainFields
from events.data import DomainChanged, DomainCreated, DomainDeleted, DomainUpdated

MAX_DOMAINS = 1000


def create_domain(ctx: ServiceContext, name: str, description: str | None = None) -> DomainView:
    """A new domain; 409 when one of that name (in any case) exists."""
    name = curated_name("name", name, "a domain's name")
    description = curated_text("description", description, "a description")
    with ctx.db.session() as session:
        name_free(session, Domain, name, "domain")
        actor = current_identity().actor
        row = Domain(name=name, description=description, created_by=actor, updated_by=actor)
        session.add(row)
        flush_unique(session, "name", f"a domain named {name!r} exists")
        state = _state(row)
        record_history(session, "domain", row.id, row.name, "created", None, dict(state),
                       DomainCreated(id=row.id, **dict(state), changed_by=current_identity().name))
        return domain_view(row)


def update_domain(ctx: ServiceContext, domain_id: int, name: str, description: str | None = None) -> DomainView:
    """Replaces a domain's name and description; the same values again change nothing. Its entities stay in it."""
    name = curated_name("name", name, "a domain's name")
    description = curated_text("description", description, "a description")
    with ctx.db.session() as session:
        row = domain_row(session, domain_id)
        before = _state(row)
        if name.lower() != row.name.lower():
            name_free(session, Domain, name, "domain")
        row.name, row.description = name, description
        after = _state(row)
        if after != before:
            row.updated_by = current_identity().actor
            flush_unique(session, "name", f"a domain named {name!r} exists")
            record_history(session, "domain", row.id, row.name, "updated", dict(before), dict(after),
                           DomainUpdated.between(row.id, before, after, changed_by=current_identity().name))
            if after.name != before.name:  # the search documents of its sources and datasets hold the name
                refresh_entities(session, linked_urns(session, DomainAssignment.domain_id, row.id))
        return domain_view(row)


def delete_domain(ctx: ServiceContext, domain_id: int) -> DomainView:
    """Deletes a domain and takes its sources and datasets out of it (with their history and events)."""
    with ctx.db.session() as session:
        row = domain_row(session, domain_id)
        view = domain_view(row)
        urns = linked_urns(session, DomainAssignment.domain_id, row.id)
        for target in assets_by_urn(session, urns).values():
            _record(session, target, row.name, None)
        session.execute(delete(DomainAssignment).where(DomainAssignment.domain_id == row.id))
        state = _state(row)
        record_history(session, "domain", row.id, row.name, "deleted", dict(state), None,
                       DomainDeleted(id=row.id, **dict(state), changed_by=current_identity().name))
        session.delete(row)
        session.flush()
        refresh_entities(session, urns)
        return view


def set_domain(ctx: ServiceContext, urn: str, domain: str | None) -> DomainRefView | None:
    """Puts a source or dataset in the domain named `domain` (moving it out of its current one), or with None takes
    it out. Answers its domain."""
    with ctx.db.session() as session:
        target = asset(session, urn, IN_DOMAIN, "domains")
        wanted = None if domain is None else domain_by_name(session, domain, field="domain")
        current = session.scalars(select(DomainAssignment).where(DomainAssignment.entity_urn == target.urn)).first()
        before = None if current is None else session.get(Domain, current.domain_id)
        if (before and before.id) == (wanted and wanted.id):
            return _ref(wanted)
        if current is not None:
            session.delete(current)
            session.flush()
        if wanted is not None:
            session.add(DomainAssignment(entity_urn=target.urn, domain_id=wanted.id, source_id=target.source_id,
                                         created_by=current_identity().actor))
        flush_unique(session, "domain", f"the domain of {urn} was changed at the same time; try again")
        _record(session, target, before and before.name, wanted and wanted.name)
        refresh_entities(session, [target.urn])
        return _ref(wanted)


def _record(session: Session, target: Asset, before: str | None, after: str | None) -> None:
    payload = DomainChanged(entity_kind=target.kind.value, before=before, after=after,
                            changed_by=current_identity().name)
    record_change(session, target, "domain_changed", before, after, payload)


# -- queries -------------------------------------------------------------------------------------------------------

def list_domains(session: Session, *, limit: int = MAX_DOMAINS) -> list[DomainView]:
    if not 1 <= limit <= MAX_DOMAINS:
        raise InvalidInput("limit", f"between 1 and {MAX_DOMAINS}")
    return [domain_view(r) for r in session.scalars(select(Domain).order_by(func.lower(Domain.name)).limit(limit))]


def get_domain(session: Session, domain_id: int, *, limit: int = MAX_LINKED) -> DomainDetailView:
    """A domain with (up to `limit` of) its sources and datasets, by URN."""
    if not 1 <= limit <= MAX_LINKED:
        raise InvalidInput("limit", f"between 1 and {MAX_LINKED}")
    row = domain_row(session, domain_id)
    assets, count = linked_page(session, DomainAssignment.domain_id, row.id, limit)
    return DomainDetailView(domain=domain_view(row), assets=assets, asset_count=count)


def find_domain(session: Session, name: str) -> DomainDetailView:
    """A domain's page by the domain's name."""
    return get_domain(session, domain_by_name(session, name, field="name").id)


def domains_of(session: Session, urns: Sequence[str]) -> dict[str, DomainRefView | None]:
    """The domain of each entity (None: none): one statement per 30,000 URNs."""
    found: dict[str, DomainRefView] = {}
    unique = list(dict.fromkeys(urns))
    for start in range(0, len(unique), MAX_BOUND_PARAMETERS):
        rows = session.execute(
            select(DomainAssignment.entity_urn, Domain.id, Domain.name)
            .join(Domain, Domain.id == DomainAssignment.domain_id)
            .where(DomainAssignment.entity_urn.in_(unique[start:start + MAX_BOUND_PARAMETERS])))
        found.update({urn: DomainRefView(id=domain_id, name=name) for urn, domain_id, name in rows})
    return {urn: found.get(urn) for urn in urns}


def domain_row(session: Session, domain_id: int) -> Domain:
    return named_by_id(session, Domain, domain_id, "domain")


def domain_by_name(session: Session, name: Any, *, field: str) -> Domain:
    return named_by_name(session, Domain, name, "domain", field=field)


def _ref(row: Domain | None) -> DomainRefView | None:
    return None if row is None else DomainRefView(id=row.id, name=row.name)


def _state(row: Domain) -> DomainFields:
    """What curators edit of a domain: its history and events carry it."""
    return DomainFields(name=row.name, description=row.description)
