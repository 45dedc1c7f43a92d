"""Broker probe benchmark: what the bounded probe behind /readyz and the scrape's queue depths costs on a live
broker, and how long it takes to give up on a hung one, next to the broker's own connections (the way before).

Prints, per broker (Redis, RabbitMQ; skipped when not reachable), interleaved in rounds so both ways see the same
load:
- live broker: median and p90 wall time and CPU time per ping and per queue-depth read, the bounded probe next to
  the broker's own client (dramatiq's Redis client / its per-thread AMQP connection), and their ratio;
- hung broker (a local port that accepts and never answers): seconds until each way gives up (or the cap).
Load averages are printed before and after: the machine is shared.

Usage: python -m benchmarks.broker_probe [--rounds 5] [--calls 40] [--timeout 2] [--cap 20]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import threading
import time
from collections.abc import Callable

from dramatiq.brokers.redis import RedisBroker

from catalog_api.services.jobs.broker import create_broker
from catalog_api.services.jobs.probe import BrokerProbe, open_probe
from catalog_api.settings import Settings

LIVE = {"redis": "redis://127.0.0.1:6379/15", "rabbitmq": "amqp://guest:guest@127.0.0.1:5672/%2F"}
QUEUES = ["crawl", "extract", "profile", "default"]


def _old_ping(broker) -> Callable[[], None]:
    """The readiness check before the probe: the broker's own client or this thread's AMQP connection."""
    if isinstance(broker, RedisBroker):
        return broker.client.ping
    return lambda: broker.connection.process_data_events(time_limit=0)


def _old_depths(broker) -> Callable[[], object]:
    if isinstance(broker, RedisBroker):
        return lambda: [broker.client.llen(f"dramatiq:{q}") for q in QUEUES]
    for queue in QUEUES:
        broker.declare_queue(queue)
    return lambda: [broker.get_queue_message_counts(q) for q in QUEUES]


def _measure(call: Callable[[], object], calls: int) -> tuple[list[float], list[float]]:
    walls, cpus = [], []
    for _ in range(calls):
        wall, cpu = time.perf_counter(), time.thread_time()
        call()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.thread_time() - cpu)
    return walls, cpus


def _summary(samples: list[float]) -> str:
    ordered = sorted(samples)
    return f"median {statistics.median(ordered) * 1000:6.2f} ms, p90 {ordered[int(len(ordered) * 0.9)] * 1000:6.2f} ms"


def _live(name: str, url: str, rounds: int, calls: int) -> None:
    settings = Settings(broker_url=url)
    broker = create_broker(settings)
    probe = open_probe(settings)
    try:
        probe.ping()
    except Exception as error:  # the local broker is missing
        print(f"{name}: not reachable, skipped ({type(error).__name__})")
        broker.close()
        return
    ways = {"probe ping": probe.ping, "old ping": _old_ping(broker),
            "probe depths": lambda: probe.queue_depths(QUEUES), "old depths": _old_depths(broker)}
    results: dict[str, tuple[list[float], list[float]]] = {way: ([], []) for way in ways}
    for _ in range(rounds):  # interleaved: each round runs every way once
        for way, call in ways.items():
            call()  # the old way keeps its connection between calls: measure it warm, as it runs
            walls, cpus = _measure(call, calls)
            results[way][0].extend(walls)
            results[way][1].extend(cpus)
    for way, (walls, cpus) in results.items():
        print(f"{name:8} {way:13}: wall {_summary(walls)}; CPU median {statistics.median(cpus) * 1000:.2f} ms")
    for what in ("ping", "depths"):
        ratio = statistics.median(results[f"probe {what}"][0]) / statistics.median(results[f"old {what}"][0])
        print(f"{name:8} {what}: probe / old median wall = {ratio:.1f}x")
    probe.close()
    broker.close()


def _give_up_after(call: Callable[[], object], cap: float) -> str:
    """Seconds until `call` raised, or `> cap` if it still ran (left behind on a daemon thread)."""
    finished = threading.Event()
    started = time.perf_counter()

    def run() -> None:
        try:
            call()
        except Exception:  # giving up is the point
            pass
        finished.set()

    threading.Thread(target=run, daemon=True).start()
    return f"{time.perf_counter() - started:.2f} s" if finished.wait(cap) else f"> {cap:g} s"


def _hung(timeout: float, cap: float) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        port = listener.getsockname()[1]
        for name, url in (("redis", f"redis://127.0.0.1:{port}/0"),
                          ("rabbitmq", f"amqp://guest:guest@127.0.0.1:{port}/%2F")):
            settings = Settings(broker_url=url, broker_probe_timeout_s=timeout)
            probe: BrokerProbe = open_probe(settings)
            broker = create_broker(settings)
            print(f"{name:8} hung broker: probe gives up after {_give_up_after(probe.ping, cap)} "
                  f"(bound {timeout:g} s), the broker's own client after {_give_up_after(_old_ping(broker), cap)}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=40)
    parser.add_argument("--timeout", type=float, default=2.0)
    parser.add_argument("--cap", type=float, default=20.0)
    args = parser.parse_args()
    print("load averages before: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    for name, url in LIVE.items():
        _live(name, url, args.rounds, args.calls)
    _hung(args.timeout, args.cap)
    print("load averages after:  {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


if __name__ == "__main__":
    main()
