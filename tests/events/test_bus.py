"""InProcessBus: thread-safe publishing into asyncio subscribers, filters, and the drop-oldest overflow rule."""

from __future__ import annotations

import asyncio
import threading

import pytest

from events import CatalogEvent, EventFilter, EventType, InProcessBus, InvalidFilter
from events.data import DescriptionChanged, TagsChanged


def described(subject: str, n: int = 0) -> CatalogEvent:
    kind = subject.split(":")[2]
    return CatalogEvent.create(DescriptionChanged(entity_kind=kind, before=None, after=f"v{n}"), subject=subject)


def tagged(subject: str) -> CatalogEvent:
    kind = subject.split(":")[2]
    return CatalogEvent.create(TagsChanged.between(kind, [], ["pii"]), subject=subject)


async def drain(subscription, count: int) -> list[CatalogEvent]:  # type: ignore[no-untyped-def]
    """The next `count` events, failing (instead of hanging) if they do not come."""
    return [await asyncio.wait_for(subscription.__anext__(), timeout=5) for _ in range(count)]


def test_events_published_from_other_threads_reach_each_matching_subscriber_in_order() -> None:
    bus = InProcessBus()
    orders = "urn:catalog:dataset:erp:sales:orders"
    events = [described(orders, n) for n in range(200)] + [tagged("urn:catalog:column:erp:sales:orders:total"),
                                                           described("urn:catalog:dataset:crm:public:leads")]

    async def main() -> tuple[list[CatalogEvent], list[CatalogEvent], list[CatalogEvent], int]:
        everything = bus.subscribe()
        erp_tags = bus.subscribe(event_types=["catalog.tags.changed"], urn_prefix="urn:catalog:source:erp")
        orders_only = bus.subscribe(urn_prefix=orders)
        loop_thread = threading.get_ident()
        publisher_threads: list[int] = []

        def relay() -> None:
            publisher_threads.append(threading.get_ident())
            for start in range(0, len(events), 50):
                bus.publish(events[start:start + 50])

        thread = threading.Thread(target=relay)
        thread.start()
        got_all = await drain(everything, len(events))
        got_tags = await drain(erp_tags, 1)
        got_orders = await drain(orders_only, 201)
        thread.join()
        assert publisher_threads and publisher_threads[0] != loop_thread
        assert (everything.pending, erp_tags.pending, orders_only.pending) == (0, 0, 0)
        return got_all, got_tags, got_orders, everything.dropped

    got_all, got_tags, got_orders, dropped = asyncio.run(main())
    assert [e.id for e in got_all] == [e.id for e in events] and dropped == 0
    assert [e.type for e in got_tags] == [EventType.TAGS_CHANGED]
    assert [e.id for e in got_orders] == [e.id for e in events[:201]]  # the table and its column, not crm


def test_a_slow_subscriber_loses_the_oldest_events_and_counts_them() -> None:
    bus = InProcessBus()
    events = [described("urn:catalog:source:erp", n) for n in range(25)]

    async def main() -> tuple[list[CatalogEvent], int, list[CatalogEvent]]:
        slow = bus.subscribe(maxsize=10)
        roomy = bus.subscribe(maxsize=100)
        thread = threading.Thread(target=bus.publish, args=(events,))
        thread.start()
        thread.join()
        await asyncio.sleep(0)  # let the loop run the hand-over scheduled from the other thread
        got = await drain(slow, 10)
        return got, slow.dropped, await drain(roomy, 25)

    got, dropped, everything = asyncio.run(main())
    assert dropped == 15
    assert [e.id for e in got] == [e.id for e in events[15:]]  # the newest ten, in order
    assert len(everything) == 25  # another subscriber's buffer is its own


def test_publishing_from_the_loop_thread_is_immediate() -> None:
    bus = InProcessBus()

    async def main() -> int:
        subscription = bus.subscribe()
        bus.publish([described("urn:catalog:source:erp")])
        return subscription.pending

    assert asyncio.run(main()) == 1


def test_closing_ends_the_feed_after_what_is_buffered() -> None:
    bus = InProcessBus()

    async def main() -> tuple[list[CatalogEvent], int, int]:
        async with bus.subscribe() as subscription:
            bus.publish([described("urn:catalog:source:erp", n) for n in range(3)])
            assert bus.subscriber_count == 1
            bus.close()
            received = [event async for event in subscription]
        late = bus.publish([described("urn:catalog:source:erp", 9)])
        return received, bus.subscriber_count, len(late.delivered)

    received, remaining, delivered = asyncio.run(main())
    assert len(received) == 3 and remaining == 0
    assert delivered == 1  # the bus accepts events with nobody listening: a live feed, not a log


def test_a_subscriber_whose_loop_is_gone_is_forgotten() -> None:
    bus = InProcessBus()

    async def main() -> None:
        bus.subscribe()

    asyncio.run(main())  # the loop closes with the subscription still registered
    assert bus.subscriber_count == 1
    result = bus.publish([described("urn:catalog:source:erp")])
    assert result.ok and bus.subscriber_count == 0


def test_subscribe_needs_a_running_loop_and_valid_filters() -> None:
    bus = InProcessBus()
    with pytest.raises(RuntimeError, match="running asyncio event loop"):
        bus.subscribe()

    async def main() -> None:
        with pytest.raises(InvalidFilter) as error:
            bus.subscribe(event_types=["catalog.nothing"])
        assert error.value.field == "event_types"
        with pytest.raises(ValueError, match="maxsize"):
            bus.subscribe(maxsize=0)

    asyncio.run(main())


@pytest.mark.parametrize(("prefix", "subject", "expected"), [
    ("", "urn:catalog:column:erp:s:t:c", True),
    ("urn:catalog:source:erp", "urn:catalog:column:erp:s:t:c", True),      # whole URN: everything inside
    ("urn:catalog:source:erp", "urn:catalog:source:erp2", False),
    ("urn:catalog:source:erp", "urn:catalog:dataset:erp2:s:t", False),
    ("urn:catalog:dataset:erp:s:orders", "urn:catalog:column:erp:s:orders:total", True),
    ("urn:catalog:dataset:erp:s:orders", "urn:catalog:dataset:erp:s:orders_2019", False),
    ("urn:catalog:dataset:erp:s:orders", "urn:catalog:schema:erp:s", False),  # the parent is not inside
    ("urn:catalog:dataset:erp:", "urn:catalog:dataset:erp:s:t", True),      # partial prefix: as text
    ("urn:catalog:dataset:erp:", "urn:catalog:column:erp:s:t:c", False),
    ("urn:catalog:column:", "urn:catalog:column:crm:s:t:c", True),
])
def test_urn_prefix_matching(prefix: str, subject: str, expected: bool) -> None:
    assert EventFilter.of(urn_prefix=prefix).matches(described(subject)) is expected


def test_type_filter() -> None:
    only_tags = EventFilter.of(event_types=[EventType.TAGS_CHANGED])
    assert only_tags.matches(tagged("urn:catalog:source:erp"))
    assert not only_tags.matches(described("urn:catalog:source:erp"))
    with pytest.raises(InvalidFilter, match="urn_prefix"):
        EventFilter.of(urn_prefix="erp")
