"""The live feed over SSE (`GET /api/v1/events/stream`) on a real uvicorn server with the relay running inside it,
read by an httpx streaming client. A crawl after adding a column reaches the client as soon as it commits: the
commit wakes the relay (the test bed's relay would otherwise look only once an hour, see tests/support/live.py).
"""

from __future__ import annotations

import json
import queue
import threading

import httpx

from events import CatalogEvent
from events.schemas import validate
from tests.support.live import live  # noqa: F401  (fixture)


class Listener:
    """An SSE client of the live feed in a thread: `frames` holds each frame's (id, event JSON) as it arrives."""

    def __init__(self, server, params) -> None:  # type: ignore[no-untyped-def]
        self.frames: queue.Queue[tuple[str, dict]] = queue.Queue()
        self.connected = threading.Event()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._listen, args=(server.base, params), daemon=True)
        self.thread.start()
        assert self.connected.wait(10)
        server.wait_for_subscribers(1)

    def _listen(self, base: str, params) -> None:  # type: ignore[no-untyped-def]
        with httpx.stream("GET", f"http://{base}/api/v1/events/stream", params=params, timeout=30) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            fields: dict[str, str] = {}
            for line in response.iter_lines():
                if line.startswith(": connected"):
                    self.connected.set()
                elif line.startswith(("id:", "event:", "data:")):
                    key, _, value = line.partition(":")
                    fields[key] = value.strip()
                elif line == "" and "data" in fields:
                    self.frames.put((fields["id"], json.loads(fields["data"])))
                    fields = {}
                if self.stop.is_set():
                    return

    def hang_up(self, one_more_event) -> None:  # type: ignore[no-untyped-def]
        """Stops listening: `one_more_event` makes a frame that lets the listener notice."""
        self.stop.set()
        one_more_event()
        self.thread.join(timeout=10)


def test_an_sse_client_receives_column_added_when_the_crawl_commits(live):
    listener = Listener(live, {"types": "catalog.column.added", "urn_prefix": "urn:catalog:dataset:shop:main:orders"})
    live.add_column_and_crawl("channel")
    frame_id, body = listener.frames.get(timeout=30)
    event = CatalogEvent.model_validate(body)
    validate(event)
    assert frame_id == event.id and event.subject == "urn:catalog:column:shop:main:orders:channel"
    listener.hang_up(lambda: live.add_column_and_crawl("unblock"))


def test_the_stream_refuses_an_unknown_type(live):
    answer = httpx.get(f"http://{live.base}/api/v1/events/stream", params={"types": "catalog.nope"}, timeout=10)
    assert answer.status_code == 422 and answer.json()["error"]["field"] == "types"


def test_an_sse_client_filtering_on_glossary_types_receives_a_new_term(live):
    listener = Listener(live, [("types", "catalog.glossary_term.created"), ("types", "catalog.domain.created")])
    live.add_column_and_crawl("channel")  # a column event: filtered out
    answer = httpx.post(f"http://{live.base}/api/v1/glossary/terms", json={"name": "Customer"}, timeout=10)
    assert answer.status_code == 201, answer.text
    _, body = listener.frames.get(timeout=30)
    event = CatalogEvent.model_validate(body)
    validate(event)
    term_urn = f"urn:catalog:glossary_term:{answer.json()['id']}"
    assert (event.type, event.subject, event.partitionkey, event.data["name"]) == (
        "catalog.glossary_term.created", term_urn, term_urn, "Customer")
    listener.hang_up(lambda: httpx.post(f"http://{live.base}/api/v1/domains", json={"name": "Sales"}, timeout=10))
