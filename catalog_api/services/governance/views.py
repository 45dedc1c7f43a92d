"""What callers see of owners, glossary terms and domains: frozen views built from their rows in one place each."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from catalog_api.db.curation import CurationChange, Domain, GlossaryTerm, Owner
from catalog_api.services.views import from_row


@dataclass(frozen=True, slots=True)
class OwnerView:
    """One owner of an entity: a user or group (`kind`), answering for it as `technical` or `business` owner."""

    principal: str
    kind: str
    type: str
    created_at: datetime
    created_by: str


def owner_view(row: Owner) -> OwnerView:
    return OwnerView(principal=row.principal, kind=row.principal_kind, type=row.owner_type, created_at=row.created_at,
                     created_by=row.created_by)


@dataclass(frozen=True, slots=True)
class TermRefView:
    """A glossary term as an entity's list of terms names it."""

    id: int
    name: str


@dataclass(frozen=True, slots=True)
class DomainRefView:
    """A domain as an entity names it."""

    id: int
    name: str


@dataclass(frozen=True, slots=True)
class TermView:
    """A glossary term: its unique name, definition, and the broader term (`parent`) it is filed under."""

    id: int
    name: str
    definition: str | None
    parent: str | None
    created_at: datetime
    updated_at: datetime
    created_by: str
    updated_by: str


def term_view(row: GlossaryTerm, parent: str | None) -> TermView:
    return from_row(TermView, row, parent=parent)


@dataclass(frozen=True, slots=True)
class LinkedAssetView:
    """An entity a term is linked to, or a domain holds."""

    urn: str
    kind: str
    name: str
    deleted: bool
    """Whether it disappeared from its source (kept soft-deleted, with its curation)."""


@dataclass(frozen=True, slots=True)
class TermDetailView:
    """A term's page: the term, its narrower terms and the tables and columns linked to it (by URN)."""

    term: TermView
    children: list[TermRefView]
    assets: list[LinkedAssetView]
    asset_count: int
    """How many entities are linked; `assets` holds at most the first `limit` of them."""


@dataclass(frozen=True, slots=True)
class DomainView:
    """A named part of the business that sources and datasets belong to."""

    id: int
    name: str
    description: str | None
    created_at: datetime
    updated_at: datetime
    created_by: str
    updated_by: str


def domain_view(row: Domain) -> DomainView:
    return from_row(DomainView, row)


@dataclass(frozen=True, slots=True)
class DomainDetailView:
    """A domain with the sources and datasets that belong to it."""

    domain: DomainView
    assets: list[LinkedAssetView]
    asset_count: int


@dataclass(frozen=True, slots=True)
class CurationChangeView:
    """One change of a glossary term or domain (`created`, `updated`, `deleted`): its fields before and after, who
    made it and when."""

    id: int
    subject_kind: str
    subject_id: int
    subject_name: str
    change: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    actor: str
    at: datetime


def curation_change_view(row: CurationChange) -> CurationChangeView:
    return from_row(CurationChangeView, row)


@dataclass(frozen=True, slots=True)
class CurationView:
    """What curators added to one entity beyond its description and tags: owners, glossary terms and domain (each
    null where the entity's kind cannot carry it)."""

    urn: str
    owners: list[OwnerView] | None
    terms: list[TermRefView] | None
    domain: DomainRefView | None
