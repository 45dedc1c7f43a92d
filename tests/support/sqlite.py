"""SQLite files for tests, and SQLite's own per-table pragmas as the oracle."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def build_database(path: Path, ddl: str, data: str = "", *, analyze: bool = False) -> Path:
    conn = sqlite3.connect(path)
    try:
        conn.executescript(ddl)
        if data:
            conn.executescript(data)
        if analyze:
            conn.execute("ANALYZE")
        conn.commit()
    finally:
        conn.close()
    return path


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def oracle(path: Path, sql: str, params: tuple = ()) -> list[tuple]:
    """Rows of `sql` read through a connection of the test's own (read-only), not the connector's."""
    conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()
