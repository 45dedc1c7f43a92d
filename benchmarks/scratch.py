"""Scratch PostgreSQL databases for benchmarks: unique names, and dropped again however the benchmark ends.

A benchmark never drops a database it did not create: every name carries a random suffix, creation fails rather
than reuse an existing database, and only the names this process created are dropped.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import psycopg


@contextmanager
def scratch_databases(admin: dict, prefix: str) -> Iterator[Callable[[str], dict]]:
    """Yields `create(ddl)`, which makes a database `<prefix>_<random>`, runs `ddl` and ANALYZE in it, and returns
    its connection config (`admin` plus `database`). On exit every database made here is dropped, and only those."""
    created: list[str] = []

    def create(ddl: str) -> dict:
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(dbname="postgres", autocommit=True, **admin) as conn:
            conn.execute(f'create database "{name}"')  # fails, instead of reusing, should the name exist
        created.append(name)
        with psycopg.connect(dbname=name, autocommit=True, **admin) as conn:
            conn.execute(ddl)
            conn.execute("analyze")
        return {**admin, "database": name}

    try:
        yield create
    finally:
        with psycopg.connect(dbname="postgres", autocommit=True, **admin) as conn:
            for name in created:
                # Ours alone; force closes what a crawl may have left connected (the catalog's pool is closed by then).
                conn.execute(f'drop database if exists "{name}" with (force)')
