"""`EventFilter`: which events a webhook subscription or a bus subscriber wants."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from events.model import CatalogEvent
from events.types import EventType
from events.urns import PREFIX, SOURCELESS_KINDS, urn_kind


class InvalidFilter(ValueError):
    """A filter field is malformed; `field` names it."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def parse_event_types(values: Iterable[EventType | str] | None, *, field: str = "event_types") -> frozenset[EventType]:
    """Event type names to a set; an unknown name raises `InvalidFilter` listing the known ones."""
    if values is None:
        return frozenset()
    if isinstance(values, str):
        raise InvalidFilter(field, "expected a list of event types, got a single string")
    types: set[EventType] = set()
    for value in values:
        try:
            types.add(EventType(value))
        except ValueError:
            known = ", ".join(t.value for t in EventType)
            raise InvalidFilter(field, f"unknown event type {value!r}; known types: {known}") from None
    return frozenset(types)


def check_urn_prefix(prefix: str | None, *, field: str = "urn_prefix") -> str:
    prefix = prefix or ""
    if prefix and not prefix.startswith(PREFIX):
        raise InvalidFilter(field, f"a URN prefix starts with {PREFIX!r}, e.g. 'urn:catalog:dataset:erp:sales:'")
    return prefix


def _scope_of(prefix: str) -> tuple[str, ...] | None:
    try:
        kind = urn_kind(prefix)
    except ValueError:
        return None
    # A glossary term or domain contains nothing: its URN matches itself alone (`...:glossary_term:1`, not `...:12`).
    return (prefix,) if kind in SOURCELESS_KINDS else tuple(prefix.split(":")[3:])


def _in_source(subject: str) -> bool:
    # The names after the kind locate an entity in a source only for the kinds that have one.
    return subject.split(":")[2] not in SOURCELESS_KINDS


@dataclass(frozen=True, slots=True)
class EventFilter:
    """Matches events by type (empty = every type) and by subject URN prefix (empty = every subject).

    A prefix that is a whole URN matches that entity and everything inside it: `urn:catalog:source:erp` matches
    every event of source `erp` (its tables, columns, jobs...), `urn:catalog:dataset:erp:sales:orders` the table
    and its columns but not `orders_2019`, `urn:catalog:glossary_term:12` that term alone. Any other prefix is
    compared as text: `urn:catalog:dataset:erp:` selects the datasets of `erp`, `urn:catalog:column:` every column
    event.
    """

    event_types: frozenset[EventType] = frozenset()
    urn_prefix: str = ""
    _scope: tuple[str, ...] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_scope", _scope_of(self.urn_prefix) if self.urn_prefix else None)

    @classmethod
    def of(cls, event_types: Iterable[EventType | str] | None = None, urn_prefix: str | None = None) -> EventFilter:
        return cls(parse_event_types(event_types), check_urn_prefix(urn_prefix))

    def matches(self, event: CatalogEvent) -> bool:
        if self.event_types and event.type not in self.event_types:
            return False
        scope = self._scope
        if scope is None:
            return event.subject.startswith(self.urn_prefix)
        if scope == (self.urn_prefix,):
            return event.subject == self.urn_prefix
        return _in_source(event.subject) and tuple(event.subject.split(":")[3:3 + len(scope)]) == scope
