"""`EventPublisher`: what the outbox relay hands events to, and what it gets back.

The protocol is synchronous on purpose: the relay (a thread of `catalog serve` or `catalog relay`) works through a
synchronous SQLAlchemy session (read a page of the outbox, publish, mark sent, commit), and the Azure SDK's sync
producer is the mature one. Asynchronous consumers (GraphQL subscriptions, SSE) are served by `InProcessBus`, whose `publish`
is thread-safe and hands events over to their event loops.

What every publisher guarantees:
- **At least once.** `publish` reports every event it was given exactly once, in `delivered` or in `failed`; the
  relay marks `delivered` ids sent and keeps `failed` ones for a later attempt (or parks them when `retryable` is
  false). A crash between publishing and marking publishes again with the same id: consumers deduplicate by id.
- **Order per source.** The relay hands over a source's events in outbox order and holds a source's later events
  behind one that waits for a retry; a publisher keeps the order of the events it is given for one source
  (Event Hubs: the source URN is the partition key; webhooks: one subscription's events are sent one by one).
- **No exception for a failed event.** A failure is a `PublishFailure`; `publish` raises only for a programming
  error, which the relay logs and retries like a failure of the whole batch.

How often the relay calls `publish`: it marks events sent one small batch at a time (`events_relay_commit_size`), so
that a crash repeats at most the batch in flight, and calls each publisher once per batch. A publisher whose class
sets `deduplicates = True` (it keeps each event id once, as the JSON Lines file does) is called once per round with
all of the round's events instead: repeats cost it nothing, and one call per round costs less (one fsync).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from events.model import CatalogEvent


@dataclass(frozen=True, slots=True)
class PublishFailure:
    """One event that was not published, why, and whether trying again later can help."""

    event_id: str
    error: str
    retryable: bool = True


@dataclass(frozen=True)
class PublishResult:
    """Every event handed to `publish` appears exactly once: in `delivered` or in `failed`."""

    delivered: tuple[str, ...] = ()
    failed: tuple[PublishFailure, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.failed

    @property
    def failed_ids(self) -> tuple[str, ...]:
        return tuple(f.event_id for f in self.failed)

    def error_for(self, event_id: str) -> PublishFailure | None:
        return next((f for f in self.failed if f.event_id == event_id), None)

    @classmethod
    def all_delivered(cls, events: Sequence[CatalogEvent]) -> PublishResult:
        """Every one of `events` went out."""
        return cls(delivered=tuple(e.id for e in events))

    @classmethod
    def all_failed(cls, events: Sequence[CatalogEvent], error: str) -> PublishResult:
        """None of `events` went out, all for the same reason (worth trying again later)."""
        return cls(failed=tuple(PublishFailure(e.id, error) for e in events))


@runtime_checkable
class EventPublisher(Protocol):
    """Publishes a batch of events and says, per event, whether it went out."""

    def publish(self, events: Sequence[CatalogEvent]) -> PublishResult:
        """Publishes `events` in order (per partition key); never raises for a delivery failure."""
        ...
