"""CLI start-up benchmark: how long `catalog` commands take as a user runs them, each a fresh process.

Prints the median wall time (and min-max) and the median CPU time (user + system, the operating system's accounting
of the finished command) of:
- `catalog --help`;
- `catalog source list` on a catalog with a few registered sources (on SQLite; with `--postgres URL`, also on a
  PostgreSQL catalog in a new database of that server, dropped at the end);
- `catalog crawl SOURCE --wait`, next to the same first crawl run in this (already started) process through the
  services, on the same embedded catalog and the same generated SQLite database, with the ratio of the two, and
  the command's fixed cost (its time minus the in-process crawl's: start-up, imports, opening the catalog).

Targets (issue 17): `--help` and `source list` <= 0.4 s; `crawl --wait` <= 1.3x the in-process crawl. The fixed cost
does not grow with the source, so the ratio falls as the crawl grows: the last line says from which crawl time on the
fixed cost measured here would keep it under 1.3x.
Each crawl is a first crawl of a newly registered copy of the source database (the catalog refuses to register one
database twice; copied and registered outside the clock), so every run does the same work. CLI and in-process
crawls alternate, so a drift of the machine's speed hits both alike; the load averages are printed before and after,
and CPU times next to wall times, as the machine may be shared. The commands may cache their bytecode (in the
temporary folder, never in the checkout), as an installed catalog has it.
Usage: python benchmarks/cli_startup.py [--tables 200] [--runs 5] [--postgres postgresql://postgres@127.0.0.1/postgres]
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from random_tables import random_table  # this folder, first on sys.path when run as a script

TYPES = ["integer", "text", "real", "numeric(12,2)", "varchar(80)", "timestamp", "boolean", "date", "blob"]


def build_source(path: Path, tables: int, seed: int = 1) -> Path:
    """A SQLite database of `tables` tables of 4-30 columns, each referencing an earlier one, an index on every
    fifth table and a view per ten tables."""
    rng = random.Random(seed)
    statements = []
    names = [f"t{t:04d}" for t in range(tables)]
    for t in range(tables):
        statements.append(random_table(rng, names[t], names[:t], types=TYPES, max_columns=30, key_type="integer"))
        if t % 5 == 0:
            statements.append(f"create index t{t:04d}_c0 on t{t:04d} (c0);")
        if t % 10 == 0:
            statements.append(f"create view v{t:04d} as select id, c0 from t{t:04d} where id > {t};")
    conn = sqlite3.connect(path)
    try:
        conn.executescript("\n".join(statements))
        conn.commit()
    finally:
        conn.close()
    return path


def catalog(args: list[str], workdir: Path, env: dict[str, str]) -> tuple[float, float]:
    """Runs `catalog ARGS` as a user would and returns its wall and CPU seconds; fails loudly when it fails."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "catalog_api.cli", *args], cwd=workdir, env=env,
                          capture_output=True, text=True, timeout=600)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"catalog {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return elapsed, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def spread(runs: list[tuple[float, float]]) -> str:
    values = [wall for wall, _ in runs]
    return (f"{statistics.median(values):6.2f} s (min {min(values):.2f}, max {max(values):.2f}, {len(values)} runs; "
            f"CPU {statistics.median(cpu for _, cpu in runs):.2f} s)")


def load() -> str:
    return "load averages " + " ".join(f"{value:.1f}" for value in os.getloadavg())


def postgres_listing(admin_url: str, runs: int, workdir: Path, env: dict[str, str]) -> list[tuple[float, float]]:
    """`catalog source list` on a PostgreSQL catalog: a new database of `admin_url`'s server, migrated, with three
    sources registered, dropped at the end."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"cli_startup_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'create database "{name}"'))
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    pg_env = {**env, "CATALOG_DATABASE_URL": url}
    try:
        catalog(["db", "upgrade"], workdir, pg_env)
        for i in range(3):
            catalog(["source", "add", f"listed{i}", "--kind", "sqlite", "--config",
                     f"path={workdir / 'sources' / f'listed{i}.db'}"], workdir, pg_env)
        catalog(["source", "list"], workdir, pg_env)  # warm-up
        return [catalog(["source", "list"], workdir, pg_env) for _ in range(runs)]
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'drop database "{name}" with (force)'))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tables", type=int, default=200, help="Tables in the generated source database.")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--postgres", metavar="URL", help="A PostgreSQL server (its maintenance database's URL) on "
                        "which to time `source list` too.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        (workdir / "sources").mkdir()
        env = {**os.environ, "CATALOG_HOME": str(workdir / "home"), "CATALOG_SECRET_KEY": "bench",
               "CATALOG_SCHEDULER_ENABLED": "false", "COLUMNS": "120", "NO_COLOR": "1"}
        for name in ("CATALOG_DATABASE_URL", "CATALOG_BROKER_URL", "CATALOG_FILE_ROOTS", "PYTHONDONTWRITEBYTECODE"):
            env.pop(name, None)
        env["PYTHONPYCACHEPREFIX"] = str(workdir / "bytecode")
        os.environ.clear()
        os.environ.update(env)  # the in-process crawl reads the same settings as the commands
        os.chdir(workdir)  # and resolves ./sources the same way

        from catalog_api.bootstrap import build_context
        from catalog_api.services.crawl import request_crawl
        from catalog_api.services.jobs import wait_for_job
        from catalog_api.services.sources import SourceRegistration, register_source
        from catalog_api.settings import get_settings

        source = build_source(workdir / "sources" / "bench.db", args.tables)
        catalog(["db", "upgrade"], workdir, env)
        ctx = build_context(get_settings())
        try:
            def register(name: str) -> None:
                copy = shutil.copyfile(source, source.with_name(f"{name}.db"))
                register_source(ctx, SourceRegistration(name=name, kind="sqlite", config={"path": str(copy)}))

            for i in range(3):
                register(f"listed{i}")
            print(load(), flush=True)
            catalog(["--help"], workdir, env)  # warm-up: the first run fills the disk cache and bytecode
            helps = [catalog(["--help"], workdir, env) for _ in range(args.runs)]
            print(f"catalog --help                   {spread(helps)}", flush=True)
            lists = [catalog(["source", "list"], workdir, env) for _ in range(args.runs)]
            print(f"catalog source list (3 sources)  {spread(lists)}", flush=True)
            if args.postgres:
                pg_lists = postgres_listing(args.postgres, args.runs, workdir, env)
                print(f"  ... on a PostgreSQL catalog    {spread(pg_lists)}", flush=True)

            cli_crawls, in_process = [], []
            for run in range(args.runs + 1):  # the first pair is a warm-up
                register(f"cli{run}")
                cli = catalog(["crawl", f"cli{run}", "--wait"], workdir, env)
                register(f"direct{run}")
                started, cpu_started = time.perf_counter(), time.process_time()
                job = wait_for_job(ctx, request_crawl(ctx, f"direct{run}").id, poll=0.005)
                direct = time.perf_counter() - started, time.process_time() - cpu_started
                if job.status != "succeeded":
                    raise SystemExit(f"in-process crawl {job.status}: {job.error_message}")
                if run:
                    cli_crawls.append(cli)
                    in_process.append(direct)
            pairs = [(cli, direct) for (cli, _), (direct, _) in zip(cli_crawls, in_process, strict=True)]
            ratios = [cli / direct for cli, direct in pairs]
            fixed = statistics.median(cli - direct for cli, direct in pairs)
            print(f"crawl, {args.tables} tables: catalog crawl --wait {spread(cli_crawls)}", flush=True)
            print(f"crawl, {args.tables} tables: in-process        {spread(in_process)}", flush=True)
            print(f"crawl --wait / in-process: {statistics.median(ratios):.2f}x "
                  f"(min {min(ratios):.2f}, max {max(ratios):.2f}; target <= 1.3x)", flush=True)
            print(f"crawl --wait's fixed cost: {fixed:.2f} s (median of the pairs' differences); it stays under "
                  f"1.3x for crawls of {fixed / 0.3:.1f} s and more", flush=True)
            print(load(), flush=True)
        finally:
            ctx.close()


if __name__ == "__main__":
    main()
