"""A `catalog` command imports what its work needs and nothing else, so that it starts at once (the figures are
benchmarks/cli_startup.py's to print). The oracle is the interpreter's own import log (`-X importtime`) of the
command run as a user runs it, in a fresh process."""

from __future__ import annotations

import pytest

from tests.support.cli import imported_packages, table_rows
from tests.support.sources import sqlite_shop

IMPORT_LOG = {"PYTHONPROFILEIMPORTTIME": "1"}
# What serving, extracting and profiling need, and no command that only reads or crawls the catalog does.
# OpenTelemetry too: a command that exports no traces records no spans (catalog_api.observability.tracing).
NEVER_FOR_A_CRAWL = {"pyspark", "pandas", "ydata_profiling", "profiler", "pyarrow", "numpy", "fsspec", "strawberry",
                     "fastapi", "starlette", "uvicorn", "azure", "dramatiq", "httpx", "opentelemetry"}
# A database already at head is not migrated, so Alembic stays out too; a listing parses no SQL.
NEVER_FOR_A_LISTING = NEVER_FOR_A_CRAWL | {"alembic", "sqlglot"}


@pytest.fixture
def shop_registered(run_cli, tmp_path) -> None:
    (tmp_path / "sources").mkdir()
    run_cli("source", "add", "shop", "--kind", "sqlite", "--config",
            f"path={sqlite_shop(tmp_path / 'sources' / 'shop.db')}")


def test_help_loads_neither_the_catalog_database_nor_the_settings(run_cli):
    done = run_cli("--help", environ=IMPORT_LOG)
    assert "source" in done.stdout and "crawl" in done.stdout
    assert imported_packages(done.stderr) & (NEVER_FOR_A_LISTING | {"sqlalchemy", "pydantic", "pydantic_settings"}) \
        == set()


def test_source_list_reads_the_catalog_without_job_or_server_libraries(run_cli, shop_registered):
    done = run_cli("source", "list", environ=IMPORT_LOG)
    assert [row[1:3] for row in table_rows(done.stdout)] == [["shop", "sqlite"]]
    imported = imported_packages(done.stderr)
    assert "sqlalchemy" in imported  # the log is read right: the command did open the catalog
    assert imported & NEVER_FOR_A_LISTING == set()


def test_a_crawl_runs_without_extraction_profiling_or_server_libraries(run_cli, shop_registered):
    done = run_cli("crawl", "shop", "--wait", environ=IMPORT_LOG)
    assert {("created", "3")} <= {tuple(row) for row in table_rows(done.stdout)}
    imported = imported_packages(done.stderr)
    assert "sqlglot" in imported  # the view's SQL was parsed for lineage
    assert imported & (NEVER_FOR_A_CRAWL | {"alembic"}) == set()
