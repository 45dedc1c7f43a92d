"""Request-limit benchmark: how fast `catalog serve` refuses the floods of the security finding, and how /healthz
answers while they keep coming.

Starts `catalog serve` on an empty embedded catalog (a temporary CATALOG_HOME, rate limits off) and sends, one at a time, each
flood `--requests` times: 1,000 aliases of the frontend page query (benchmarks/graphql_load.py), 80,000 aliased
`__typename` (the same alias repeated, so the body stays under the 1 MiB request limit and reaches GraphQL),
80,000 distinct aliases of `__typename` (over 1 MiB: the request body limit answers), and a chain of 24 fragments
each spreading the next twice. For each: the statuses, p50, p95 and max latency, and the server's CPU milliseconds
per request (user + system from /proc). Then, for 1, 2 and 4 client threads sending the floods back to back for
`--duration` seconds, /healthz latencies (p50, p95, max) polled every 20 ms, and the floods refused per second.

Targets (the finding): every flood refused with a 4xx in under 100 ms; /healthz keeps answering (well under 1 s)
while floods arrive. Before the limits, 1,000 aliases of the page query took 34 s of CPU and stalled /healthz for
25 s, and 80,000 aliased `__typename` took 8.5 s.

It uses only the `catalog` CLI as a subprocess and HTTP, so it measures any checkout: run it with PYTHONPATH set to
the checkout. Usage: PYTHONPATH=/path/to/checkout python benchmarks/graphql_limits.py [--requests 20]
[--duration 5] [--clients 1,2,4]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx

# Helpers shared with the page-query benchmark, loaded by path: a module named `graphql` would shadow graphql-core.
_spec = importlib.util.spec_from_file_location("graphql_benchmark", Path(__file__).with_name("graphql_load.py"))
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)


def alias_flood(query: str, copies: int) -> str:
    body = query.strip()[1:-1].strip()
    return "{" + " ".join(f"a{i}: {body}" for i in range(copies)) + "}"


def floods() -> dict[str, bytes]:
    chain = "".join(f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }} " for i in range(24))
    queries = {
        "1,000 aliases of the page query": alias_flood(bench.PAGE_QUERY, 1000),
        "80,000 x `a:__typename` (< 1 MiB)": "{" + " a:__typename" * 80_000 + "}",
        "80,000 distinct aliases (> 1 MiB)": "{" + " ".join(f"a{i}:__typename" for i in range(80_000)) + "}",
        "fragment chain 2^24": "{ ...F0 } " + chain + "fragment F24 on Query { __typename }",
    }
    return {name: json.dumps({"query": query}).encode() for name, query in queries.items()}


HEADERS = {"Content-Type": "application/json"}


def refusals(server, body: bytes, requests: int) -> tuple[Counter, list[float], float | None]:
    statuses, latencies = Counter(), []
    with httpx.Client(base_url=server.url, timeout=120, trust_env=False, headers=HEADERS) as client:
        client.get("/healthz")
        cpu = server.cpu_seconds()
        for _ in range(requests):
            began = time.perf_counter()
            try:
                statuses[client.post("/graphql", content=body).status_code] += 1
            except httpx.HTTPError as error:
                statuses[type(error).__name__] += 1
            latencies.append((time.perf_counter() - began) * 1000)
        after = server.cpu_seconds()
    cpu_ms = (after - cpu) * 1000 / requests if None not in (cpu, after) else None
    return statuses, latencies, cpu_ms


def healthz_under_floods(url: str, bodies: list[bytes], clients: int, seconds: float) -> tuple[list[float], int]:
    stop, sent = threading.Event(), Counter()

    def flood(index: int) -> None:
        with httpx.Client(base_url=url, timeout=120, trust_env=False, headers=HEADERS) as client:
            while not stop.is_set():
                try:
                    sent[client.post("/graphql", content=bodies[index % len(bodies)]).status_code] += 1
                except httpx.HTTPError as error:
                    sent[type(error).__name__] += 1

    threads = [threading.Thread(target=flood, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    latencies = []
    with httpx.Client(base_url=url, timeout=120, trust_env=False) as client:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            began = time.perf_counter()
            client.get("/healthz")
            latencies.append((time.perf_counter() - began) * 1000)
            time.sleep(0.02)
    stop.set()
    for thread in threads:
        thread.join(130)
    refused = sum(n for status, n in sent.items() if isinstance(status, int) and 400 <= status < 500)
    return latencies, refused


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=20, help="requests per flood, one at a time")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds of floods per number of clients")
    parser.add_argument("--clients", default="1,2,4", help="comma-separated numbers of flooding threads")
    parser.add_argument("--startup-timeout", type=float, default=120.0, help="seconds to wait for /healthz")
    args = parser.parse_args()
    root = bench.checkout_root()
    bodies = floods()
    with tempfile.TemporaryDirectory(prefix="graphql-limits-bench-") as tmp:
        # Rate limits off: they would answer most of a flood with 429 before GraphQL sees it.
        env = bench.catalog_env(Path(tmp) / "home", CATALOG_SCHEDULER_ENABLED="false", CATALOG_RATE_LIMIT_PER_S="0")
        server = bench.Server(root, env, Path(tmp) / "serve.log", args.startup_timeout)
        try:
            print(f"code {root}; load {bench.loadavg()}", flush=True)
            print(f"{'flood':36} {'bytes':>10} {'statuses':>14} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} "
                  f"{'cpu ms/req':>10}")
            for name, body in bodies.items():
                statuses, latencies, cpu_ms = refusals(server, body, args.requests)
                shown = ",".join(f"{s}x{n}" for s, n in sorted(statuses.items(), key=str))
                print(f"{name:36} {len(body):>10,} {shown:>14} {statistics.median(latencies):>8.1f} "
                      f"{bench.percentile(latencies, 95):>8.1f} {max(latencies):>8.1f} {bench.fmt(cpu_ms):>10}",
                      flush=True)
            print(f"\n/healthz while the floods repeat ({args.duration:.0f} s per row); load {bench.loadavg()}")
            print(f"{'clients':>7} {'probes':>7} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'refused/s':>10}")
            for clients in (int(c) for c in args.clients.split(",")):
                latencies, refused = healthz_under_floods(server.url, list(bodies.values()), clients, args.duration)
                print(f"{clients:>7} {len(latencies):>7} {statistics.median(latencies):>8.1f} "
                      f"{bench.percentile(latencies, 95):>8.1f} {max(latencies):>8.1f} "
                      f"{refused / args.duration:>10.1f}", flush=True)
            print(f"load {bench.loadavg()}")
        finally:
            server.stop()


if __name__ == "__main__":
    main()
