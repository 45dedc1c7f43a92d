"""A real Spark standalone cluster on this machine: a master and one worker, started with pyspark's own launcher
(`bin/spark-class` inside the installed package, so no separate Spark download), for tests and benchmarks that
profile through `CATALOG_SPARK_MASTER=spark://…`.

Both daemons run in their own process group with the executors the worker starts, so ending the group ends every
JVM and Python worker of the cluster, whatever state a failed test left it in.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from profiler.session import find_java
from tests.support.events import free_port

DAEMON_MEMORY = "256m"
"""Heap of the master and worker daemons themselves (Spark's default is 1g): they only schedule."""


@dataclass(frozen=True, slots=True)
class SparkCluster:
    master_url: str
    """`spark://127.0.0.1:PORT`, what `CATALOG_SPARK_MASTER` is set to."""
    web_url: str
    """The master's web UI; `/json` there describes workers and applications."""
    worker_pid: int
    """The worker daemon: its child processes are the executors (and their Python workers)."""
    logs: Path

    def state(self) -> dict:
        with urllib.request.urlopen(f"{self.web_url}/json", timeout=5) as response:
            return json.load(response)

    def applications(self) -> list[dict]:
        """Every application the master ran or runs, finished ones included."""
        state = self.state()
        return [*state.get("activeapps", []), *state.get("completedapps", [])]

    def log_tail(self, chars: int = 3000) -> str:
        return "\n".join(f"--- {path.name}\n{path.read_text(errors='replace')[-chars:]}"
                         for path in sorted(self.logs.glob("*.log")))


def spark_class() -> Path:
    import pyspark

    return Path(pyspark.__file__).parent / "bin" / "spark-class"


def cluster_environment(logs: Path) -> dict[str, str]:
    """The daemons' environment: loopback addresses, this interpreter for Python workers, a Java 17+ runtime."""
    env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1", "SPARK_LOG_DIR": str(logs),
           "SPARK_DAEMON_MEMORY": DAEMON_MEMORY, "PYSPARK_PYTHON": sys.executable}
    env.pop("SPARK_HOME", None)  # spark-class finds the installed package's own
    java = find_java(env)
    if "JAVA_HOME" not in env and shutil.which("java", path=env.get("PATH")) != str(java):
        env["JAVA_HOME"] = str(java.parent.parent)
    return env


@contextmanager
def spark_cluster(base: Path, *, cores: int = 1, memory: str = "1g", timeout: float = 90) -> Iterator[SparkCluster]:
    """A master and one worker of `cores` and `memory`, up and registered; both (and their executors) are ended when
    the block exits, however it exits. `base` receives the logs and the worker's work folder."""
    logs, work = base / "logs", base / "work"
    logs.mkdir(parents=True, exist_ok=True)
    work.mkdir(parents=True, exist_ok=True)
    env = cluster_environment(logs)
    port, web_port, worker_web_port = free_port(), free_port(), free_port()
    master_url, web_url = f"spark://127.0.0.1:{port}", f"http://127.0.0.1:{web_port}"
    with ExitStack() as stack:
        stack.enter_context(_daemon(env, logs / "master.log", "org.apache.spark.deploy.master.Master",
                                    "--host", "127.0.0.1", "--port", str(port), "--webui-port", str(web_port)))
        worker = stack.enter_context(_daemon(
            env, logs / "worker.log", "org.apache.spark.deploy.worker.Worker", master_url, "--host", "127.0.0.1",
            "--cores", str(cores), "--memory", memory, "--work-dir", str(work), "--webui-port", str(worker_web_port)))
        cluster = SparkCluster(master_url, web_url, worker.pid, logs)
        _wait_for_worker(cluster, worker, timeout)
        yield cluster


@contextmanager
def _daemon(env: dict[str, str], log: Path, main_class: str, *args: str) -> Iterator[subprocess.Popen]:
    with open(log, "ab") as output:
        process = subprocess.Popen([str(spark_class()), main_class, *args], env=env, stdout=output,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        yield process
    finally:
        end_process_group(process)


def end_process_group(process: subprocess.Popen, grace_s: float = 10) -> None:
    """Ends the daemon's whole process group (the JVM spark-class execs into, its executors and their Python
    workers): politely first, then for good."""
    for sig, wait in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 5)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue
        # The group leader is gone; executors it started may still be leaving.
        deadline = time.monotonic() + wait
        while _group_alive(process.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if not _group_alive(process.pid):
            return


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def _wait_for_worker(cluster: SparkCluster, worker: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            raise RuntimeError(f"the Spark worker exited with {worker.returncode}:\n{cluster.log_tail()}")
        try:
            state = cluster.state()
        except (OSError, ValueError):  # not listening yet, or a page served before the master is ready
            state = {}
        if state.get("status") == "ALIVE" and any(w.get("state") == "ALIVE" for w in state.get("workers", [])):
            return
        time.sleep(0.25)
    raise RuntimeError(f"no Spark worker registered within {timeout:.0f} s:\n{cluster.log_tail()}")
