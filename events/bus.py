"""`InProcessBus`: events from any thread to asyncio subscribers (GraphQL subscriptions, server-sent events).

    bus = InProcessBus()                      # one per process, shared by the relay and the web app
    bus.publish(events)                       # from any thread: the relay, a worker, a request handler

    async with bus.subscribe(event_types=["catalog.column.added"], urn_prefix="urn:catalog:source:erp") as sub:
        async for event in sub:               # inside the event loop that subscribed
            ...

Each subscriber has a bounded buffer (`maxsize`, default 1,000 events). A subscriber that reads slower than
events arrive does not slow the publisher or other subscribers: when its buffer is full the **oldest** buffered
event is dropped and `dropped` counts it, so a live view shows the newest state and can tell it missed some
(e.g. an SSE stream may then tell its client to reload). Events reach one subscriber in publication order.
The bus holds nothing for subscribers that are not connected: it is a live feed, not a log.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Self

from events.filters import EventFilter
from events.model import CatalogEvent
from events.publisher import PublishResult
from events.types import EventType

DEFAULT_MAXSIZE = 1000


class BusSubscription:
    """One subscriber's feed: an async iterator of matching events, bound to the loop that subscribed."""

    def __init__(self, bus: InProcessBus, event_filter: EventFilter, maxsize: int,
                 loop: asyncio.AbstractEventLoop) -> None:
        self.filter = event_filter
        self.maxsize = maxsize
        self.dropped = 0
        """Events dropped because the buffer was full (oldest first)."""
        self._bus = bus
        self._loop = loop
        self._loop_thread = threading.get_ident()
        self._buffer: deque[CatalogEvent] = deque()
        self._ready = asyncio.Event()
        self._closed = False

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> CatalogEvent:
        while not self._buffer:
            if self._closed:
                raise StopAsyncIteration
            self._ready.clear()
            await self._ready.wait()
        return self._buffer.popleft()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    @property
    def pending(self) -> int:
        """Events buffered and not yet read."""
        return len(self._buffer)

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Stops the feed (from any thread); the iterator ends once the buffered events are read."""
        self._bus._remove(self)
        self._call_in_loop(self._mark_closed)

    def _mark_closed(self) -> None:
        self._closed = True
        self._ready.set()

    def _offer(self, events: list[CatalogEvent]) -> None:
        # Runs in the subscriber's loop thread only, so the buffer needs no lock.
        if self._closed:
            return
        for event in events:
            if len(self._buffer) >= self.maxsize:
                self._buffer.popleft()
                self.dropped += 1
            self._buffer.append(event)
        self._ready.set()

    def _send(self, events: list[CatalogEvent]) -> bool:
        """Hands events to the subscriber's loop; False when that loop is gone."""
        return self._call_in_loop(self._offer, events)

    def _call_in_loop(self, callback: Callable[..., None], *args: Any) -> bool:
        if threading.get_ident() == self._loop_thread and self._loop.is_running():
            callback(*args)
            return True
        try:
            self._loop.call_soon_threadsafe(callback, *args)
        except RuntimeError:  # the loop is closed: nobody will read this feed again
            self._closed = True
            return False
        return True


class InProcessBus:
    """Fans events out to in-process asyncio subscribers; `publish` is thread-safe and never blocks on them."""

    def __init__(self, *, default_maxsize: int = DEFAULT_MAXSIZE) -> None:
        if default_maxsize < 1:
            raise ValueError("default_maxsize: at least 1")
        self._default_maxsize = default_maxsize
        self._subscriptions: list[BusSubscription] = []
        self._lock = threading.Lock()

    def subscribe(self, *, event_types: Iterable[EventType | str] | None = None, urn_prefix: str | None = None,
                  maxsize: int | None = None) -> BusSubscription:
        """A new feed of the matching events; call it from the event loop that will read it."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            raise RuntimeError("InProcessBus.subscribe must be called from a running asyncio event loop") from None
        size = self._default_maxsize if maxsize is None else maxsize
        if size < 1:
            raise ValueError("maxsize: at least 1")
        subscription = BusSubscription(self, EventFilter.of(event_types, urn_prefix), size, loop)
        with self._lock:
            self._subscriptions.append(subscription)
        return subscription

    @property
    def subscriber_count(self) -> int:
        with self._lock:
            return len(self._subscriptions)

    def publish(self, events: Sequence[CatalogEvent]) -> PublishResult:
        """Offers each event to every matching subscriber; all events count as delivered to the bus."""
        events = list(events)
        with self._lock:
            subscriptions = list(self._subscriptions)
        for subscription in subscriptions:
            matched = [e for e in events if subscription.filter.matches(e)]
            if matched and not subscription._send(matched):
                self._remove(subscription)
        return PublishResult.all_delivered(events)

    def close(self) -> None:
        """Ends every subscriber's feed (e.g. at shutdown, so SSE responses finish)."""
        with self._lock:
            subscriptions = list(self._subscriptions)
        for subscription in subscriptions:
            subscription.close()

    def _remove(self, subscription: BusSubscription) -> None:
        with self._lock:
            if subscription in self._subscriptions:
                self._subscriptions.remove(subscription)
