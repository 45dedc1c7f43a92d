"""The base of every event's `data` model (`events.data` has one per event type)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from events.types import EventType
from events.urns import UrnKind


class EventPayload(BaseModel):
    """Base of every event's `data`: frozen, unknown fields refused, every field written."""

    model_config = ConfigDict(frozen=True, extra="forbid", json_schema_serialization_defaults_required=True)

    event_type: ClassVar[EventType]
    subject_kinds: ClassVar[tuple[UrnKind, ...]]
    """Which kinds of URN may be the event's subject."""
