"""GraphQL load benchmark (issue 17, target 4): the frontend page query against `catalog serve`, 1 and 8 clients,
on a SQLite and on a PostgreSQL catalog.

For each catalog (`--catalogs sqlite,postgresql`; PostgreSQL is a fresh scratch database on 127.0.0.1:5432, given
to the service as CATALOG_DATABASE_URL and dropped at the end) it builds the demo ERP in a temporary CATALOG_HOME
(`catalog demo --no-serve --no-profile`: 16 tables and views crawled), starts `catalog serve` on a free port of
127.0.0.1 from each checkout measured, and sends the page query of README.md (sources -> schemas ->
tables(first: 50) with columns, tags and changes(first: 5)) over HTTP, every answer checked (no `errors`, every
crawled table present). For each number of clients and each checkout, in turn (so a busy machine slows all of them
alike): a warm-up that is not counted, then a fixed duration in which every request's latency is recorded. It
prints requests per second, p50, p95 and p99, the server's CPU milliseconds per request (user + system time of the
server and its worker processes from /proc, steadier than latencies on a busy machine), and the load averages
before and after. Then, unless --no-count-statements, a second server per checkout on the same catalog counts the
SQL statements per query with an SQLAlchemy `before_cursor_execute` listener installed from a `sitecustomize`
module on its PYTHONPATH (the application's code is untouched; its scheduler and event relay are off so that only
the queries speak); the timed figures come from the uninstrumented servers.

It uses only the `catalog` CLI as a subprocess and HTTP, so it measures any version of the code: the checkout on
PYTHONPATH, and with `--baseline DIR` another one (e.g. `git archive main | tar -x -C DIR`) measured interleaved
with it in the same run; `catalog` is started from each checkout with the same interpreter. `--serve-env K=V`
passes settings to every measured server, `--variant NAME:K=V,K=V` measures the checkout once more with other
settings (e.g. `2w:CATALOG_WEB_WORKERS=2,CATALOG_EVENTS_FANOUT=redis,...` for two worker processes).

Target (2-core machine): >= 150 req/s at 8 clients on SQLite and on PostgreSQL, p95 <= 100 ms, statements per
request constant (150 req/s on 2 cores is <= ~13 ms of server CPU per request). The servers run without rate
limits (`CATALOG_RATE_LIMIT_PER_S=0`): its clients are one caller, and the limiter's own cost is measured by
benchmarks/ratelimit.py.
Usage: PYTHONPATH=/path/to/checkout python benchmarks/graphql_load.py [--catalogs sqlite,postgresql]
       [--baseline DIR] [--duration 20] [--warmup 3] [--clients 1,8] [--repeat 1] [--label NAME]
       [--serve-env K=V ...] [--variant NAME:K=V,K=V ...] [--no-count-statements] [--count-queries 20]
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
from collections.abc import Iterator
from contextlib import contextmanager
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


def _proc_stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def tree_cpu_seconds(root: int) -> float | None:
    """User + system seconds of `root` and its living descendants, from /proc; None where there is no /proc."""
    if _proc_stat(root) is None:
        return None
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        fields = _proc_stat(int(entry.name)) if entry.name.isdigit() else None
        if fields is not None:
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    total, pending = 0, [root]
    while pending:
        pid = pending.pop()
        fields = _proc_stat(pid)
        if fields is not None:
            total += int(fields[11]) + int(fields[12])
        pending.extend(children.get(pid, ()))
    return total / os.sysconf("SC_CLK_TCK")


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
        """User + system seconds so far of the server and every process under it (all their threads: uvicorn's
        worker processes when CATALOG_WEB_WORKERS > 1), from /proc; None elsewhere."""
        return tree_cpu_seconds(self.process.pid)

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


class Checkout:
    """One version of the code under measurement, and its servers. (A plain class: tests load this file by path,
    outside sys.modules, where dataclasses cannot resolve their annotations.)"""

    def __init__(self, label: str, root: Path, env: dict[str, str] | None = None) -> None:
        self.label, self.root, self.env = label, root, env or {}
        self.server: Server | None = None
        self.rows: list[dict] = []
        self.statements: tuple[float, int, list[tuple[str, int]]] | None = None


def describe(root: Path) -> str:
    head = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True,
                          text=True, check=False).stdout.strip()
    return f"{root.name}@{head}" if head else root.name


@contextmanager
def catalog_database(kind: str) -> Iterator[dict[str, str]]:
    """The settings that put the catalog in a fresh database of `kind`: the embedded SQLite default, or a scratch
    PostgreSQL database of this run (dropped at the end, with every connection to it)."""
    if kind == "sqlite":
        yield {}
        return
    sys.path.insert(0, str(Path(__file__).parent))
    from scratch import scratch_databases  # this folder; imported here so the page query loads without psycopg

    admin = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}
    with scratch_databases(admin, "bench_graphql_load") as create:
        config = create("select 1")
        yield {"CATALOG_DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1:5432/{config['database']}"}


def measure(checkout: Checkout, catalog_kind: str, run: int, clients: int, args, tables: int) -> None:
    server = checkout.server
    load(server.url, clients, args.warmup, tables, args.max_requests)
    before, cpu = loadavg(), server.cpu_seconds()
    latencies, wall, failures = load(server.url, clients, args.duration, tables, args.max_requests)
    cpu_after = server.cpu_seconds()
    cpu_ms = (cpu_after - cpu) * 1000 / len(latencies) if None not in (cpu, cpu_after) else None
    checkout.rows.append({"catalog": catalog_kind, "run": run, "clients": clients, "requests": len(latencies),
                          "rps": len(latencies) / wall, "p50": statistics.median(latencies),
                          "p95": percentile(latencies, 95), "p99": percentile(latencies, 99), "cpu": cpu_ms,
                          "failures": failures, "load": f"{before} -> {loadavg()}"})


def bench_catalog(kind: str, checkouts: list[Checkout], args, levels: list[int], serve_env: dict[str, str],
                  tmp: Path) -> None:
    """Builds the demo in a fresh catalog of `kind` and measures every checkout on it, interleaved."""
    with catalog_database(kind) as database:
        home = tmp / kind / "home"
        env = catalog_env(home, **database)
        first = checkouts[0]
        started = time.perf_counter()
        tables, crawl = build_demo(first.root, {**env, "PYTHONPATH": str(first.root)}, home)
        print(f"{kind}: demo built and crawled in {time.perf_counter() - started:.1f} s, {tables} tables and "
              f"views; {crawl}", flush=True)
        try:
            for checkout in checkouts:
                checkout.server = Server(checkout.root, {**env, **serve_env, **checkout.env,
                                                         "PYTHONPATH": str(checkout.root)},
                                         tmp / f"serve-{kind}-{checkout.label}.log", args.startup_timeout)
                with httpx.Client(timeout=REQUEST_TIMEOUT_S, trust_env=False) as http:
                    response = http.post(f"{checkout.server.url}/graphql", json={"query": PAGE_QUERY})
                problem = check(response, tables)
                if problem:
                    raise SystemExit(f"{checkout.label}: page query: {problem}: {response.text[:2000]}")
                print(f"{kind} {checkout.label}: page query {len(response.content):,} bytes, {tables} tables",
                      flush=True)
            for run in range(1, args.repeat + 1):
                for clients in levels:
                    for checkout in checkouts:
                        measure(checkout, kind, run, clients, args, tables)
        finally:
            for checkout in checkouts:
                if checkout.server is not None:
                    checkout.server.stop()
                    checkout.server = None
        if args.no_count_statements:
            return
        hook = tmp / kind / "hook"
        hook.mkdir()
        (hook / "sitecustomize.py").write_text(SITECUSTOMIZE)
        for checkout in checkouts:
            sql_log = tmp / kind / f"statements-{checkout.label}.log"
            sql_log.touch()
            counting_env = {**env, "PYTHONPATH": os.pathsep.join([str(checkout.root), str(hook)]),
                            "GRAPHQL_BENCH_SQL_LOG": str(sql_log), "CATALOG_SCHEDULER_ENABLED": "false",
                            "CATALOG_EVENTS_RELAY_ENABLED": "false", "CATALOG_WEB_WORKERS": "1"}
            counter = Server(checkout.root, counting_env, tmp / kind / f"count-{checkout.label}.log",
                             args.startup_timeout)
            try:
                per_query = count_statements(counter.url, sql_log, tables, args.count_queries)
            finally:
                counter.stop()
            checkout.statements = per_query
            print(f"{kind} {checkout.label}: SQL statements per page query: {per_query[0]:.1f} ({per_query[1]} "
                  f"distinct; {args.count_queries} queries one at a time, scheduler and relay off)")
            for statement, n in per_query[2]:
                print(f"  {n:>3} x {statement[:110]}")


def report(checkouts: list[Checkout], args, levels: list[int]) -> None:
    print(f"\npage query, {args.duration:g} s per row after {args.warmup:g} s of warm-up")
    print(f"{'catalog':<10} {'label':<22} {'run':>3} {'clients':>7} {'requests':>8} {'req/s':>7} {'p50 ms':>7} "
          f"{'p95 ms':>7} {'p99 ms':>7} {'cpu ms':>7} {'failed':>6}  load avg 1/5/15 min (before -> after)")
    rows = sorted(((r, c.label) for c in checkouts for r in c.rows),
                  key=lambda rl: (rl[0]["catalog"], rl[0]["clients"], rl[0]["run"]))
    for row, label in rows:
        print(f"{row['catalog']:<10} {label:<22} {row['run']:>3} {row['clients']:>7} {row['requests']:>8} "
              f"{row['rps']:>7.2f} {row['p50']:>7.1f} {row['p95']:>7.1f} {row['p99']:>7.1f} {fmt(row['cpu']):>7} "
              f"{sum(row['failures'].values()):>6}  {row['load']}")
    print(f"\nmedians over {args.repeat} run(s)")
    print(f"{'catalog':<10} {'label':<22} {'clients':>7} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} "
          f"{'cpu ms':>7} {'stmts':>6}")
    baseline = checkouts[-1] if len(checkouts) > 1 else None
    for kind in args.catalogs.split(","):
        for clients in levels:
            for checkout in checkouts:
                mine = [r for r in checkout.rows if r["catalog"] == kind and r["clients"] == clients]
                if not mine:
                    continue
                med = {k: statistics.median(r[k] for r in mine) for k in ("rps", "p50", "p95", "p99")}
                cpus = [r["cpu"] for r in mine]
                med["cpu"] = statistics.median(cpus) if None not in cpus else None
                statements = "-" if checkout.statements is None else f"{checkout.statements[0]:.1f}"
                line = (f"{kind:<10} {checkout.label:<22} {clients:>7} {med['rps']:>7.2f} {med['p50']:>7.1f} "
                        f"{med['p95']:>7.1f} {med['p99']:>7.1f} {fmt(med['cpu']):>7} {statements:>6}")
                if baseline is not None and checkout is not baseline:
                    base = [r for r in baseline.rows if r["catalog"] == kind and r["clients"] == clients]
                    base_rps = statistics.median(r["rps"] for r in base)
                    base_cpus = [r["cpu"] for r in base]
                    line += f"   x{med['rps'] / base_rps:.2f} req/s vs {baseline.label}"
                    if med["cpu"] and None not in base_cpus:
                        line += f", x{statistics.median(base_cpus) / med['cpu']:.2f} less CPU/request"
                print(line)
    for checkout in checkouts:
        for row in checkout.rows:
            for problem, n in row["failures"].items():
                print(f"FAILED ({checkout.label}, {row['catalog']}, {row['clients']} clients, run {row['run']}): "
                      f"{n} x {problem}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--catalogs", default="sqlite,postgresql", help="catalog databases: sqlite, postgresql")
    parser.add_argument("--baseline", type=Path, default=None, help="another checkout, measured interleaved")
    parser.add_argument("--duration", type=float, default=20.0, help="measured seconds per number of clients")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of load before each measurement")
    parser.add_argument("--clients", default="1,8", help="comma-separated numbers of concurrent clients")
    parser.add_argument("--repeat", type=int, default=1, help="measure every number of clients N times")
    parser.add_argument("--label", default=None, help="name of this run in the output (default: the checkout)")
    parser.add_argument("--serve-env", action="append", default=[], metavar="K=V",
                        help="a setting for the measured servers, e.g. CATALOG_WEB_WORKERS=1 (repeatable)")
    parser.add_argument("--variant", action="append", default=[], metavar="NAME:K=V,K=V",
                        help="the checkout on PYTHONPATH once more, its server with these settings (repeatable)")
    parser.add_argument("--max-requests", type=int, default=100_000, help="bound on requests per client and phase")
    parser.add_argument("--startup-timeout", type=float, default=120.0, help="seconds to wait for /healthz")
    parser.add_argument("--count-queries", type=int, default=20, help="queries sent to count SQL statements")
    parser.add_argument("--no-count-statements", action="store_true", help="skip the statement count")
    args = parser.parse_args()
    levels = [int(c) for c in args.clients.split(",")]
    if args.repeat < 1 or min(levels) < 1 or args.duration <= 0:
        parser.error("--repeat, --clients and --duration must be positive")
    if not set(args.catalogs.split(",")) <= {"sqlite", "postgresql"}:
        parser.error("--catalogs takes sqlite and/or postgresql")
    serve_env = dict(item.split("=", 1) for item in args.serve_env)

    root = checkout_root()
    checkouts = [Checkout(args.label or describe(root), root)]
    for variant in args.variant:
        name, _, settings = variant.partition(":")
        checkouts.append(Checkout(name, root, dict(item.split("=", 1) for item in settings.split(",") if item)))
    if args.baseline is not None:
        checkouts.append(Checkout(f"baseline:{describe(args.baseline.resolve())}", args.baseline.resolve()))
    for checkout in checkouts:
        print(f"{checkout.label}: code {checkout.root}", flush=True)

    with tempfile.TemporaryDirectory(prefix="graphql-bench-") as folder:
        for kind in args.catalogs.split(","):
            bench_catalog(kind, checkouts, args, levels, serve_env, Path(folder))
    report(checkouts, args, levels)
    if any(row["failures"] for checkout in checkouts for row in checkout.rows):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
