"""A `catalog` command imports what its work needs and nothing else, so that it starts at once (the figures are
benchmarks/cli_startup.py's to print). The oracle is the interpreter's own import log (`-X importtime`) of the
command run as a user runs it, in a fresh process."""

from __future__ import annotations

import gc
import os
import subprocess
import sys

import pytest

from tests.support.cli import imported_modules, imported_packages, table_rows
from tests.support.sources import sqlite_shop

IMPORT_LOG = {"PYTHONPROFILEIMPORTTIME": "1"}
# What serving, extracting and profiling need, and no command that only reads or crawls the catalog does.
# OpenTelemetry too: a command that exports no traces records no spans (catalog_api.observability.tracing).
NEVER_FOR_A_CRAWL = {"pyspark", "pandas", "ydata_profiling", "profiler", "pyarrow", "numpy", "fsspec", "strawberry",
                     "fastapi", "starlette", "uvicorn", "azure", "dramatiq", "httpx", "opentelemetry"}
# A database already at head is not migrated, so Alembic stays out too; a listing parses no SQL.
NEVER_FOR_A_LISTING = NEVER_FOR_A_CRAWL | {"alembic", "sqlglot"}
# A listing only reads the catalog: no secret store (cryptography), job runner (prometheus_client, croniter), event bus
# (events) or connector registry, and none of the services that write.
NEVER_FOR_A_READ = NEVER_FOR_A_LISTING | {"events", "cryptography", "prometheus_client", "croniter"}
NEVER_FOR_A_READ_MODULES = {"catalog_api.services.context", "catalog_api.services.jobs", "catalog_api.services.sources",
                            "catalog_api.security.secrets", "crawlers.registry", "crawlers.connector"}


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
    assert imported & NEVER_FOR_A_READ == set()
    modules = imported_modules(done.stderr)
    assert "catalog_api.services.source_lookup" in modules
    assert modules & NEVER_FOR_A_READ_MODULES == set()


def test_schedule_list_reads_the_catalog_alone(run_cli, shop_registered):
    done = run_cli("schedule", "list", environ=IMPORT_LOG)
    assert "no schedules" in done.stdout
    assert imported_packages(done.stderr) & NEVER_FOR_A_READ == set()
    assert imported_modules(done.stderr) & NEVER_FOR_A_READ_MODULES == set()


def test_a_crawl_runs_without_extraction_profiling_or_server_libraries(run_cli, shop_registered):
    done = run_cli("crawl", "shop", "--wait", environ=IMPORT_LOG)
    assert {("created", "3")} <= {tuple(row) for row in table_rows(done.stdout)}
    imported = imported_packages(done.stderr)
    assert "sqlglot" in imported  # the view's SQL was parsed for lineage
    assert imported & (NEVER_FOR_A_CRAWL | {"alembic", "croniter"}) == set()  # croniter: for registration alone


# The collector is held off while a command starts (catalog_api.cli.common.hold_collector); the command's own work,
# which may last (a crawl, a scheduler), must run with it again, or its garbage cycles would pile up.
COLLECTOR_AT_EXIT = """
import atexit, gc, sys
atexit.register(lambda: print(f"collector enabled={gc.isenabled()} frozen={gc.get_freeze_count() > 0}",
                              file=sys.stderr))
sys.argv = ["catalog", *sys.argv[1:]]
from catalog_api.cli import main
main()
"""


@pytest.mark.parametrize("command", [("source", "list"), ("crawl", "shop", "--wait")])
def test_a_command_works_with_the_collector_on_and_its_start_up_frozen(command, shop_registered, tmp_path):
    done = subprocess.run([sys.executable, "-c", COLLECTOR_AT_EXIT, *command], cwd=tmp_path, capture_output=True,
                          text=True, timeout=600, env={**os.environ, "CATALOG_HOME": str(tmp_path / "home"),
                                                        "CATALOG_SECRET_KEY": "cli-test-key"})
    assert done.returncode == 0, done.stderr
    assert "collector enabled=True frozen=True" in done.stderr


def test_commands_run_in_process_leave_the_collector_alone(cli_in_process):
    frozen = gc.get_freeze_count()
    cli_in_process("source", "list")
    assert gc.isenabled() and gc.get_freeze_count() == frozen
