"""Curating entities: descriptions and tags/classifications, addressed by URN. A change is written to the history of
the entity's table (a source's or schema's to its source's) as `description_changed` or `tags_changed`, with its
event, in one transaction, like the other curation (governance.assets.record_change)."""

from __future__ import annotations

import re

from sqlalchemy import delete, select

from catalog_api.db.models import Tag
from catalog_api.errors import InvalidInput
from catalog_api.security.identity import current_identity
from catalog_api.services.context import ServiceContext
from catalog_api.services.governance.assets import MODELS, asset, record_change
from catalog_api.services.search.documents import refresh_entities
from catalog_api.services.text import free_text
from catalog_api.services.views import EntityView, entity_view
from events.data import DescriptionChanged, TagsChanged

TAG = re.compile(r"^[a-z0-9][a-z0-9_\-]*(\.[a-z0-9][a-z0-9_\-]*)*$")
MAX_TAG_LENGTH = 128
MAX_TAGS = 50
MAX_DESCRIPTION = 20_000
CURATED = tuple(MODELS)
"""Every kind of entity carries a description and tags."""


def validate_tags(tags: list[str]) -> list[str]:
    if len(tags) > MAX_TAGS:
        raise InvalidInput("tags", f"an entity carries at most {MAX_TAGS} tags")
    cleaned = []
    for index, tag in enumerate(tags):
        tag = tag.strip().lower()
        if not tag or len(tag) > MAX_TAG_LENGTH or not TAG.match(tag):
            raise InvalidInput(
                f"tags.{index}",
                f"a tag is 1 to {MAX_TAG_LENGTH} lower-case letters, digits, '_' or '-', in dotted parts (e.g. pii.email)",
            )
        cleaned.append(tag)
    return sorted(set(cleaned))


def set_description(ctx: ServiceContext, urn: str, description: str | None) -> EntityView:
    """Sets (or clears, with None or blank) the curated description of any entity."""
    free_text("description", description, max_length=MAX_DESCRIPTION, noun="a description")
    with ctx.db.session() as session:
        target = asset(session, urn, CURATED, "descriptions")
        entity = target.row
        before = entity.description
        entity.description = description.strip() or None if description is not None else None
        if entity.description != before:
            record_change(session, target, "description_changed", before, entity.description,
                          DescriptionChanged(entity_kind=target.kind.value, before=before, after=entity.description,
                                             changed_by=current_identity().name))
        session.flush()
        refresh_entities(session, [entity.urn])
        return entity_view(entity)


def set_tags(ctx: ServiceContext, urn: str, tags: list[str]) -> list[str]:
    """Replaces the tags of an entity; returns the stored, normalised set."""
    cleaned = validate_tags(tags)
    with ctx.db.session() as session:
        target = asset(session, urn, CURATED, "tags")
        entity = target.row
        current = set(session.scalars(select(Tag.tag).where(Tag.entity_urn == entity.urn)))
        removed = current - set(cleaned)
        if removed:
            session.execute(delete(Tag).where(Tag.entity_urn == entity.urn, Tag.tag.in_(removed)))
        session.add_all(Tag(entity_urn=entity.urn, tag=t) for t in cleaned if t not in current)
        if current != set(cleaned):
            refresh_entities(session, [entity.urn])
            record_change(session, target, "tags_changed", sorted(current), cleaned,
                          TagsChanged.between(target.kind.value, current, cleaned, changed_by=current_identity().name))
    return cleaned
