"""Shared fixtures: real PostgreSQL databases built per test, and a migrated catalog.

A test that needs PostgreSQL skips when the server is missing on a laptop, but fails under `CI=true`.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from tests.support.postgres import PG_HOST, PG_PORT, PG_USER, pg_admin_connection, service_missing
from tests.support.spark import SPARK_CONF, SPARK_DRIVER_MEMORY, SPARK_MASTER


@pytest.fixture(scope="session")
def pg_server() -> dict:
    try:
        with pg_admin_connection() as conn:
            conn.execute("select 1")
    except psycopg.OperationalError as error:
        service_missing("PostgreSQL", error)
    return {"host": PG_HOST, "port": PG_PORT, "user": PG_USER}


@pytest.fixture
def make_pg_database(pg_server: dict) -> Iterator[Callable[..., dict]]:
    """Creates empty databases named `cat_test_<random>`; returns a connection config; drops them afterwards."""
    created: list[str] = []

    def make(ddl: str | None = None) -> dict:
        name = f"cat_test_{uuid.uuid4().hex[:12]}"
        with pg_admin_connection() as conn:
            conn.execute(f'create database "{name}"')
        created.append(name)
        config = {"host": pg_server["host"], "port": pg_server["port"], "user": pg_server["user"], "database": name}
        if ddl:
            with psycopg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname=name, autocommit=True) as conn:
                conn.execute(ddl)
        return config

    yield make
    with pg_admin_connection() as conn:
        for name in created:
            conn.execute(f'drop database if exists "{name}" with (force)')


# -- the catalog itself -----------------------------------------------------------------------------------------

@pytest.fixture
def catalog_settings(tmp_path):
    from catalog_api.settings import Settings

    return Settings(
        home=tmp_path / "home", secret_key="test-secret-key-not-for-production", job_workers=2,
        file_roots=[tmp_path],  # sources' files live in the test's folder (its `home` stays refused)
        # Retries keep their shape (exponential, jittered, bounded) but in tenths of seconds, so tests stay quick.
        job_retry_min_backoff_s=0.05, job_retry_max_backoff_s=0.2, job_max_attempts=3,
        job_heartbeat_interval_s=0.2, job_stale_after_s=2.0, scheduler_enabled=False, broker_url=None,
        spark_master=SPARK_MASTER, spark_driver_memory=SPARK_DRIVER_MEMORY, spark_conf=dict(SPARK_CONF),
        profile_sample_rows=2000,
    )


@pytest.fixture
def catalog_ctx(catalog_settings):
    """A service context on a freshly migrated SQLite catalog in a temporary folder."""
    from catalog_api.bootstrap import build_context

    ctx = build_context(catalog_settings, migrate=True)
    yield ctx
    ctx.close()


@pytest.fixture
def api_client(catalog_ctx):
    """An HTTP client on the real FastAPI application (REST and GraphQL) over `catalog_ctx`."""
    from fastapi.testclient import TestClient

    from catalog_api.app import create_app
    from tests.support.api import API_HEADERS

    with TestClient(create_app(ctx=catalog_ctx), headers=API_HEADERS) as client:
        yield client


@pytest.fixture
def pg_catalog_url(make_pg_database) -> str:
    """The URL of an empty PostgreSQL database to hold a catalog (not yet migrated)."""
    config = make_pg_database()
    return f"postgresql+psycopg://{config['user']}@{config['host']}:{config['port']}/{config['database']}"


@pytest.fixture(scope="session")
def pg_password_server() -> Iterator[dict]:
    """A throw-away PostgreSQL cluster that demands a password (scram-sha-256), for wrong-password tests.

    The machine's own server trusts local connections, so it cannot tell a right password from a wrong one.
    """
    import glob
    import shutil
    import socket
    import subprocess
    import tempfile

    binaries = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    initdb = shutil.which("initdb") or (binaries[-1] if binaries else None)
    if initdb is None:
        service_missing("PostgreSQL server binaries (initdb)", RuntimeError("initdb not found"))
    pg_ctl = str(Path(initdb).with_name("pg_ctl"))
    # Not under pytest's tmp folder: its parents are private to root, and the server runs as `postgres`.
    base = Path(tempfile.mkdtemp(prefix="catalog-pgpw-"))
    data, password = base / "data", "correct-horse-battery"
    (base / "pw").write_text(password)
    as_user: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        shutil.chown(base, "postgres")
        shutil.chown(base / "pw", "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    subprocess.run([*as_user, initdb, "-D", str(data), "-U", "owner", "--auth=scram-sha-256",
                    f"--pwfile={base / 'pw'}"], check=True, capture_output=True)
    options = f"-p {port} -k {base} -c listen_addresses=127.0.0.1"
    subprocess.run([*as_user, pg_ctl, "-D", str(data), "-o", options, "-w", "-l", str(base / "log"), "start"],
                   check=True, capture_output=True)
    try:
        yield {"host": "127.0.0.1", "port": port, "user": "owner", "database": "postgres", "password": password}
    finally:
        subprocess.run([*as_user, pg_ctl, "-D", str(data), "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


# -- Spark --------------------------------------------------------------------------------------------------------

# Tests and the catalog's profile jobs share one Spark session (one per process; starting one costs ~6 s): the
# catalog settings above ask for exactly this configuration, so a job reuses the session the fixture started.
def _java_missing(error: Exception) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"a Java runtime is required under CI=true: {error}")
    pytest.skip(f"no Java runtime for Spark: {error}")


@pytest.fixture(scope="session")
def spark() -> Iterator[object]:
    """The process's Spark session; without a Java runtime the test skips, except under `CI=true`."""
    from profiler.errors import ProfilerUnavailable
    from profiler.session import SparkConfig, get_spark, stop_spark

    try:
        session = get_spark(SparkConfig(master=SPARK_MASTER, driver_memory=SPARK_DRIVER_MEMORY,
                                        extra_conf=dict(SPARK_CONF)))
    except ProfilerUnavailable as error:
        _java_missing(error)
    yield session
    stop_spark()


@pytest.fixture(scope="session")
def spark_cluster(tmp_path_factory) -> Iterator[object]:
    """A real Spark standalone master and worker (1 core, 1 GB) for the whole session, ended afterwards with every
    executor it started; without a Java runtime the test skips, except under `CI=true`."""
    from profiler.errors import ProfilerUnavailable
    from profiler.session import find_java
    from tests.support.spark_cluster import spark_cluster

    try:
        find_java()
    except ProfilerUnavailable as error:
        _java_missing(error)
    with spark_cluster(tmp_path_factory.mktemp("spark-cluster")) as cluster:
        yield cluster


# -- Azure Key Vault ----------------------------------------------------------------------------------------------

_AZURE_IDENTITY_ENV = ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE_PATH",
                       "AZURE_USERNAME", "AZURE_FEDERATED_TOKEN_FILE", "AZURE_TOKEN_CREDENTIALS", "MSI_ENDPOINT",
                       "MSI_SECRET", "IDENTITY_SERVER_THUMBPRINT", "IMDS_ENDPOINT")


@pytest.fixture
def key_vault(tmp_path, monkeypatch):
    """A local Key Vault over HTTPS (tests/support/keyvault.py) and a managed-identity endpoint that
    `DefaultAzureCredential` finds through the environment, as on App Service."""
    from tests.support.keyvault import IDENTITY_HEADER, fake_key_vault

    for name in _AZURE_IDENTITY_ENV:
        monkeypatch.delenv(name, raising=False)
    with fake_key_vault(tmp_path) as vault:
        monkeypatch.setenv("IDENTITY_ENDPOINT", vault.identity_endpoint)
        monkeypatch.setenv("IDENTITY_HEADER", IDENTITY_HEADER)
        yield vault
