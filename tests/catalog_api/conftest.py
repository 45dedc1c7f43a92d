"""Fixtures for `catalog` commands run as a user would: `run_cli` in separate processes sharing one embedded
catalog, `cli_in_process` in the test's process (so a profile reuses the tests' Spark session)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest


@pytest.fixture
def run_cli(tmp_path):
    env = {**os.environ, "CATALOG_HOME": str(tmp_path / "home"), "CATALOG_SECRET_KEY": "cli-test-key",
           "COLUMNS": "200", "NO_COLOR": "1"}
    env.pop("CATALOG_DATABASE_URL", None)
    env.pop("CATALOG_FILE_ROOTS", None)  # the default: ./sources, under the working directory below

    def run(*args: str, ok: bool = True, settings: dict[str, str] | None = None,
            environ: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        """`catalog ARGS…`; `settings` adds `CATALOG_*` variables for this command only, `environ` other variables
        (e.g. PYTHONPROFILEIMPORTTIME)."""
        # A guard against a hung command, not a speed target (those live in benchmarks/): the demo profiles eleven
        # tables on Spark, which takes minutes on a busy 2-core machine.
        extra = {f"CATALOG_{name.upper()}": value for name, value in (settings or {}).items()}
        done = subprocess.run([sys.executable, "-m", "catalog_api.cli", *args], env={**env, **extra, **(environ or {})},
                              cwd=tmp_path, capture_output=True, text=True, timeout=600)
        if ok:
            assert done.returncode == 0, done.stdout + done.stderr
        return done

    return run


@pytest.fixture
def cli_in_process(tmp_path, monkeypatch):
    """Runs `catalog` commands in this process (so a profile reuses the tests' Spark session) on a fresh catalog.

    The settings come from `CATALOG_*` variables exactly as for a user; retries are kept short.
    """
    from typer.testing import CliRunner

    from catalog_api.cli import app
    from catalog_api.settings import get_settings
    from tests.support.spark import SPARK_CONF, SPARK_DRIVER_MEMORY, SPARK_MASTER

    monkeypatch.chdir(tmp_path)
    for name, value in {"HOME": str(tmp_path / "home"), "SECRET_KEY": "cli-test-key", "SCHEDULER_ENABLED": "false",
                        "SPARK_MASTER": SPARK_MASTER, "SPARK_DRIVER_MEMORY": SPARK_DRIVER_MEMORY,
                        "SPARK_CONF": json.dumps(SPARK_CONF), "PROFILE_SAMPLE_ROWS": "2000",
                        "JOB_RETRY_MIN_BACKOFF_S": "0.05", "JOB_RETRY_MAX_BACKOFF_S": "0.2"}.items():
        monkeypatch.setenv(f"CATALOG_{name}", value)
    monkeypatch.delenv("CATALOG_DATABASE_URL", raising=False)
    monkeypatch.delenv("CATALOG_BROKER_URL", raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("NO_COLOR", "1")
    get_settings.cache_clear()
    runner = CliRunner()

    def run(*args: str, ok: bool = True):
        done = runner.invoke(app, list(args))
        if ok:
            assert done.exit_code == 0, (done.output, done.exception)
        return done

    yield run
    get_settings.cache_clear()
