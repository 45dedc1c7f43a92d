"""The `data` of the events about glossary terms and domains themselves: created, updated, deleted.

Their subjects are `urn:catalog:glossary_term:<id>` and `urn:catalog:domain:<id>`: a rename keeps the id, so a
consumer follows one term or domain by its subject (or `id`) whatever it is called. Linking a term to a table or
putting a dataset in a domain is another event, about that table or dataset (`catalog.terms.changed`,
`catalog.domain.changed`).
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from events.payload import EventPayload
from events.types import EventType
from events.urns import UrnKind

MAX_NAME_LENGTH = 200
"""The longest name of a term or domain, as the catalog accepts it."""

ChangedBy = Annotated[str | None, Field(description="Who made the change, when known.")]


class TermRef(BaseModel):
    """A glossary term as another term names it (its broader term)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: int = Field(ge=1, description="The term's id: its URN is `urn:catalog:glossary_term:<id>`.")
    name: str = Field(min_length=1, max_length=MAX_NAME_LENGTH, description="The term's name.")


class GlossaryTermFields(BaseModel):
    """What a curator edits of a glossary term."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=MAX_NAME_LENGTH, description="The term's name, unique in any case.")
    definition: str | None = Field(description="The term's definition; null when it has none.")
    parent: TermRef | None = Field(description="The broader term it is filed under; null at the top.")


class DomainFields(BaseModel):
    """What a curator edits of a domain."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=MAX_NAME_LENGTH, description="The domain's name, unique in any case.")
    description: str | None = Field(description="The domain's description; null when it has none.")


class _Curated(EventPayload):
    id: int = Field(ge=1, description="The id in the subject's URN.")


class _Updated(_Curated):
    """Base of an update: the fields before and after, and the names of those that differ."""

    changed_fields: list[str] = Field(min_length=1, description="Fields whose value changed, in declaration order.")

    @classmethod
    def between(cls, id: int, before: Any, after: Any, changed_by: str | None = None) -> Any:
        """The payload of a change from `before` to `after` (two fields models of the same kind)."""
        changed = [name for name in type(before).model_fields if getattr(before, name) != getattr(after, name)]
        return cls(id=id, changed_fields=changed, before=before, after=after, changed_by=changed_by)

    @model_validator(mode="after")
    def _consistent(self) -> Any:
        before, after = self.before, self.after  # type: ignore[attr-defined]
        changed = [name for name in type(before).model_fields if getattr(before, name) != getattr(after, name)]
        if not changed:
            raise ValueError("before and after are equal: nothing changed")
        if changed != self.changed_fields:
            raise ValueError(f"changed_fields must list the fields that differ: {changed} (build with between)")
        return self


# -- glossary terms --------------------------------------------------------------------------------------------------

class GlossaryTermCreated(GlossaryTermFields, _Curated):
    """A curator added a term to the business glossary. Subject: the term's URN."""

    event_type: ClassVar[EventType] = EventType.GLOSSARY_TERM_CREATED
    subject_kinds: ClassVar[tuple[UrnKind, ...]] = (UrnKind.GLOSSARY_TERM,)

    changed_by: ChangedBy = None


class GlossaryTermUpdated(_Updated):
    """A curator renamed a term, changed its definition or filed it under another broader term (also when its
    broader term was deleted). Subject: the term's URN."""

    event_type: ClassVar[EventType] = EventType.GLOSSARY_TERM_UPDATED
    subject_kinds: ClassVar[tuple[UrnKind, ...]] = (UrnKind.GLOSSARY_TERM,)

    changed_fields: list[Literal["name", "definition", "parent"]] = Field(  # type: ignore[assignment]
        min_length=1, description="Fields whose value changed: `name`, `definition`, `parent`.")
    before: GlossaryTermFields = Field(description="The term before the change.")
    after: GlossaryTermFields = Field(description="The term after the change.")
    changed_by: ChangedBy = None


class GlossaryTermDeleted(GlossaryTermFields, _Curated):
    """A curator deleted a term: it was unlinked from every table and column (each a `catalog.terms.changed`) and
    its narrower terms lost their parent (each a `catalog.glossary_term.updated`). Subject: the term's URN."""

    event_type: ClassVar[EventType] = EventType.GLOSSARY_TERM_DELETED
    subject_kinds: ClassVar[tuple[UrnKind, ...]] = (UrnKind.GLOSSARY_TERM,)

    changed_by: ChangedBy = None


# -- domains ---------------------------------------------------------------------------------------------------------

class DomainCreated(DomainFields, _Curated):
    """A curator created a domain. Subject: the domain's URN."""

    event_type: ClassVar[EventType] = EventType.DOMAIN_CREATED
    subject_kinds: ClassVar[tuple[UrnKind, ...]] = (UrnKind.DOMAIN,)

    changed_by: ChangedBy = None


class DomainUpdated(_Updated):
    """A curator renamed a domain or changed its description; its sources and datasets stay in it. Subject: the
    domain's URN."""

    event_type: ClassVar[EventType] = EventType.DOMAIN_UPDATED
    subject_kinds: ClassVar[tuple[UrnKind, ...]] = (UrnKind.DOMAIN,)

    changed_fields: list[Literal["name", "description"]] = Field(  # type: ignore[assignment]
        min_length=1, description="Fields whose value changed: `name`, `description`.")
    before: DomainFields = Field(description="The domain before the change.")
    after: DomainFields = Field(description="The domain after the change.")
    changed_by: ChangedBy = None


class DomainDeleted(DomainFields, _Curated):
    """A curator deleted a domain: its sources and datasets were taken out of it (each a `catalog.domain.changed`).
    Subject: the domain's URN."""

    event_type: ClassVar[EventType] = EventType.DOMAIN_DELETED
    subject_kinds: ClassVar[tuple[UrnKind, ...]] = (UrnKind.DOMAIN,)

    changed_by: ChangedBy = None
