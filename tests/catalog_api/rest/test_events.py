"""The live feed over SSE (`GET /api/v1/events/stream`) on a real uvicorn server with the relay running inside it,
read by an httpx streaming client. A crawl after adding a column must reach the client within 1 s of finishing.
"""

from __future__ import annotations

import json
import queue
import threading
import time

import httpx

from events import CatalogEvent
from events.schemas import validate
from tests.support.live import live  # noqa: F401  (fixture)


def test_an_sse_client_receives_column_added_within_a_second_of_the_crawl(live):
    frames: queue.Queue[tuple[float, str, dict]] = queue.Queue()
    connected = threading.Event()
    stop = threading.Event()

    def listen() -> None:
        params = {"types": "catalog.column.added", "urn_prefix": "urn:catalog:dataset:shop:main:orders"}
        with httpx.stream("GET", f"http://{live.base}/api/v1/events/stream", params=params, timeout=30) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            fields: dict[str, str] = {}
            for line in response.iter_lines():
                if line.startswith(": connected"):
                    connected.set()
                elif line.startswith(("id:", "event:", "data:")):
                    key, _, value = line.partition(":")
                    fields[key] = value.strip()
                elif line == "" and "data" in fields:
                    frames.put((time.time(), fields["id"], json.loads(fields["data"])))
                    fields = {}
                if stop.is_set():
                    return

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    assert connected.wait(10)
    live.wait_for_subscribers(1)
    finished = live.add_column_and_crawl("channel")
    received, frame_id, body = frames.get(timeout=10)
    event = CatalogEvent.model_validate(body)
    validate(event)
    assert frame_id == event.id and event.subject == "urn:catalog:column:shop:main:orders:channel"
    assert received - finished < 1.0
    stop.set()
    live.add_column_and_crawl("unblock")  # one more frame lets the listener notice `stop` and hang up
    listener.join(timeout=10)


def test_the_stream_refuses_an_unknown_type(live):
    answer = httpx.get(f"http://{live.base}/api/v1/events/stream", params={"types": "catalog.nope"}, timeout=10)
    assert answer.status_code == 422 and answer.json()["error"]["field"] == "types"
