"""Rate-limit benchmark: what the limiter costs, in process and through Redis, and what a flood of requests gets.

Three measurements, in this process, on the real application driven through httpx's ASGI transport (no socket, so
the limiter's share is not lost in network noise):
- one bucket decision (`take`) of `MemoryBuckets` and of `RedisBuckets` (a local Redis): p50 and p95 over --calls
  decisions made one at a time, the throughput of 8 callers deciding at once, and what the whole middleware adds
  around a trivial ASGI app;
- requests per second of `GET /` (a redirect, the cheapest route, so the limiter's share is the largest it gets):
  without the limiter, with in-process buckets and with Redis buckets, with a budget large enough never to refuse,
  in interleaved rounds (median), with "off" measured again last as a control for the machine's noise;
- the security finding ("300 requests in 1.8 s, all answered"): 300 requests to `GET /api/v1/sources` sent as fast as
  one client can, with the default settings: how many were answered 200 and how many 429, in how long.

Target (2-core machine): a decision costs < 50 us in process and < 1 ms through a local Redis (p95); the limiter adds
< 10% to the cheapest route in process; the flood gets 429s.
Usage: PYTHONPATH=/path/to/checkout python benchmarks/ratelimit.py [--calls 5000] [--requests 1000] [--rounds 7]
       [--redis-url redis://127.0.0.1:6379/9]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

# Run as a script, this folder comes first on sys.path, and its graphql.py would shadow the graphql library.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import httpx

from catalog_api.app import create_app
from catalog_api.bootstrap import build_context
from catalog_api.security.ratelimit import BucketStore, Limits, MemoryBuckets, RateLimitMiddleware, RedisBuckets
from catalog_api.settings import Settings

NEVER_EMPTY = Limits(per_s=1e9, burst=10**9)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def decisions(store: BucketStore, calls: int) -> tuple[float, float, float]:
    """p50 and p95 of one decision (us), then decisions per second with 8 callers at once."""
    caller = f"bench-{uuid.uuid4().hex[:8]}"
    for _ in range(min(calls, 200)):  # warm-up: connections, the script's first load
        await store.take(caller)
    latencies = []
    for _ in range(calls):
        started = time.perf_counter()
        await store.take(caller)
        latencies.append((time.perf_counter() - started) * 1e6)

    async def one_caller(index: int) -> None:
        for _ in range(calls // 8):
            await store.take(f"{caller}-{index}")

    started = time.perf_counter()
    await asyncio.gather(*(one_caller(i) for i in range(8)))
    rate = (calls // 8 * 8) / (time.perf_counter() - started)
    return statistics.median(latencies), percentile(latencies, 95), rate


async def middleware_us(store: BucketStore, calls: int) -> float:
    """Microseconds the middleware adds around a trivial ASGI app (its own cost, free of the framework's noise)."""

    async def answer(scope, receive, send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def receive() -> dict:
        return {"type": "http.request"}

    async def send(message: dict) -> None:
        return None

    scope = {"type": "http", "path": "/", "headers": [], "client": ("192.0.2.1", 40000), "state": {}}
    timings = {}
    for name, app in (("bare", answer), ("limited", RateLimitMiddleware(answer, store))) * 3:
        started = time.perf_counter()
        for _ in range(calls):
            await app(scope, receive, send)
        timings.setdefault(name, []).append((time.perf_counter() - started) / calls * 1e6)
    return statistics.median(timings["limited"]) - statistics.median(timings["bare"])


async def requests_per_s(ctx, stores: dict[str, BucketStore | None], requests: int, rounds: int) -> dict[str, float]:
    """Median requests per second of each limiter setting over `rounds` interleaved rounds (the machine's load
    drifts; interleaving spreads it over every setting alike)."""
    clients = {}
    for name, store in stores.items():
        app = create_app(ctx=ctx, rate_limits=store) if store is not None else create_app(ctx=ctx)
        clients[name] = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench")
    rates: dict[str, list[float]] = {name: [] for name in stores}
    try:
        for client in clients.values():
            for _ in range(200):
                assert (await client.get("/")).status_code == 307
        for _ in range(rounds):
            for name, client in clients.items():
                started = time.perf_counter()
                for _ in range(requests):
                    await client.get("/")
                rates[name].append(requests / (time.perf_counter() - started))
    finally:
        for client in clients.values():
            await client.aclose()
        for store in stores.values():
            if store is not None:
                await store.aclose()
    return {name: statistics.median(values) for name, values in rates.items()}


async def flood(home: Path) -> tuple[int, int, float]:
    ctx = build_context(Settings(home=home, secret_key="bench-secret-key-not-for-production", scheduler_enabled=False,
                                 events_relay_enabled=False), migrate=True)
    try:
        app = create_app(ctx=ctx)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
            started = time.perf_counter()
            statuses = [(await client.get("/api/v1/sources")).status_code for _ in range(300)]
            return statuses.count(200), statuses.count(429), time.perf_counter() - started
    finally:
        ctx.close()


async def run(args: argparse.Namespace) -> None:
    defaults = Settings()
    print(f"defaults: {defaults.rate_limit_per_s:g} requests/s sustained, bursts of {defaults.rate_limit_burst}")
    stores = {"in-process": lambda: MemoryBuckets(NEVER_EMPTY),
              "redis": lambda: RedisBuckets(NEVER_EMPTY, args.redis_url)}

    print(f"\none decision (take), {args.calls} calls: {'store':<11} {'p50 us':>8} {'p95 us':>8} {'8 callers/s':>12}"
          f" {'middleware us':>14}")
    for name, make in stores.items():
        store = make()
        p50, p95, rate = await decisions(store, args.calls)
        added = await middleware_us(store, args.calls)
        await store.aclose()
        print(f"{'':<37} {name:<11} {p50:>8.1f} {p95:>8.1f} {rate:>12,.0f} {added:>14.1f}")

    with tempfile.TemporaryDirectory(prefix="ratelimit-bench-") as tmp:
        ctx = build_context(Settings(home=Path(tmp) / "rps", secret_key="bench-secret-key-not-for-production",
                                     scheduler_enabled=False, events_relay_enabled=False), migrate=True)
        ctx.settings.rate_limit_per_s = 0  # the app built without a store of its own runs unlimited
        try:
            # "off (control)" repeats "off" last in every round: its distance to "off" is the noise of the machine.
            rates = await requests_per_s(ctx, {"off": None, **{name: make() for name, make in stores.items()},
                                               "off (control)": None}, args.requests, args.rounds)
            print(f"\nGET / (redirect), median of {args.rounds} rounds of {args.requests} requests:")
            for name, rps in rates.items():
                print(f"  limiter {name:<13} {rps:>8,.0f} req/s  {1000 / rps:6.3f} ms per request"
                      f"  ({(rates['off'] / rps - 1) * 100:+.0f}% time per request)")
        finally:
            ctx.close()

        answered, refused, elapsed = await flood(Path(tmp) / "flood")
        print(f"\nflood: 300 x GET /api/v1/sources in {elapsed:.2f} s with the defaults: {answered} answered, "
              f"{refused} refused with 429")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=5000, help="bucket decisions per store")
    parser.add_argument("--requests", type=int, default=1000, help="requests per limiter setting and round")
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds of requests")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/9")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
