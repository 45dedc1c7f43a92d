"""The outbox relay: publishes pending outbox events to every configured publisher, at least once, in order per source.

One round (`Relay.run_once`) reads up to `events_relay_batch_size` due `pending` rows in id order (a short read; no
transaction stays open while publishing), skipping the rows of a source whose earlier event waits for a retry, so a
source's events never overtake each other. It then works through them in batches of `events_relay_commit_size`:
1. hands the batch to each publisher (in-process bus, JSON Lines file, webhooks, Event Hubs) that has not confirmed
   its events yet (`delivered_to`); an event whose source already waits for a retry in this round is held back. A
   publisher that `deduplicates` (the JSON Lines file) gets the whole round with the first batch instead;
2. in one transaction: marks `sent` the events every publisher confirmed, schedules a retry with exponential
   backoff and jitter for the others (`attempts`, `last_error`, `next_attempt_at`), parks as `dead` the ones that
   failed `events_max_attempts` times or cannot succeed, and stores the webhook delivery log;
and only then starts the next batch.

A crash between 1 and 2 leaves that batch pending: its events are published again with the same ids (consumers
deduplicate by id; the JSON Lines file skips the ids already at its end); nothing is lost, and at most one batch is
repeated. `Relay.start()` runs rounds on a thread: woken at once when a transaction that wrote events commits in this
process, otherwise every `events_relay_interval_s`; `stop()` lets the batch in flight finish. Only one relay per
catalog publishes at a time (leader lock: a PostgreSQL advisory lock, or a file lock next to the SQLite database), so
the in-process bus is fed in the process that holds the lock: run the relay in `catalog serve`.
"""

from __future__ import annotations

import json
import logging
import random
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.orm import Session

from catalog_api.db.models import OutboxEvent, WebhookDeliveryRow, WebhookSubscriptionRow, utcnow
from catalog_api.db.session import Database
from catalog_api.observability.metrics import record_publish
from catalog_api.services.events.outbox import OutboxStatus, wakeup
from catalog_api.services.events.publishers import NamedPublisher, build_publishers
from events import CatalogEvent, EventType, PublishResult
from events.webhooks import WebhookPublishResult

if TYPE_CHECKING:
    from catalog_api.services.context import ServiceContext

log = logging.getLogger(__name__)

RELAY_LOCK_KEY = 0x6361745F72656C79  # "cat_rely": pg_try_advisory_lock key of the active relay


@dataclass
class RelayRound:
    """What one round did: events fetched, sent, rescheduled, parked dead, held behind an earlier event."""

    fetched: int = 0
    sent: int = 0
    retried: int = 0
    dead: int = 0
    held: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _Pending:
    id: int
    event_id: str
    source_urn: str
    attempts: int
    delivered_to: set[str]
    event: CatalogEvent | None
    error: str | None = None


class Relay:
    """Publishes the outbox; `run_once` for one round, `start`/`stop` for the background loop."""

    def __init__(self, ctx: ServiceContext, publishers: Sequence[NamedPublisher] | None = None) -> None:
        self._ctx = ctx
        # Its own engine and pool: polling never competes with requests for connections (nor shows in their
        # statement counts), and a stuck publisher cannot exhaust the service's pool.
        self._db = Database(ctx.db.url, ctx.db.statement_timeout_ms)
        self.publishers = list(publishers) if publishers is not None else build_publishers(ctx, self._db)
        names = [p.name for p in self.publishers]
        if len(set(names)) != len(names):
            raise ValueError(f"publisher names must be unique, got {names}")
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = RelayLock(ctx, self._db)

    # -- one round ------------------------------------------------------------------------------------------------

    def run_once(self, now: datetime | None = None) -> RelayRound:
        """Publishes one round of due events, one commit batch after the other, recording each batch's outcome before
        the next goes out (assumes this is the only active relay). `now` fixes the clock, for tests."""
        pending = self._fetch(now or utcnow())
        outcome = RelayRound(fetched=len(pending))
        if not pending:
            return outcome
        size = self._ctx.settings.events_relay_commit_size
        failures: dict[str, list[str]] = {}  # event id -> errors, for the whole round
        final: set[str] = set()  # event ids that cannot succeed
        waiting: dict[str, int] = {}  # source -> outbox id of its first event that did not go out
        # One connection records every batch of the round (no checkout and ping per batch); idle while publishing.
        with self._db.engine.connect() as connection:
            if connection.dialect.name == "postgresql":
                # The marks only spare re-sends: losing the last ones in a database crash repeats their events,
                # never loses one. So a batch does not wait for its WAL flush, which costs more than the batch.
                # (Set for the session: the relay's engine serves the relay alone.)
                connection.exec_driver_sql("SET synchronous_commit = off")
                connection.commit()
            for start in range(0, len(pending), size):
                if start and self._stop.is_set():  # the rest stays pending for the next relay
                    break
                batch = pending[start:start + size]
                deliveries: list[Any] = []
                for named in self.publishers:
                    if getattr(named.publisher, "deduplicates", False):
                        if not start:  # repeats cost it nothing: it takes the whole round at once (one fsync)
                            self._publish(named, pending, failures, final, deliveries)
                    else:
                        # A source that waits since an earlier batch keeps its later events back: handing them to a
                        # webhook now would let them overtake the one that failed.
                        self._publish(named, [p for p in batch if p.source_urn not in waiting], failures, final,
                                      deliveries)
                self._record(connection, batch, failures, final, deliveries, waiting, now or utcnow(), outcome)
        return outcome

    @staticmethod
    def _publish(named: NamedPublisher, targets: list[_Pending], failures: dict[str, list[str]], final: set[str],
                 deliveries: list[Any]) -> None:
        """Hands `named` the targets it has not confirmed yet and notes what it says."""
        todo = [p.event for p in targets if p.event is not None and named.name not in p.delivered_to]
        if not todo:
            return
        try:
            result = named.publisher.publish(todo)
        except Exception as error:  # a publisher bug must not stop the others; retried like a failure
            log.exception("publisher %s raised", named.name)
            result = PublishResult.all_failed(todo, f"{type(error).__name__}: {error}")
        record_publish(named.name, len(result.delivered), len(result.failed))
        delivered = set(result.delivered)
        for p in targets:
            if p.event is not None and p.event.id in delivered:
                p.delivered_to.add(named.name)
        for failure in result.failed:
            failures.setdefault(failure.event_id, []).append(f"{named.name}: {failure.error}")
            if not failure.retryable:
                final.add(failure.event_id)
        if isinstance(result, WebhookPublishResult):
            deliveries.extend(result.deliveries)

    def _fetch(self, now: datetime) -> list[_Pending]:
        batch = self._ctx.settings.events_relay_batch_size
        with self._db.session() as session:
            # A source whose oldest pending event waits for its retry holds its later events back.
            blocked = dict(session.execute(
                select(OutboxEvent.source_urn, func.min(OutboxEvent.id))
                .where(OutboxEvent.status == OutboxStatus.PENDING, OutboxEvent.next_attempt_at > now)
                .group_by(OutboxEvent.source_urn)
            ).all())
            rows = session.execute(
                select(OutboxEvent.id, OutboxEvent.event_id, OutboxEvent.source_urn, OutboxEvent.attempts,
                       OutboxEvent.delivered_to, OutboxEvent.event)
                .where(OutboxEvent.status == OutboxStatus.PENDING,
                       (OutboxEvent.next_attempt_at.is_(None)) | (OutboxEvent.next_attempt_at <= now))
                .order_by(OutboxEvent.id).limit(batch)
            ).all()
        pending = []
        for row_id, event_id, source_urn, attempts, delivered_to, body in rows:
            if source_urn in blocked and blocked[source_urn] < row_id:
                continue
            try:
                event, error = _stored_event(body), None
            except (ValidationError, ValueError, TypeError, KeyError) as problem:  # park a corrupt row, don't loop
                event, error = None, f"stored event is not valid: {problem}"[:1000]
            pending.append(_Pending(row_id, event_id, source_urn, attempts, set(delivered_to or ()), event, error))
        return pending

    def _backoff_s(self, attempts: int) -> float:
        settings = self._ctx.settings
        ceiling = min(settings.events_retry_max_backoff_s, settings.events_retry_min_backoff_s * 2 ** (attempts - 1))
        # Equal jitter: at least half the ceiling, so retries spread out without collapsing to zero.
        return ceiling / 2 + random.uniform(0, ceiling / 2)

    def _record(self, connection: Connection, pending: list[_Pending], failures: dict[str, list[str]],
                final: set[str], deliveries: list[Any], waiting: dict[str, int], now: datetime,
                outcome: RelayRound) -> None:
        max_attempts = self._ctx.settings.events_max_attempts
        updates: list[dict[str, Any]] = []
        for p in pending:
            # Every row carries every column: one executemany, whatever happened to each event.
            row: dict[str, Any] = {"id": p.id, "status": OutboxStatus.PENDING, "sent_at": None,
                                   "attempts": p.attempts, "delivered_to": sorted(p.delivered_to),
                                   "last_error": None, "next_attempt_at": None}
            updates.append(row)
            errors = failures.get(p.event_id, [])
            if p.error is not None:
                errors, final = [p.error], final | {p.event_id}
            if not errors and p.source_urn not in waiting:
                row.update(status=OutboxStatus.SENT, sent_at=now, attempts=p.attempts + 1)
                outcome.sent += 1
                continue
            if not errors:
                # Went out fine, but an earlier event of its source did not: it waits so the order holds.
                row["last_error"] = f"held behind outbox event {waiting[p.source_urn]}"
                outcome.held += 1
                continue
            row["attempts"] = attempts = p.attempts + 1
            row["last_error"] = message = "; ".join(errors)[:4000]
            outcome.errors.append(message)
            if p.event_id in final or attempts >= max_attempts:
                row["status"] = OutboxStatus.DEAD
                outcome.dead += 1
                continue  # a dead event no longer holds its source back
            row["next_attempt_at"] = now + timedelta(seconds=self._backoff_s(attempts))
            waiting.setdefault(p.source_urn, p.id)
            outcome.retried += 1
        # Sent rows (nearly all of them) in one UPDATE per chunk and publisher set; the rest row by row.
        sent: dict[tuple[str, ...], list[int]] = {}
        for row in updates:
            if row["status"] == OutboxStatus.SENT:
                sent.setdefault(tuple(row["delivered_to"]), []).append(row["id"])
        others = [row for row in updates if row["status"] != OutboxStatus.SENT]
        with Session(connection) as session, session.begin():
            for delivered_to, ids in sent.items():
                for start in range(0, len(ids), 1000):
                    session.execute(
                        update(OutboxEvent).where(OutboxEvent.id.in_(ids[start:start + 1000]))
                        .values(status=OutboxStatus.SENT, sent_at=now, attempts=OutboxEvent.attempts + 1,
                                delivered_to=list(delivered_to), last_error=None, next_attempt_at=None)
                        .execution_options(synchronize_session=False))
            if others:
                session.execute(update(OutboxEvent), others)
            if deliveries:
                known = set(session.scalars(select(WebhookSubscriptionRow.id).where(
                    WebhookSubscriptionRow.id.in_({d.subscription_id for d in deliveries}))))
                rows = [_delivery_row(d) for d in deliveries if d.subscription_id in known]
                if rows:
                    session.execute(insert(WebhookDeliveryRow).execution_options(render_nulls=True), rows)

    # -- the loop -------------------------------------------------------------------------------------------------

    def start(self) -> Relay:
        self._thread = threading.Thread(target=self._loop, name="catalog-relay", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        wakeup.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        self._lock.release()

    def close(self) -> None:
        """Stops the loop and closes the publishers the relay created."""
        self.stop()
        for named in self.publishers:
            close = getattr(named.publisher, "close", None)
            if named.owned and close is not None:
                close()
        self._db.dispose()

    def _loop(self) -> None:
        interval = self._ctx.settings.events_relay_interval_s
        while not self._stop.is_set():
            busy = False
            try:
                if self._lock.acquire():
                    result = self.run_once()
                    busy = result.fetched >= self._ctx.settings.events_relay_batch_size
            except Exception:  # the database restarting, say: the next round tries again
                log.exception("relay round failed")
                self._lock.release()
            if busy:
                continue
            wakeup.wait(interval)
            wakeup.clear()


def _stored_event(body: str) -> CatalogEvent:
    """An outbox row's event. It was validated when `record_event` wrote it, so it is rebuilt without validating
    again (validation costs ~10x the parse and is most of a relay round's CPU); a row that does not parse fails."""
    fields = json.loads(body)
    fields["type"] = EventType(fields["type"])
    fields["time"] = datetime.fromisoformat(fields["time"].replace("Z", "+00:00"))
    if not isinstance(fields.get("data"), dict) or not fields.get("id") or not fields.get("subject"):
        raise ValueError("id, subject and data are required")
    return CatalogEvent.model_construct(**fields)


def _delivery_row(d: Any) -> dict[str, Any]:
    return {
        "subscription_id": d.subscription_id, "event_id": d.event_id, "event_type": d.event_type,
        "delivered": d.delivered, "attempts": d.attempts, "status_code": d.status_code, "error": d.error,
        "duration_ms": d.duration_ms, "started_at": d.started_at,
    }


class RelayLock:
    """Leadership among relays: a PostgreSQL session advisory lock, or an exclusive file lock beside SQLite."""

    def __init__(self, ctx: ServiceContext, db: Database | None = None) -> None:
        self._ctx = ctx
        self._db = db or ctx.db
        self._connection: Connection | None = None
        self._file: Any = None

    def acquire(self) -> bool:
        """True when this relay holds (or just took) the lock."""
        if self._file is not None:
            return True
        if self._connection is not None:
            try:
                self._connection.execute(text("select 1"))
                self._connection.commit()
                return True
            except Exception:  # the lock's session died with its connection: lead again only if still free
                self.release()
        url = make_url(self._db.url)
        if url.get_backend_name() == "postgresql":
            connection = self._db.engine.connect()
            got = connection.execute(text("select pg_try_advisory_lock(:key)"), {"key": RELAY_LOCK_KEY}).scalar()
            connection.commit()
            if got:
                self._connection = connection
            else:
                connection.close()
            return bool(got)
        import fcntl

        database = url.database if url.database and url.database != ":memory:" else None
        path = Path(f"{database}.relay.lock") if database else self._ctx.settings.home / "relay.lock"
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(path, "a")  # noqa: SIM115 - held open as long as this relay leads
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        self._file = handle
        return True

    def release(self) -> None:
        if self._connection is not None:
            try:
                self._connection.execute(text("select pg_advisory_unlock(:key)"), {"key": RELAY_LOCK_KEY})
                self._connection.commit()
                self._connection.close()
            except Exception:  # a broken connection: drop it from the pool, which ends its session and lock
                self._connection.invalidate()
            self._connection = None
        if self._file is not None:
            self._file.close()
            self._file = None


__all__ = ["Relay", "RelayLock", "RelayRound"]
