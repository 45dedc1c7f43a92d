"""GraphQL read-path benchmark: the frontend page query against `catalog serve` on the SQLite demo, 1 and 8 clients.

Builds the demo ERP in a temporary CATALOG_HOME (`catalog demo --no-serve --no-profile`: 16 tables and views
crawled), starts `catalog serve` on a free port of 127.0.0.1, and sends the page query of README.md
(sources -> schemas -> tables(first: 50) with columns, tags and changes(first: 5)) over HTTP, every answer checked
(no `errors`, every crawled table present). For each number of clients: a warm-up that is not counted, then a fixed
duration in which every request's latency is recorded; it prints requests per second, p50 and p95, the server's
CPU milliseconds per request (its user + system time from /proc, steadier than latencies on a busy machine), and
the load averages before and after. Then, unless --no-count-statements, a second server on the same catalog
counts the SQL statements per query with an SQLAlchemy `before_cursor_execute` listener installed from a
`sitecustomize` module on its PYTHONPATH (the application's code is untouched; its scheduler and event relay are
off so that only the queries speak); the timed figures come from the uninstrumented server.

It uses only the `catalog` CLI as a subprocess and HTTP, so it measures any version of the code: run it with
PYTHONPATH set to the checkout to measure; `catalog` is started from that checkout with the same interpreter.

Target (2-core machine): the read path is not slower than before the views refactor (b0ba069): req/s and p95 at
1 and 8 clients within the run-to-run noise of interleaved runs (one server process: 8 clients share one
interpreter lock, so they add latency, not throughput). The server runs without rate limits
(`CATALOG_RATE_LIMIT_PER_S=0`): its clients are one caller, and the limiter's own cost is measured by
benchmarks/ratelimit.py.
Usage: PYTHONPATH=/path/to/checkout python benchmarks/graphql.py [--duration 20] [--warmup 3] [--clients 1,8]
       [--repeat 1] [--label NAME] [--no-count-statements] [--count-queries 20]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx

PAGE_QUERY = """
{
  sources(first: 10) { edges { node { name urn
    schemas { edges { node { name
      tables(first: 50) { totalCount edges { node { urn kind description
        columns { edges { node { name dataType nullable tags } } }
        changes(first: 5) { edges { node { changeType before after detectedAt } } } } } } } } } } } }
}
"""

HOST = "127.0.0.1"
REQUEST_TIMEOUT_S = 30.0
STOP_GRACE_S = 10.0

# Installed only in the statement-counting server, through PYTHONPATH: one line per statement sent to a database.
SITECUSTOMIZE = '''
import os

_path = os.environ.get("GRAPHQL_BENCH_SQL_LOG")
if _path:
    import threading

    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    _lock = threading.Lock()
    _out = open(_path, "a", buffering=1, encoding="utf-8")

    @event.listens_for(Engine, "before_cursor_execute")
    def _graphql_bench_count(conn, cursor, statement, parameters, context, executemany):
        line = " ".join(statement.split())[:160]
        with _lock:
            _out.write(line + "\\n")
'''


def checkout_root() -> Path:
    spec = importlib.util.find_spec("catalog_api")
    if spec is None or spec.origin is None:
        raise SystemExit("catalog_api is not importable: set PYTHONPATH to the checkout to measure")
    return Path(spec.origin).resolve().parent.parent


def catalog_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CATALOG_")}  # the embedded default, nothing else
    # ...but no rate limit: every client is one caller (127.0.0.1), whose default budget (20 requests per second)
    # would turn the figures into 429s. Older checkouts ignore the setting.
    env.update({"CATALOG_HOME": str(home), "CATALOG_RATE_LIMIT_PER_S": "0", "NO_COLOR": "1", "TERM": "dumb",
                "COLUMNS": "200"}, **extra)
    return env


def catalog(args: list[str], cwd: Path, env: dict[str, str], timeout: float) -> str:
    done = subprocess.run([sys.executable, "-m", "catalog_api.cli", *args], cwd=cwd, env=env, timeout=timeout,
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"catalog {' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done.stdout


def options(help_text: str) -> set[str]:
    return set(re.findall(r"--[a-z][a-z-]*", help_text))


def build_demo(cwd: Path, env: dict[str, str], home: Path) -> tuple[int, str]:
    """Build, register and crawl the demo; return the number of relations it holds and the crawl's summary line."""
    known = options(catalog(["demo", "--help"], cwd, env, 120))
    if "--no-serve" not in known:
        raise SystemExit("this version's `catalog demo` has no --no-serve")
    args = ["demo", "--no-serve"] + (["--no-profile"] if "--no-profile" in known else [])
    out = catalog(args, cwd, env, 600)
    found = re.search(r"demo ERP database at (\S+)", out)
    path = Path(found.group(1)) if found else home / "demo" / "erp.db"
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        relations = conn.execute("select count(*) from sqlite_master where type in ('table', 'view') "
                                 "and name not like 'sqlite_%'").fetchone()[0]
    crawl = next((line.strip() for line in out.splitlines() if line.startswith("crawl ")), "")
    return relations, crawl


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


class Server:
    """`catalog serve` on 127.0.0.1, output to a file; stopped with SIGTERM, killed after STOP_GRACE_S."""

    def __init__(self, cwd: Path, env: dict[str, str], log: Path, startup_timeout: float) -> None:
        known = options(catalog(["serve", "--help"], cwd, env, 120))
        self.port = free_port()
        args = ["--port", str(self.port)] + (["--host", HOST] if "--host" in known else [])
        self.url = f"http://{HOST}:{self.port}"
        self.log = log
        with open(log, "ab") as out:
            self.process = subprocess.Popen([sys.executable, "-m", "catalog_api.cli", "serve", *args], cwd=cwd,
                                            env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        try:
            self._wait_healthy(startup_timeout)
        except BaseException:
            self.stop()
            raise

    def _wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=2.0, trust_env=False) as client:
            for _ in range(int(timeout / 0.2) + 1):
                if self.process.poll() is not None:
                    raise SystemExit(f"catalog serve exited ({self.process.returncode}):\n{self.log.read_text()}")
                try:
                    if client.get(f"{self.url}/healthz").status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    break
                time.sleep(0.2)
        raise SystemExit(f"catalog serve not healthy after {timeout:.0f} s:\n{self.log.read_text()}")

    def cpu_seconds(self) -> float | None:
        """User + system seconds of the server process so far (all its threads), from /proc; None elsewhere."""
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(STOP_GRACE_S)


def check(response: httpx.Response, tables: int) -> str | None:
    """None when the answer is a whole page of every table, else what is wrong."""
    if response.status_code != 200:
        return f"HTTP {response.status_code}"
    body = response.json()
    if body.get("errors"):
        return f"errors: {body['errors'][0].get('message')}"
    found = sum(len(schema["node"]["tables"]["edges"])
                for source in body["data"]["sources"]["edges"]
                for schema in source["node"]["schemas"]["edges"])
    return None if found == tables else f"{found} tables, expected {tables}"


def load(url: str, clients: int, seconds: float, tables: int, max_requests: int) -> tuple[list[float], float, Counter]:
    """`clients` threads, each with its own connection, send the query back to back for `seconds` (and at most
    `max_requests` each). Returns the latencies (ms), the wall seconds until the last answer, and the failures."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    failures: Counter = Counter()
    lock = threading.Lock()
    ready, go = threading.Barrier(clients + 1), threading.Event()
    ends: list[float] = [0.0] * clients
    box: dict[str, float] = {}

    def client(index: int) -> None:
        mine = latencies[index]
        with httpx.Client(base_url=url, timeout=REQUEST_TIMEOUT_S, trust_env=False) as http:
            http.get("/healthz")  # open the connection before the clock starts
            ready.wait(60)
            go.wait(60)
            deadline = box["deadline"]
            for _ in range(max_requests):
                began = time.perf_counter()
                if began >= deadline:
                    break
                try:
                    response = http.post("/graphql", json={"query": PAGE_QUERY})
                    elapsed = (time.perf_counter() - began) * 1000
                    problem = check(response, tables)
                except (httpx.HTTPError, ValueError, KeyError, TypeError) as error:
                    elapsed, problem = (time.perf_counter() - began) * 1000, type(error).__name__
                mine.append(elapsed)
                if problem:
                    with lock:
                        failures[problem] += 1
            ends[index] = time.perf_counter()

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    ready.wait(60)
    start = time.perf_counter()
    box["deadline"] = start + seconds
    go.set()
    for thread in threads:
        thread.join(seconds + REQUEST_TIMEOUT_S + 10)
    wall = max(ends) - start if all(ends) else seconds
    return [ms for mine in latencies for ms in mine], wall, failures


def percentile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def loadavg() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def count_statements(url: str, sql_log: Path, tables: int, queries: int) -> tuple[float, int, list[tuple[str, int]]]:
    """Statements per query (sent one at a time), distinct statements per query, the most frequent ones."""
    with httpx.Client(base_url=url, timeout=REQUEST_TIMEOUT_S, trust_env=False) as http:
        problem = check(http.post("/graphql", json={"query": PAGE_QUERY}), tables)  # first query: caches, etc.
        if problem:
            raise SystemExit(f"statement count: {problem}")
        time.sleep(0.5)
        before = len(sql_log.read_text().splitlines())
        for _ in range(queries):
            problem = check(http.post("/graphql", json={"query": PAGE_QUERY}), tables)
            if problem:
                raise SystemExit(f"statement count: {problem}")
        time.sleep(0.5)
    lines = sql_log.read_text().splitlines()[before:]
    per_query = Counter(lines)
    return len(lines) / queries, len(per_query), [(s, n // queries) for s, n in per_query.most_common(3)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=20.0, help="measured seconds per number of clients")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of load before each measurement")
    parser.add_argument("--clients", default="1,8", help="comma-separated numbers of concurrent clients")
    parser.add_argument("--repeat", type=int, default=1, help="measure every number of clients N times")
    parser.add_argument("--label", default=None, help="name of this run in the output (default: the checkout)")
    parser.add_argument("--max-requests", type=int, default=100_000, help="bound on requests per client and phase")
    parser.add_argument("--startup-timeout", type=float, default=120.0, help="seconds to wait for /healthz")
    parser.add_argument("--count-queries", type=int, default=20, help="queries sent to count SQL statements")
    parser.add_argument("--no-count-statements", action="store_true", help="skip the statement count")
    args = parser.parse_args()
    levels = [int(c) for c in args.clients.split(",")]
    if args.repeat < 1 or min(levels) < 1 or args.duration <= 0:
        parser.error("--repeat, --clients and --duration must be positive")

    root = checkout_root()
    head = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True,
                          text=True, check=False).stdout.strip()
    label = args.label or f"{root.name}@{head or '?'}"

    with tempfile.TemporaryDirectory(prefix="graphql-bench-") as tmp:
        home = Path(tmp) / "home"
        env = catalog_env(home)
        started = time.perf_counter()
        tables, crawl = build_demo(root, env, home)
        print(f"{label}: code {root} ({head}); demo built and crawled in {time.perf_counter() - started:.1f} s, "
              f"{tables} tables and views; {crawl}", flush=True)

        rows = []
        server = Server(root, env, Path(tmp) / "serve.log", args.startup_timeout)
        try:
            with httpx.Client(timeout=REQUEST_TIMEOUT_S, trust_env=False) as http:
                response = http.post(f"{server.url}/graphql", json={"query": PAGE_QUERY})
            problem = check(response, tables)
            if problem:
                raise SystemExit(f"page query: {problem}: {response.text[:2000]}")
            print(f"page query: {len(response.content):,} bytes, {tables} tables", flush=True)
            for run in range(1, args.repeat + 1):
                for clients in levels:
                    load(server.url, clients, args.warmup, tables, args.max_requests)
                    before, cpu = loadavg(), server.cpu_seconds()
                    latencies, wall, failures = load(server.url, clients, args.duration, tables, args.max_requests)
                    cpu_after = server.cpu_seconds()
                    cpu_ms = (cpu_after - cpu) * 1000 / len(latencies) if None not in (cpu, cpu_after) else None
                    rows.append({"run": run, "clients": clients, "requests": len(latencies),
                                 "rps": len(latencies) / wall, "p50": statistics.median(latencies),
                                 "p95": percentile(latencies, 95), "max": max(latencies), "cpu": cpu_ms,
                                 "failures": failures, "load": f"{before} -> {loadavg()}"})
        finally:
            server.stop()

        statements = None
        if not args.no_count_statements:
            hook = Path(tmp) / "hook"
            hook.mkdir()
            (hook / "sitecustomize.py").write_text(SITECUSTOMIZE)
            sql_log = Path(tmp) / "statements.log"
            sql_log.touch()
            counting_env = catalog_env(
                home, PYTHONPATH=os.pathsep.join([str(root), str(hook)]), GRAPHQL_BENCH_SQL_LOG=str(sql_log),
                CATALOG_SCHEDULER_ENABLED="false", CATALOG_EVENTS_RELAY_ENABLED="false")
            counter = Server(root, counting_env, Path(tmp) / "serve-count.log", args.startup_timeout)
            try:
                statements = count_statements(counter.url, sql_log, tables, args.count_queries)
            finally:
                counter.stop()

    print(f"\n{label}: page query, {args.duration:g} s per row after {args.warmup:g} s of warm-up")
    print(f"{'label':<16} {'run':>3} {'clients':>7} {'requests':>8} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7} "
          f"{'max ms':>7} {'cpu ms':>7} {'failed':>6}  load avg 1/5/15 min (before -> after)")
    for row in rows:
        print(f"{label:<16} {row['run']:>3} {row['clients']:>7} {row['requests']:>8} {row['rps']:>7.2f} "
              f"{row['p50']:>7.1f} {row['p95']:>7.1f} {row['max']:>7.1f} {fmt(row['cpu']):>7} "
              f"{sum(row['failures'].values()):>6}  {row['load']}")
    if args.repeat > 1:
        for clients in levels:
            mine = [r for r in rows if r["clients"] == clients]
            cpus = [r["cpu"] for r in mine]
            print(f"{label:<16} {'med':>3} {clients:>7} {'':>8} {statistics.median(r['rps'] for r in mine):>7.2f} "
                  f"{statistics.median(r['p50'] for r in mine):>7.1f} "
                  f"{statistics.median(r['p95'] for r in mine):>7.1f} {'':>7} "
                  f"{fmt(statistics.median(cpus) if None not in cpus else None):>7}")
    for row in rows:
        for problem, n in row["failures"].items():
            print(f"FAILED ({row['clients']} clients, run {row['run']}): {n} x {problem}")
    if statements:
        per_query, distinct, top = statements
        print(f"SQL statements per page query: {per_query:.1f} ({distinct} distinct; {args.count_queries} queries "
              f"one at a time, scheduler and relay off)")
        for statement, n in top:
            print(f"  {n:>3} x {statement[:110]}")
    if any(row["failures"] for row in rows):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
