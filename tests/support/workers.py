"""A catalog on PostgreSQL with an API client and, for broker runtimes, real `catalog worker` subprocesses on the
local Redis or RabbitMQ. Each runtime has its own catalog database and, on Redis, its own key namespace, so tests
running at the same time (other sessions, other helpers) never see each other's messages."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

from fastapi.testclient import TestClient

from catalog_api.app import create_app
from catalog_api.bootstrap import build_context
from catalog_api.settings import Settings
from tests.support.api import API_HEADERS
from tests.support.postgres import PG_HOST, PG_PORT, PG_USER, pg_admin_connection, service_missing

BROKERS = {"redis": "redis://127.0.0.1:6379/9", "rabbitmq": "amqp://guest:guest@127.0.0.1:5672/%2F"}


def pg_url(database: str) -> str:
    return f"postgresql+psycopg://{PG_USER}@{PG_HOST}:{PG_PORT}/{database}"


def process_group(pid: int) -> set[int]:
    """The pids of the process group `pid` leads: a `catalog worker` and the dramatiq processes it forked."""
    members = subprocess.run(["pgrep", "-g", str(os.getpgid(pid))], capture_output=True, text=True).stdout
    return {int(p) for p in members.split()}


def worker_pid(job: dict) -> int:
    """The pid in a job's `worker` (`host:pid:thread`)."""
    return int(job["worker"].split(":")[1])


def wait_until_ready(server: subprocess.Popen, url: str, output: Callable[[], str], timeout: float = 60) -> None:
    """Waits until a `catalog serve` subprocess answers /readyz at `url`; fails with its `output` if it exits or
    takes longer than `timeout` seconds."""
    import httpx

    deadline = time.monotonic() + timeout
    while True:
        assert server.poll() is None, f"server exited with {server.returncode}:\n{output()}"
        assert time.monotonic() < deadline, f"server not ready after {timeout:g} s:\n{output()}"
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)


class Runtime:
    """A catalog (PostgreSQL) with an API client and, for broker runtimes, `catalog worker` subprocesses."""

    def __init__(self, name: str, home: Path, database: str, settings: Mapping[str, str]) -> None:
        self.name, self.home, self.database = name, home, database
        self.broker_url = BROKERS.get(name)
        self.namespace = new_namespace()
        overrides = {**settings, "broker_namespace": self.namespace}
        self.env = {
            **os.environ,
            "CATALOG_HOME": str(home),
            "CATALOG_DATABASE_URL": pg_url(database),
            "CATALOG_SECRET_KEY": "jobs-test-key",
            **{f"CATALOG_{k.upper()}": v for k, v in overrides.items()},
        }
        if self.broker_url:
            self.env["CATALOG_BROKER_URL"] = self.broker_url
        self.settings = Settings(home=home, database_url=pg_url(database), secret_key="jobs-test-key",
                                 broker_url=self.broker_url, **overrides)
        self.ctx = build_context(self.settings, migrate=True)
        self.workers: list[subprocess.Popen] = []
        self.client = TestClient(create_app(ctx=self.ctx), headers=API_HEADERS)

    def start_worker(self, *args: str) -> subprocess.Popen | None:
        if not self.broker_url:
            return None
        log = open(self.log_path(len(self.workers)), "w")  # noqa: SIM115 - closed with the process
        worker = subprocess.Popen([sys.executable, "-m", "catalog_api.cli", "worker", "--threads", "2", *args],
                                  env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.workers.append(worker)
        return worker

    def start_server(self, port: int) -> subprocess.Popen:
        """`catalog serve` on `port` over this runtime's catalog (it runs the jobs itself without a broker); waits
        until it answers /readyz."""
        log = open(self.log_path(len(self.workers)), "w")  # noqa: SIM115 - closed with the process
        server = subprocess.Popen([sys.executable, "-m", "catalog_api.cli", "serve", "--port", str(port)],
                                  env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.workers.append(server)
        wait_until_ready(server, f"http://127.0.0.1:{port}", lambda: self.output(server))
        return server

    def log_path(self, index: int) -> Path:
        return self.home / f"worker-{index}.log"

    def output(self, process: subprocess.Popen) -> str:
        """What a worker or server started by this runtime printed so far."""
        return self.log_path(self.workers.index(process)).read_text()

    def wait_until_ready(self, worker: subprocess.Popen, timeout: float = 60) -> None:
        """Waits until the worker's processes consume their queues (dramatiq logs it once they do)."""
        log = self.log_path(self.workers.index(worker))
        deadline = time.monotonic() + timeout
        while "Worker process is ready for action" not in log.read_text():
            assert worker.poll() is None, f"worker exited with {worker.returncode}:\n{log.read_text()}"
            assert time.monotonic() < deadline, f"worker not ready after {timeout:g} s:\n{log.read_text()}"
            time.sleep(0.1)

    def kill(self, worker: subprocess.Popen) -> None:
        os.killpg(worker.pid, signal.SIGKILL)  # the whole dramatiq process group, as a machine crash would
        worker.wait()

    def close(self) -> None:
        for worker in self.workers:
            if worker.poll() is None:
                os.killpg(worker.pid, signal.SIGTERM)
                try:
                    worker.wait(10)
                except subprocess.TimeoutExpired:
                    self.kill(worker)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(worker.pid, signal.SIGKILL)  # children the main process left behind
        self.client.close()
        self.ctx.close()
        if self.broker_url and self.broker_url.startswith("redis://"):
            drop_namespace(self.namespace)


def stop_within(process: subprocess.Popen, seconds: float) -> tuple[int, float]:
    """Sends SIGTERM to `process` alone (as Docker and Kubernetes signal a container's first process) and waits at
    most `seconds` for it to exit; returns its exit status and how long it took."""
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    try:
        status = process.wait(seconds)
    except subprocess.TimeoutExpired:
        took = time.monotonic() - started
        raise AssertionError(f"still running {took:.1f} s after SIGTERM") from None
    return status, time.monotonic() - started


def jvm_pids(pid: int) -> set[int]:
    """The Java processes in the process group `pid` leads, or led (started with `start_new_session`, its pid is
    its group's id): the Spark drivers a `catalog` process started, still there even if it has exited."""
    members = subprocess.run(["pgrep", "-g", str(pid)], capture_output=True, text=True).stdout
    found = set()
    for member in map(int, members.split()):
        with contextlib.suppress(OSError):
            if Path(f"/proc/{member}/comm").read_text().strip() == "java":
                found.add(member)
    return found


def new_namespace() -> str:
    """A Redis key prefix (`broker_namespace`) no other test run uses."""
    return f"catalog-test-{uuid.uuid4().hex[:12]}"


def queued_messages(namespace: str, queue: str) -> int:
    """How many messages wait in a queue of the Redis broker under `namespace` (dramatiq keeps a list per queue)."""
    import redis

    with redis.Redis.from_url(BROKERS["redis"]) as client:
        return client.llen(f"{namespace}:{queue}")


def drop_namespace(namespace: str) -> None:
    """Deletes every Redis key of the broker under `namespace`: queues, messages, acknowledgements, heartbeats."""
    import redis

    with redis.Redis.from_url(BROKERS["redis"]) as client:
        keys = list(client.scan_iter(match=f"{namespace}:*", count=1000))
        if keys:
            client.delete(*keys)


def check_broker(name: str) -> None:
    """Skips the test (fails it under CI=true) when the broker is not reachable."""
    from catalog_api.services.jobs.broker import create_broker

    try:
        broker = create_broker(Settings(broker_url=BROKERS[name]))
        broker.declare_queue("default")
        broker.close()
    except Exception as error:  # any failure to reach the broker
        service_missing(name, error)


@contextlib.contextmanager
def runtime(name: str, home: Path, settings: Mapping[str, str]) -> Iterator[Runtime]:
    """A runtime (`in-process`, `redis` or `rabbitmq`) on a fresh catalog database, dropped afterwards."""
    if name in BROKERS:
        check_broker(name)
    database = f"cat_jobs_{uuid.uuid4().hex[:10]}"
    with pg_admin_connection() as admin:
        admin.execute(f'create database "{database}"')
    try:
        running = Runtime(name, home, database, settings)
        try:
            yield running
        finally:
            running.close()
    finally:
        with pg_admin_connection() as admin:
            admin.execute(f'drop database if exists "{database}" with (force)')
