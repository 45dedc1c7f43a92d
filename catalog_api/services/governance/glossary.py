"""The business glossary: terms with unique names (compared without regard to case), definitions and an optional
broader term, linked by curators to tables and columns.

Creating, changing and deleting a term is recorded in the term's history (`history`) and published as
`catalog.glossary_term.created|updated|deleted` about the term's URN (`urn:catalog:glossary_term:<id>`); linking
and unlinking in the history of the table (the column's table) and as `catalog.terms.changed`. Deleting a term
unlinks it everywhere, each entity's history and event included.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from catalog_api.db.curation import GlossaryTerm, TermLink
from catalog_api.errors import InvalidInput, NotFound
from catalog_api.security.identity import current_identity
from catalog_api.services.browse import MAX_BOUND_PARAMETERS
from catalog_api.services.context import ServiceContext
from catalog_api.services.governance.assets import (
    TERMED,
    Asset,
    asset,
    assets_by_urn,
    curated_name,
    curated_text,
    flush_unique,
    is_deleted,
    name_free,
    named_by_id,
    named_by_name,
    record_change,
)
from catalog_api.services.governance.history import record as record_history
from catalog_api.services.governance.views import LinkedAssetView, TermDetailView, TermRefView, TermView, term_view
from catalog_api.services.search.documents import refresh_entities
from events.curation_data import GlossaryTermFields, TermRef
from events.data import GlossaryTermCreated, GlossaryTermDeleted, GlossaryTermUpdated, TermsChanged

MAX_TERMS = 10_000
"""The most terms one listing answers."""
MAX_TERMS_PER_ENTITY = 100
MAX_LINKED = 1000
"""The most linked entities a term's page lists (`asset_count` counts them all)."""
MAX_DEPTH = 20
"""How deep terms nest under broader ones."""


# -- terms ---------------------------------------------------------------------------------------------------------

def create_term(ctx: ServiceContext, name: str, definition: str | None = None,
                parent: str | None = None) -> TermView:
    """A new term; 409 when a term of that name (in any case) exists."""
    name = curated_name("name", name, "a term's name")
    definition = curated_text("definition", definition, "a definition")
    with ctx.db.session() as session:
        parent_row = None if parent is None else term_by_name(session, parent, field="parent")
        name_free(session, GlossaryTerm, name, "term")
        actor = current_identity().actor
        row = GlossaryTerm(name=name, definition=definition, parent_id=None if parent_row is None else parent_row.id,
                           created_by=actor, updated_by=actor)
        _check_parent(session, row, parent_row)  # a new term has no narrower terms: only the depth can be wrong
        session.add(row)
        flush_unique(session, "name", f"a term named {name!r} exists")
        state = _state(row, parent_row)
        record_history(session, "term", row.id, row.name, "created", None, _fields(state),
                       GlossaryTermCreated(id=row.id, **dict(state), changed_by=current_identity().name))
        return term_view(row, None if parent_row is None else parent_row.name)


def update_term(ctx: ServiceContext, term_id: int, name: str, definition: str | None = None,
                parent: str | None = None) -> TermView:
    """Replaces a term's name, definition and parent; the same values again change nothing."""
    name = curated_name("name", name, "a term's name")
    definition = curated_text("definition", definition, "a definition")
    with ctx.db.session() as session:
        row = term_row(session, term_id)
        parent_row = None if parent is None else term_by_name(session, parent, field="parent")
        _check_parent(session, row, parent_row)
        before = _state(row, _parent(session, row))
        if name.lower() != row.name.lower():
            name_free(session, GlossaryTerm, name, "term")
        row.name, row.definition = name, definition
        row.parent_id = None if parent_row is None else parent_row.id
        after = _state(row, parent_row)
        if after != before:
            row.updated_by = current_identity().actor
            flush_unique(session, "name", f"a term named {name!r} exists")
            _record_update(session, row.id, before, after)
            if after.name != before.name:  # the search documents of its tables and columns hold the name
                refresh_entities(session, linked_urns(session, TermLink.term_id, row.id))
        return term_view(row, None if parent_row is None else parent_row.name)


def delete_term(ctx: ServiceContext, term_id: int) -> TermView:
    """Deletes a term: unlinks it from every table and column (with their history and events); its narrower terms
    lose their parent (with theirs). Answers the term as it was."""
    with ctx.db.session() as session:
        row = term_row(session, term_id)
        parent = _parent(session, row)
        view = term_view(row, None if parent is None else parent.name)
        linked = linked_urns(session, TermLink.term_id, row.id)
        before = terms_of(session, linked)
        for urn, target in assets_by_urn(session, linked).items():
            names = [t.name for t in before[urn]]
            _record_terms(session, target, names, [n for n in names if n != row.name])
        state = _state(row, parent)
        record_history(session, "term", row.id, row.name, "deleted", _fields(state), None,
                       GlossaryTermDeleted(id=row.id, **dict(state), changed_by=current_identity().name))
        session.execute(delete(TermLink).where(TermLink.term_id == row.id))
        for child in session.scalars(select(GlossaryTerm).where(GlossaryTerm.parent_id == row.id)):
            child.parent_id = None  # in its history and events too: it lost its broader term
            _record_update(session, child.id, _state(child, row), _state(child, None))
        session.delete(row)
        session.flush()
        refresh_entities(session, linked)
        return view


def _record_update(session: Session, term_id: int, before: GlossaryTermFields, after: GlossaryTermFields) -> None:
    record_history(session, "term", term_id, after.name, "updated", _fields(before), _fields(after),
                   GlossaryTermUpdated.between(term_id, before, after, changed_by=current_identity().name))


# -- links ---------------------------------------------------------------------------------------------------------

def link_term(ctx: ServiceContext, urn: str, term: str) -> list[TermRefView]:
    """Links a term (by name) to a table or column; linking it again changes nothing. Answers the entity's terms."""
    with ctx.db.session() as session:
        target = asset(session, urn, TERMED, "glossary terms")
        row = term_by_name(session, term, field="term")
        current = terms_of(session, [target.urn])[target.urn]
        if any(t.id == row.id for t in current):
            return current
        if len(current) >= MAX_TERMS_PER_ENTITY:
            raise InvalidInput("term", f"an entity is linked to at most {MAX_TERMS_PER_ENTITY} terms")
        session.add(TermLink(term_id=row.id, entity_urn=target.urn, source_id=target.source_id,
                             created_by=current_identity().actor))
        flush_unique(session, "term", f"{term!r} was linked to {urn} at the same time")
        names = [t.name for t in current]
        _record_terms(session, target, names, [*names, row.name])
        refresh_entities(session, [target.urn])
        return terms_of(session, [target.urn])[target.urn]


def unlink_term(ctx: ServiceContext, urn: str, term_id: int) -> list[TermRefView]:
    """Unlinks a term (by id) from a table or column; 404 when it is not linked. Answers the entity's terms."""
    with ctx.db.session() as session:
        target = asset(session, urn, TERMED, "glossary terms")
        current = terms_of(session, [target.urn])[target.urn]
        if not any(t.id == term_id for t in current):
            raise NotFound(f"term {term_id} is not linked to {urn}", field="term_id")
        session.execute(delete(TermLink).where(TermLink.term_id == term_id, TermLink.entity_urn == target.urn))
        names = [t.name for t in current]
        _record_terms(session, target, names, [t.name for t in current if t.id != term_id])
        refresh_entities(session, [target.urn])
        return [t for t in current if t.id != term_id]


def _record_terms(session: Session, target: Asset, before: list[str], after: list[str]) -> None:
    payload = TermsChanged.between(target.kind.value, before, after, changed_by=current_identity().name)
    record_change(session, target, "terms_changed", payload.before, payload.after, payload)


# -- queries -------------------------------------------------------------------------------------------------------

def list_terms(session: Session, *, parent: str | None = None, limit: int = MAX_TERMS) -> list[TermView]:
    """Terms in name order: all of them, or the narrower terms of `parent`."""
    if not 1 <= limit <= MAX_TERMS:
        raise InvalidInput("limit", f"between 1 and {MAX_TERMS}")
    parents = select(GlossaryTerm.id, GlossaryTerm.name).subquery()
    query = (select(GlossaryTerm, parents.c.name).outerjoin(parents, parents.c.id == GlossaryTerm.parent_id)
             .order_by(func.lower(GlossaryTerm.name)).limit(limit))
    if parent is not None:
        query = query.where(GlossaryTerm.parent_id == term_by_name(session, parent, field="parent").id)
    return [term_view(row, parent_name) for row, parent_name in session.execute(query)]


def get_term(session: Session, term_id: int, *, limit: int = MAX_LINKED) -> TermDetailView:
    """A term's page: the term, its narrower terms and (up to `limit` of) the entities linked to it, by URN."""
    if not 1 <= limit <= MAX_LINKED:
        raise InvalidInput("limit", f"between 1 and {MAX_LINKED}")
    row = term_row(session, term_id)
    children = [TermRefView(id=i, name=n) for i, n in session.execute(
        select(GlossaryTerm.id, GlossaryTerm.name).where(GlossaryTerm.parent_id == row.id)
        .order_by(func.lower(GlossaryTerm.name)))]
    assets, count = linked_page(session, TermLink.term_id, row.id, limit)
    parent = _parent(session, row)
    return TermDetailView(term=term_view(row, None if parent is None else parent.name), children=children,
                          assets=assets, asset_count=count)


def find_term(session: Session, name: str) -> TermDetailView:
    """A term's page by the term's name."""
    return get_term(session, term_by_name(session, name, field="name").id)


def terms_of(session: Session, urns: Sequence[str]) -> dict[str, list[TermRefView]]:
    """The terms linked to each entity, by name: one statement per 30,000 URNs."""
    found: dict[str, list[TermRefView]] = defaultdict(list)
    unique = list(dict.fromkeys(urns))
    for start in range(0, len(unique), MAX_BOUND_PARAMETERS):
        rows = session.execute(
            select(TermLink.entity_urn, GlossaryTerm.id, GlossaryTerm.name)
            .join(GlossaryTerm, GlossaryTerm.id == TermLink.term_id)
            .where(TermLink.entity_urn.in_(unique[start:start + MAX_BOUND_PARAMETERS]))
            .order_by(func.lower(GlossaryTerm.name)))
        for urn, term_id, name in rows:
            found[urn].append(TermRefView(id=term_id, name=name))
    return {urn: found.get(urn, []) for urn in urns}


def linked_urns(session: Session, holder: Any, holder_id: int) -> list[str]:
    """The URNs of the entities linked to one term or domain: `holder` is the link model's column naming it
    (`TermLink.term_id`, `DomainAssignment.domain_id`)."""
    return list(session.scalars(select(holder.class_.entity_urn).where(holder == holder_id)))


def linked_page(session: Session, holder: Any, holder_id: int, limit: int) -> tuple[list[LinkedAssetView], int]:
    """A term's or domain's page of linked entities: the first `limit` in URN order, and how many there are in all
    (`holder` as in `linked_urns`)."""
    link = holder.class_
    count = session.scalar(select(func.count()).select_from(link).where(holder == holder_id))
    urns = session.scalars(select(link.entity_urn).where(holder == holder_id).order_by(link.entity_urn).limit(limit))
    return linked_assets(session, list(urns)), count or 0


def linked_assets(session: Session, urns: Sequence[str]) -> list[LinkedAssetView]:
    """The entities of `urns` (in that order) as a term's or domain's page lists them."""
    found = assets_by_urn(session, urns)
    return [LinkedAssetView(urn=urn, kind=found[urn].kind.value, name=found[urn].row.name,
                            deleted=is_deleted(found[urn].row)) for urn in urns if urn in found]


def term_row(session: Session, term_id: int) -> GlossaryTerm:
    return named_by_id(session, GlossaryTerm, term_id, "glossary term")


def term_by_name(session: Session, name: Any, *, field: str) -> GlossaryTerm:
    """The term named `name`, in any case; NotFound naming `field` otherwise."""
    return named_by_name(session, GlossaryTerm, name, "glossary term", field=field)


def _parent(session: Session, row: GlossaryTerm) -> GlossaryTerm | None:
    return None if row.parent_id is None else session.get(GlossaryTerm, row.parent_id)


def _check_parent(session: Session, row: GlossaryTerm, parent: GlossaryTerm | None) -> None:
    """A term cannot be filed under itself or under one of its narrower terms."""
    seen = 0
    while parent is not None:
        if parent.id == row.id:
            raise InvalidInput("parent", "a term cannot be filed under itself or one of its narrower terms")
        seen += 1
        if seen >= MAX_DEPTH:  # the term itself is one level more
            raise InvalidInput("parent", f"terms nest at most {MAX_DEPTH} deep")
        parent = None if parent.parent_id is None else session.get(GlossaryTerm, parent.parent_id)


def _state(row: GlossaryTerm, parent: GlossaryTerm | None) -> GlossaryTermFields:
    """What curators edit of a term, as its events carry it."""
    return GlossaryTermFields(name=row.name, definition=row.definition,
                              parent=None if parent is None else TermRef(id=parent.id, name=parent.name))


def _fields(state: GlossaryTermFields) -> dict[str, Any]:
    """The term's fields as its history keeps them (the broader term by name)."""
    return {"name": state.name, "definition": state.definition, "parent": state.parent and state.parent.name}
