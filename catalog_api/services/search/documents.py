"""Search documents: what the index knows of each live source, schema, table and column, built by one function.

`entity_documents` is the one place a document is built; everything else decides which documents to rebuild. Every
writer calls a `refresh_*` function inside the transaction of its change (a crawl, a curated description or tag set, a
stored profile, a registered or updated source), so a rollback leaves the index as it was. Deleted entities have no
document; removing a source drops its documents by cascade.

Words are split before they are indexed (`words`): `customer_orders`, `customerOrders` and `pii.email` become
`customer orders`, `customer orders` and `pii email`, so a search for `orders` or `email` finds them and a prefix
search for `custo` finds `customers`.

Curation is searchable with the weight of tags: a document's `tag_text` holds its tags, its owners' principals, the
names of the glossary terms linked to it and the name of its domain (each entity its own: a column's terms are the
column's). The governance services refresh the documents of the entities a change touches in its transaction: owners
set, a term linked or unlinked, renamed or deleted, a domain renamed or deleted, an entity moved between domains.
Search filters and counts by owner, term and domain over the curation tables themselves (`query`).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, delete, func, insert, literal, select, true, union_all
from sqlalchemy.orm import Session

from catalog_api.db.chunks import chunks
from catalog_api.db.curation import Domain, DomainAssignment, GlossaryTerm, Owner, TermLink
from catalog_api.db.models import Column, DataSource, ProfileAnomalyRow, Schema, Table, TableProfileRow, Tag
from catalog_api.db.search import SearchDocument
from catalog_api.security.pii import is_pii_tag
from catalog_api.urns import EntityType

_WORD = re.compile(r"[^\W_]+")
_CAMEL = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")


def words(*texts: str | None) -> str:
    """The lower-case words of `texts`: split on anything but letters and digits, and camelCase split as well."""
    found: dict[str, None] = {}
    for text in texts:
        for word in _WORD.findall(text or ""):
            found[word.lower()] = None
            parts = _CAMEL.findall(word)
            if len(parts) > 1:
                found.update((part.lower(), None) for part in parts)
    return " ".join(found)


@dataclass(slots=True)
class Texts:
    """The inputs of one document; `document` turns them into a row of `search_documents`."""

    urn: str
    entity_kind: str
    kind: str
    source_id: int
    source_name: str
    name: str
    schema_name: str | None = None
    table_id: int | None = None
    table_name: str | None = None
    description: str | None = None
    comment: str | None = None
    tags: list[str] = field(default_factory=list)
    curated: list[str] = field(default_factory=list)
    """Owners' principals, glossary term names and the domain's name."""
    pii: bool = False
    anomalies: bool = False

    def document(self) -> dict[str, Any]:
        return {
            "urn": self.urn, "entity_kind": self.entity_kind, "kind": self.kind, "source_id": self.source_id,
            "source_name": self.source_name, "schema_name": self.schema_name, "table_id": self.table_id,
            "table_name": self.table_name, "name": self.name, "description": self.description or self.comment,
            "has_pii": self.pii or any(is_pii_tag(t) for t in self.tags),
            "has_anomalies": self.anomalies,
            "name_text": words(self.name),
            "body_text": words(self.description, self.comment),
            "tag_text": words(*self.tags, *self.curated),
            "context_text": words(self.source_name, self.schema_name, self.table_name),
        }


def entity_documents(session: Session, *, sources: ColumnElement[bool] | None = None,
                     tables: ColumnElement[bool] | None = None, curated: bool = True) -> list[dict[str, Any]]:
    """The documents of the live sources and schemas `sources` selects (on `DataSource`) and of the live tables and
    their live columns `tables` selects (on `Table`); None leaves that level out. A fixed number of statements.
    `curated` False leaves owners, terms and domains out (migration 0011 runs before their tables exist)."""
    texts: list[Texts] = []
    if sources is not None:
        texts += [Texts(s.urn, EntityType.SOURCE, "source", s.id, s.name, s.name, description=s.description)
                  for s in session.execute(select(DataSource.id, DataSource.urn, DataSource.name,
                                                  DataSource.description).where(sources))]
        texts += [Texts(urn, EntityType.SCHEMA, "schema", sid, source, name, schema_name=name, description=description,
                        comment=comment)
                  for urn, sid, source, name, description, comment in session.execute(
                      select(Schema.urn, Schema.source_id, DataSource.name, Schema.name, Schema.description,
                             Schema.comment).join(DataSource, DataSource.id == Schema.source_id)
                      .where(sources, Schema.deleted_at.is_(None)))]
    if tables is not None:
        live_tables = (select(Table.id).join(Schema, Schema.id == Table.schema_id)
                       .where(tables, Table.deleted_at.is_(None), Schema.deleted_at.is_(None)))
        anomalous = _anomalous(session, live_tables)
        table_texts = {
            tid: Texts(urn, EntityType.DATASET, kind, sid, source, name, schema_name=schema, table_id=tid,
                       table_name=name, description=description, comment=comment, anomalies=urn in anomalous)
            for tid, urn, kind, sid, source, schema, name, description, comment in session.execute(
                select(Table.id, Table.urn, Table.kind, Table.source_id, DataSource.name, Schema.name, Table.name,
                       Table.description, Table.comment)
                .join(Schema, Schema.id == Table.schema_id).join(DataSource, DataSource.id == Table.source_id)
                .where(Table.id.in_(live_tables)))
        }
        texts += table_texts.values()
        for tid, urn, name, description, comment in session.execute(
                select(Column.table_id, Column.urn, Column.name, Column.description, Column.comment)
                .where(Column.table_id.in_(live_tables), Column.deleted_at.is_(None))):
            parent = table_texts[tid]
            texts.append(Texts(urn, EntityType.COLUMN, "column", parent.source_id, parent.source_name, name,
                               schema_name=parent.schema_name, table_id=tid, table_name=parent.table_name,
                               description=description, comment=comment, anomalies=urn in anomalous))
        _add_tags(session, texts, live_tables, table_texts, curated)
    elif texts:
        _add_tags(session, texts, None, {}, curated)
    return [t.document() for t in texts]


def _labels(urns, curated: bool) -> Select:
    """(URN, is it a tag, value) of the tags, owners, linked terms and domains of the entities `urns` selects."""
    tags = select(Tag.entity_urn, literal(True).label("tagged"), Tag.tag).where(Tag.entity_urn.in_(urns))
    if not curated:
        return tags
    return union_all(
        tags,
        select(Owner.entity_urn, literal(False), Owner.principal).where(Owner.entity_urn.in_(urns)),
        select(TermLink.entity_urn, literal(False), GlossaryTerm.name)
        .join(GlossaryTerm, GlossaryTerm.id == TermLink.term_id).where(TermLink.entity_urn.in_(urns)),
        select(DomainAssignment.entity_urn, literal(False), Domain.name)
        .join(Domain, Domain.id == DomainAssignment.domain_id).where(DomainAssignment.entity_urn.in_(urns)))


def _add_tags(session: Session, texts: list[Texts], live_tables: Select | None, tables: dict[int, Texts],
              curated: bool) -> None:
    """Adds the tags and curation of every document (one statement per level, per 500 sources and schemas)."""
    by_urn = {t.urn: t for t in texts}
    urns: list[Select] = []
    if live_tables is not None:
        urns += [select(Table.urn).where(Table.id.in_(live_tables)),
                 select(Column.urn).where(Column.table_id.in_(live_tables), Column.deleted_at.is_(None))]
    named = [t.urn for t in texts if t.entity_kind in (EntityType.SOURCE, EntityType.SCHEMA)]
    found: dict[str, tuple[list[str], list[str]]] = defaultdict(lambda: ([], []))
    for query in [*chunks(named), *urns]:
        for urn, tagged, value in session.execute(_labels(query, curated)):
            found[urn][0 if tagged else 1].append(value)
    for urn, (tags, curated) in found.items():
        if urn in by_urn:
            by_urn[urn].tags, by_urn[urn].curated = sorted(tags), sorted(curated)
    for text in texts:  # a table holds PII when one of its live columns does
        if text.entity_kind == EntityType.COLUMN and text.table_id in tables and any(map(is_pii_tag, text.tags)):
            tables[text.table_id].pii = True


def _anomalous(session: Session, live_tables: Select) -> set[str]:
    """The URNs of the tables and columns with an anomaly in their table's latest profile."""
    newest_first = (TableProfileRow.started_at.desc(), TableProfileRow.id.desc())
    ranked = (select(TableProfileRow.id, TableProfileRow.table_id, func.row_number().over(
        partition_by=TableProfileRow.table_id, order_by=newest_first).label("position"))
        .where(TableProfileRow.table_id.in_(live_tables)).subquery())
    rows = session.execute(
        select(ProfileAnomalyRow.subject_urn, Table.urn)
        .join(ranked, ranked.c.id == ProfileAnomalyRow.table_profile_id)
        .join(Table, Table.id == ranked.c.table_id).where(ranked.c.position == 1).distinct())
    return {urn for pair in rows for urn in pair}


def _replace(session: Session, stale: ColumnElement[bool], documents: list[dict[str, Any]]) -> None:
    session.execute(delete(SearchDocument).where(stale))
    if documents:  # one executemany, however many documents (no statement holds more than one row's parameters)
        session.execute(insert(SearchDocument).execution_options(render_nulls=True), documents)


def refresh_tables(session: Session, table_ids: Iterable[int]) -> None:
    """Rebuilds the documents of these tables and their columns (none for a deleted table or column)."""
    for chunk in chunks(sorted(set(table_ids))):
        _replace(session, SearchDocument.table_id.in_(chunk), entity_documents(session, tables=Table.id.in_(chunk)))


def refresh_sources(session: Session, source_ids: Iterable[int]) -> None:
    """Rebuilds the documents of these sources and their schemas (not of their tables)."""
    for chunk in chunks(sorted(set(source_ids))):
        _replace(session, SearchDocument.source_id.in_(chunk) & SearchDocument.entity_kind.in_(
            (EntityType.SOURCE, EntityType.SCHEMA)), entity_documents(session, sources=DataSource.id.in_(chunk)))


def refresh_entities(session: Session, urns: Sequence[str]) -> None:
    """Rebuilds the documents of the entities these stored URNs name (a column's: its whole table's)."""
    by_kind: dict[str, list[str]] = defaultdict(list)
    for urn in urns:
        by_kind[urn.split(":")[2]].append(urn)  # a stored entity's canonical URN: urn:catalog:<kind>:...
    source_ids: set[int] = set()
    table_ids: set[int] = set()
    for kind, key, found in ((EntityType.SOURCE, DataSource.id, DataSource.urn), (EntityType.SCHEMA, Schema.source_id,
                             Schema.urn), (EntityType.DATASET, Table.id, Table.urn), (EntityType.COLUMN,
                             Column.table_id, Column.urn)):
        ids = source_ids if kind in (EntityType.SOURCE, EntityType.SCHEMA) else table_ids
        for chunk in chunks(by_kind.get(kind, [])):
            ids.update(session.scalars(select(key).where(found.in_(chunk))))
    refresh_sources(session, source_ids)
    refresh_tables(session, table_ids)


def rebuild(session: Session, *, curated: bool = True) -> int:
    """Rebuilds the whole index (the backfill of migrations 0011, without curation, and 0013); returns the number of
    documents."""
    documents = entity_documents(session, sources=true(), tables=true(), curated=curated)
    _replace(session, true(), documents)
    return len(documents)
