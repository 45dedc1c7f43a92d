"""CLI start-up benchmark: how long `catalog` commands take as a user runs them, each a fresh process.

Prints the median wall time (and min-max) of:
- `catalog --help`;
- `catalog source list` on a catalog with a few registered sources;
- `catalog crawl SOURCE --wait`, next to the same first crawl run in this (already started) process through the
  services, on the same embedded catalog and the same generated SQLite database, with the ratio of the two.

Targets (issue 17): `--help` and `source list` <= 0.4 s; `crawl --wait` <= 1.3x the in-process crawl.
Each crawl is a first crawl of a newly registered copy of the source database (the catalog refuses to register one
database twice; copied and registered outside the clock), so every run does the same work. CLI and in-process crawls alternate, so a drift of the machine's speed hits both alike. The commands may cache their
bytecode (in the temporary folder, never in the checkout), as an installed catalog has it.
Usage: python benchmarks/cli_startup.py [--tables 200] [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TYPES = ["integer", "text", "real", "numeric(12,2)", "varchar(80)", "timestamp", "boolean", "date", "blob"]


def build_source(path: Path, tables: int, seed: int = 1) -> Path:
    """A SQLite database of `tables` tables of 4-30 columns, each referencing an earlier one, an index on every
    fifth table and a view per ten tables."""
    rng = random.Random(seed)
    statements = []
    for t in range(tables):
        columns = ["id integer primary key"]
        columns += [f"c{i} {rng.choice(TYPES)}{' not null' if rng.random() < 0.3 else ''}"
                    for i in range(rng.randint(4, 30))]
        if t > 0:
            columns.append(f"parent_id integer references t{rng.randrange(t):04d}(id)")
        statements.append(f"create table t{t:04d} ({', '.join(columns)});")
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


def catalog(args: list[str], workdir: Path, env: dict[str, str]) -> float:
    """Runs `catalog ARGS` as a user would and returns its wall seconds; fails loudly when the command fails."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "catalog_api.cli", *args], cwd=workdir, env=env,
                          capture_output=True, text=True, timeout=600)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"catalog {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return elapsed


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):6.2f} s (min {min(values):.2f}, max {max(values):.2f}, {len(values)} runs)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tables", type=int, default=200, help="Tables in the generated source database.")
    parser.add_argument("--runs", type=int, default=5)
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
            catalog(["--help"], workdir, env)  # warm-up: the first run fills the disk cache and bytecode
            helps = [catalog(["--help"], workdir, env) for _ in range(args.runs)]
            print(f"catalog --help                   {spread(helps)}", flush=True)
            lists = [catalog(["source", "list"], workdir, env) for _ in range(args.runs)]
            print(f"catalog source list (3 sources)  {spread(lists)}", flush=True)

            cli_crawls, in_process = [], []
            for run in range(args.runs + 1):  # the first pair is a warm-up
                register(f"cli{run}")
                cli = catalog(["crawl", f"cli{run}", "--wait"], workdir, env)
                register(f"direct{run}")
                started = time.perf_counter()
                job = wait_for_job(ctx, request_crawl(ctx, f"direct{run}").id, poll=0.005)
                direct = time.perf_counter() - started
                if job.status != "succeeded":
                    raise SystemExit(f"in-process crawl {job.status}: {job.error_message}")
                if run:
                    cli_crawls.append(cli)
                    in_process.append(direct)
            ratios = [cli / direct for cli, direct in zip(cli_crawls, in_process, strict=True)]
            print(f"crawl, {args.tables} tables: catalog crawl --wait {spread(cli_crawls)}", flush=True)
            print(f"crawl, {args.tables} tables: in-process        {spread(in_process)}", flush=True)
            print(f"crawl --wait / in-process: {statistics.median(ratios):.2f}x "
                  f"(min {min(ratios):.2f}, max {max(ratios):.2f}; target <= 1.3x)", flush=True)
        finally:
            ctx.close()


if __name__ == "__main__":
    main()
