"""`catalog worker --metrics-port`: a crawl run by a real worker (Redis broker, two processes) shows on the
worker's own exposition, summed over its processes, against the job rows in the catalog."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from tests.support.events import free_port
from tests.support.jobs import crawled
from tests.support.metrics import redis_broker_context
from tests.support.sources import SHOP, register_sqlite
from tests.support.sqlite import oracle

REDIS_URL = "redis://127.0.0.1:6379/11"  # a database of its own: only this test's worker consumes from it


@pytest.fixture
def ctx(catalog_settings):
    with redis_broker_context(catalog_settings, REDIS_URL) as ctx:
        yield ctx


@contextmanager
def _running_worker(ctx, tmp_path, args: list[str], env: dict[str, str]) -> Iterator[subprocess.Popen]:
    """`catalog worker ARGS` for the test's catalog, with `env` on top of its settings; stopped as Container Apps
    stops it (SIGTERM to its process group, which this fixture started, and nothing else)."""
    settings = ctx.settings
    env = {**os.environ, "CATALOG_HOME": str(settings.home), "CATALOG_DATABASE_URL": ctx.db.url,
           "CATALOG_SECRET_KEY": settings.secret_key, "CATALOG_BROKER_URL": REDIS_URL,
           "CATALOG_FILE_ROOTS": json.dumps([str(tmp_path)]), "CATALOG_SCHEDULER_ENABLED": "false", **env}
    with open(tmp_path / "worker.log", "w") as log:
        process = subprocess.Popen([sys.executable, "-m", "catalog_api.cli", "worker", *args],
                                   env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            yield process
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@pytest.fixture
def worker(ctx, tmp_path):
    port = free_port()
    with _running_worker(ctx, tmp_path, ["--processes", "2", "--threads", "1", "--metrics-port", str(port)], {}):
        yield f"http://127.0.0.1:{port}/metrics"


def _samples(url: str) -> dict[tuple[str, frozenset], float]:
    deadline = time.monotonic() + 30
    while True:
        try:
            response = httpx.get(url, timeout=5)
            break
        except httpx.TransportError:
            assert time.monotonic() < deadline, "the worker's metrics never answered"
            time.sleep(0.2)
    assert response.status_code == 200
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(response.text) for s in family.samples}


def test_a_workers_crawls_show_on_its_metrics_port(ctx, worker, tmp_path):
    for name in ("north", "south"):
        crawled(ctx, register_sqlite(ctx, tmp_path, name=name, ddl=SHOP))
    with ctx.db.engine.connect() as connection:
        rows = connection.execute(text("select worker, status from jobs where kind = 'crawl'")).all()
    assert [status for _, status in rows] == ["succeeded", "succeeded"]
    assert all(worker_name and int(worker_name.split(":")[1]) != os.getpid() for worker_name, _ in rows)
    samples = _samples(worker)
    crawls = frozenset({"kind": "crawl", "status": "succeeded"}.items())
    assert samples[("catalog_jobs_finished_total", crawls)] == len(rows)
    assert samples[("catalog_job_duration_seconds_count", crawls)] == len(rows)
    (tables,), = oracle(tmp_path / "north.db", "select count(*) from sqlite_master where type in ('table', 'view')")
    assert samples[("catalog_crawl_tables_total", frozenset({"outcome": "created"}.items()))] == 2 * tables
    # dramatiq's own counters, from the same exposition.
    assert sum(v for (name, _), v in samples.items() if name == "dramatiq_messages_total") == len(rows)


def test_the_worker_serves_metrics_on_the_port_its_environment_names(ctx, tmp_path):
    """How Container Apps starts it (infra/bicep): `catalog worker` and settings in the environment only. The
    shutdown timeout of the same environment is what dramatiq is told to wait for its processes."""
    port = free_port()
    env = {"CATALOG_WORKER_METRICS_PORT": str(port), "CATALOG_SHUTDOWN_TIMEOUT_S": "7"}
    with _running_worker(ctx, tmp_path, [], env) as process:
        crawled(ctx, register_sqlite(ctx, tmp_path, name="north", ddl=SHOP))
        samples = _samples(f"http://127.0.0.1:{port}/metrics")
        # `catalog worker` replaced itself with dramatiq (same process): its command line is dramatiq's.
        command = Path(f"/proc/{process.pid}/cmdline").read_bytes().decode().split("\0")
    assert samples[("catalog_jobs_finished_total", frozenset({"kind": "crawl", "status": "succeeded"}.items()))] == 1
    assert command[command.index("--worker-shutdown-timeout") + 1] == "7000"


def test_a_metrics_port_out_of_range_stops_the_worker_with_the_variable_named(tmp_path):
    env = {**os.environ, "CATALOG_HOME": str(tmp_path), "CATALOG_BROKER_URL": REDIS_URL,
           "CATALOG_WORKER_METRICS_PORT": "70000"}
    result = subprocess.run([sys.executable, "-m", "catalog_api.cli", "worker"], env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2, result.stderr
    assert "CATALOG_WORKER_METRICS_PORT: Input should be less than or equal to 65535" in result.stderr
    assert "Traceback" not in result.stderr
