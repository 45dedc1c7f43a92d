"""`catalog serve` with CATALOG_WEB_WORKERS > 1 (catalog_api/web/server.py `run_workers`): worker processes answer
on one port, what must run once runs once (in their parent), live feeds reach every worker through the PostgreSQL
fan-out, and SIGTERM stops the whole process tree. A real server on a fresh PostgreSQL catalog."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from catalog_api.settings import Settings, available_cores
from tests.support.events import free_port
from tests.support.postgres import throwaway_pg_database
from tests.support.workers import wait_until_ready


def test_several_workers_need_fan_out_so_every_live_feed_sees_every_event():
    with pytest.raises(ValidationError, match="web_workers .* needs events_fanout"):
        Settings(web_workers=2)
    assert Settings(web_workers=2, events_fanout="postgres").effective_web_workers == 2
    assert Settings().effective_web_workers == 1  # one process unless the live feeds can cross processes
    assert Settings(events_fanout="postgres").effective_web_workers == min(available_cores(), 8)


def test_the_default_worker_count_follows_a_container_cpu_quota(tmp_path):
    cpu_max = tmp_path / "cpu.max"
    cores = len(os.sched_getaffinity(0))
    cpu_max.write_text("max 100000\n")
    assert available_cores(cpu_max) == cores
    cpu_max.write_text("50000 100000\n")  # half a core: one process
    assert available_cores(cpu_max) == 1
    cpu_max.write_text(f"{100000 * (cores + 4)} 100000\n")  # a quota above the cores the process may run on
    assert available_cores(cpu_max) == cores
    assert available_cores(tmp_path / "absent") == cores


def _children(pid: int) -> set[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return {int(p) for p in found.split()}


def test_two_workers_serve_one_port_run_the_scheduler_once_and_stop_together(tmp_path):
    source = tmp_path / "sources" / "shop.db"
    source.parent.mkdir()
    sqlite3.connect(source).close()
    with throwaway_pg_database() as database_url:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = {**os.environ, "CATALOG_HOME": str(tmp_path / "home"), "CATALOG_DATABASE_URL": database_url,
               "CATALOG_WEB_WORKERS": "2", "CATALOG_EVENTS_FANOUT": "postgres", "CATALOG_LOG_FORMAT": "json",
               "CATALOG_RATE_LIMIT_PER_S": "0", "CATALOG_SHUTDOWN_TIMEOUT_S": "10",
               "CATALOG_FILE_ROOTS": f'["{source.parent}"]'}
        log = tmp_path / "serve.log"
        with open(log, "w") as out:
            server = subprocess.Popen([sys.executable, "-m", "catalog_api.cli", "serve", "--port", str(port)],
                                      env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_until_ready(server, url, log.read_text, timeout=120)
            workers = _children(server.pid)
            assert len(workers) >= 2, log.read_text()  # the two workers (and multiprocessing's resource tracker)

            with httpx.Client(base_url=url, timeout=30) as http:
                registered = http.post("/graphql", json={
                    "query": "mutation($path: String!) { registerSource(input: {name: \"w\", kind: \"sqlite\", "
                             "config: {path: $path}}) { name } }", "variables": {"path": str(source)}})
                assert registered.json() == {"data": {"registerSource": {"name": "w"}}}, registered.text
                # Any worker answers with what another one wrote: they share the catalog, not a cache.
                for _ in range(6):
                    assert http.post("/graphql", json={"query": "{ sources { totalCount } }"}).json() == {
                        "data": {"sources": {"totalCount": 1}}}

            # The scheduler prunes once at its start: once per server, not once per worker. The first round is
            # waited for (a busy machine may be slow to reach it), then a second one is given a moment to show.
            deadline = time.monotonic() + 60
            while "retention pruned" not in log.read_text():
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
            time.sleep(1)
            assert log.read_text().count("retention pruned") == 1, log.read_text()
        finally:
            began = time.monotonic()
            if server.poll() is None:
                server.send_signal(signal.SIGTERM)  # to the parent only, as a container runtime stops it
            try:
                server.wait(30)
            finally:
                if server.poll() is None:
                    os.killpg(server.pid, signal.SIGKILL)
        assert server.returncode == 0, log.read_text()
        assert time.monotonic() - began < 25
        deadline = time.monotonic() + 5  # the resource tracker leaves once it sees its parent's pipe close
        while (alive := _alive(workers)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not alive, f"outlived the server: {alive}"


def _alive(pids: set[int]) -> dict[int, str]:
    """The command lines of the processes among `pids` that still run (zombies count as gone)."""
    found = {}
    for pid in pids:
        try:
            if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
                found[pid] = Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")[:200]
        except OSError:
            pass
    return found
