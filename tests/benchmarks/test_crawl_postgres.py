"""benchmarks/crawl_postgres.py leaves the server as it found it: its own databases are dropped, whether the run
succeeds or fails, and a database it did not create (even one named like its old fixed names) is never touched."""

from __future__ import annotations

import os
import subprocess
import sys

import psycopg
import pytest

from tests.support.paths import REPO
from tests.support.postgres import pg_admin_connection

pytestmark = pytest.mark.postgres


@pytest.fixture
def someone_elses_database(pg_server):
    """`bench_crawl`, the name the benchmark used to drop and recreate, holding a table of someone else's."""
    name = "bench_crawl"
    with pg_admin_connection() as conn:
        if conn.execute("select 1 from pg_database where datname = %s", (name,)).fetchone():
            pytest.skip(f"a database {name} exists already; this test creates and drops its own")
        conn.execute(f'create database "{name}"')
    try:
        with psycopg.connect(dbname=name, autocommit=True, **pg_server) as conn:
            conn.execute("create table keep_me (id int); insert into keep_me values (42)")
        yield {**pg_server, "dbname": name}
    finally:
        with pg_admin_connection() as conn:
            conn.execute(f'drop database if exists "{name}" with (force)')


def _benchmark_databases() -> set[str]:
    """Databases named like the benchmark's (the server is shared with other tests, which make their own)."""
    with pg_admin_connection() as conn:
        return {name for (name,) in conn.execute("select datname from pg_database where datname like 'bench\\_crawl%'")}


@pytest.mark.parametrize("catalog_url", [None, "postgresql+psycopg://nobody@127.0.0.1:1/unreachable"],
                         ids=["success", "failure"])
def test_the_benchmark_drops_its_own_databases_and_only_those(pg_server, someone_elses_database, catalog_url):
    before = _benchmark_databases()
    assert before == {"bench_crawl"}
    args = [sys.executable, str(REPO / "benchmarks" / "crawl_postgres.py"), "--host", pg_server["host"],
            "--port", str(pg_server["port"]), "--user", pg_server["user"], "--tables-per-schema", "3", "--repeat", "1"]
    if catalog_url:
        args += ["--catalog-url", catalog_url]
    done = subprocess.run(args, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True,
                          text=True, timeout=300)

    if catalog_url is None:
        assert done.returncode == 0, done.stdout + done.stderr
        assert "full crawl:" in done.stdout and "30 tables" in done.stdout
    else:
        assert done.returncode != 0 and "building bench_crawl" in done.stdout  # it failed after creating them
    assert _benchmark_databases() == before
    with psycopg.connect(autocommit=True, **someone_elses_database) as conn:
        assert conn.execute("select id from keep_me").fetchall() == [(42,)]
