"""Owners, glossary terms and domains: who answers for an entity, what it means, and which part of the business it
belongs to.

Assignments are addressed by the entity's URN (like tags) and carry the id of the entity's source with a cascading
foreign key: removing a source removes its entities' owners, term links and domain, as it removes their change
log. A table that disappears from its source is only soft-deleted, so its curation stays with it.

Terms and domains are named (unique); their own history (`curation_changes`) is append-only and not tied to them by
foreign key, so a deleted term's past stays readable.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from catalog_api.db.models import URN_LENGTH, Base, Timestamped, _BigSerial, utcnow

PRINCIPAL_LENGTH = 255
CURATED_NAME_LENGTH = 200
ACTOR_LENGTH = 300


class Owner(Base):
    """One owner of a source, schema or dataset: a user or group (`principal_kind`), technical or business."""

    __tablename__ = "owners"
    __table_args__ = (UniqueConstraint("entity_urn", "principal_kind", "principal", "owner_type"),
                      Index(None, "source_id"), Index(None, "principal"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entity_urn: Mapped[str] = mapped_column(String(URN_LENGTH))
    source_id: Mapped[int] = mapped_column(ForeignKey("data_sources.id", ondelete="CASCADE"))
    principal: Mapped[str] = mapped_column(String(PRINCIPAL_LENGTH))
    principal_kind: Mapped[str] = mapped_column(String(16))
    owner_type: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(ACTOR_LENGTH))


class GlossaryTerm(Timestamped, Base):
    """A business term with its definition; `parent_id` files it under a broader term (its category)."""

    __tablename__ = "glossary_terms"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(CURATED_NAME_LENGTH), unique=True)
    definition: Mapped[str | None] = mapped_column(Text)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("glossary_terms.id", ondelete="SET NULL"), index=True)
    created_by: Mapped[str] = mapped_column(String(ACTOR_LENGTH))
    updated_by: Mapped[str] = mapped_column(String(ACTOR_LENGTH))


class TermLink(Base):
    """A glossary term linked to a dataset or a column."""

    __tablename__ = "glossary_links"
    __table_args__ = (UniqueConstraint("term_id", "entity_urn"), Index(None, "entity_urn"), Index(None, "source_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    term_id: Mapped[int] = mapped_column(ForeignKey("glossary_terms.id", ondelete="CASCADE"))
    entity_urn: Mapped[str] = mapped_column(String(URN_LENGTH))
    source_id: Mapped[int] = mapped_column(ForeignKey("data_sources.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(ACTOR_LENGTH))


class Domain(Timestamped, Base):
    """A named part of the business (e.g. Finance) that sources and datasets belong to."""

    __tablename__ = "domains"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(CURATED_NAME_LENGTH), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(ACTOR_LENGTH))
    updated_by: Mapped[str] = mapped_column(String(ACTOR_LENGTH))


class DomainAssignment(Base):
    """The one domain a source or dataset belongs to (`entity_urn` is unique)."""

    __tablename__ = "domain_assignments"
    __table_args__ = (Index(None, "domain_id"), Index(None, "source_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entity_urn: Mapped[str] = mapped_column(String(URN_LENGTH), unique=True)
    domain_id: Mapped[int] = mapped_column(ForeignKey("domains.id", ondelete="CASCADE"))
    source_id: Mapped[int] = mapped_column(ForeignKey("data_sources.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(ACTOR_LENGTH))


class CurationChange(Base):
    """One change of a glossary term or a domain (`created`, `updated`, `deleted`) with its fields before and after."""

    __tablename__ = "curation_changes"
    __table_args__ = (Index(None, "subject_kind", "subject_id", "id"),)

    id: Mapped[int] = mapped_column(_BigSerial, primary_key=True, autoincrement=True)
    subject_kind: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[int] = mapped_column(Integer)
    subject_name: Mapped[str] = mapped_column(String(CURATED_NAME_LENGTH))
    change: Mapped[str] = mapped_column(String(16))
    before: Mapped[dict[str, Any] | None] = mapped_column()
    after: Mapped[dict[str, Any] | None] = mapped_column()
    actor: Mapped[str] = mapped_column(String(ACTOR_LENGTH))
    at: Mapped[datetime] = mapped_column(default=utcnow)
