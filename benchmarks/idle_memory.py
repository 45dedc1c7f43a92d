"""Idle memory of a serving process: RSS of `catalog serve` (and of the processes it started: the Spark driver's
JVM and its Python workers) after it profiled the demo on Spark, before and after the idle stop of its Spark session.

Starts a real `catalog serve` on a fresh embedded catalog, registers the demo ERP (catalog_api/demo), crawls it and
profiles every table on Spark (`CATALOG_PROFILE_IN_PROCESS_MAX_CELLS=0`, so a JVM starts whatever the table sizes),
then samples VmRSS from /proc: at start, right after the profile (what stayed resident for good before the idle
stop existed), after the `report` job rendered the HTML reports (in a child process of the server, so
ydata-profiling's libraries leave with it), and once the session stopped after `CATALOG_SPARK_IDLE_STOP_S`.
`--no-reports` runs the same with `CATALOG_PROFILE_REPORTS_ENABLED=false`, for the comparison. The server is
stopped with SIGTERM at the end, and how long that took is printed too.

Target (issue 17, 6): an idle API process stays at or below 400 MB RSS after profiles.
Usage: PYTHONPATH=/path/to/checkout python benchmarks/idle_memory.py [--idle-stop-s 20] [--driver-memory 2g]
       [--no-reports]
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

TARGET_MB = 400


def children(pid: int) -> set[int]:
    """Every descendant of `pid`, from the parent pids in /proc."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            parents.setdefault(ppid, []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def sample(pid: int) -> tuple[float, float, int]:
    """RSS of the process, RSS of it and all its descendants, and how many of those are JVMs."""
    kids = children(pid)
    jvms = sum(1 for k in kids if Path(f"/proc/{k}/comm").exists() and Path(f"/proc/{k}/comm").read_text().strip()
               == "java")
    return rss_mb(pid), rss_mb(pid) + sum(rss_mb(k) for k in kids), jvms


def wait_job(api: httpx.Client, job: dict, timeout: float = 900) -> dict:
    deadline = time.monotonic() + timeout
    while job["status"] in ("queued", "running"):
        if time.monotonic() > deadline:
            raise SystemExit(f"job {job['id']} still {job['status']} after {timeout:g} s")
        time.sleep(0.2)
        job = api.get(f"/api/v1/jobs/{job['id']}").json()
    if job["status"] != "succeeded":
        raise SystemExit(f"job failed: {job['error_code']}: {job['error_message']}")
    return job


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--idle-stop-s", type=float, default=20.0, help="CATALOG_SPARK_IDLE_STOP_S of the server")
    parser.add_argument("--driver-memory", default="2g", help="CATALOG_SPARK_DRIVER_MEMORY (the default is 2g)")
    parser.add_argument("--no-reports", action="store_true", help="CATALOG_PROFILE_REPORTS_ENABLED=false")
    args = parser.parse_args()
    from catalog_api.demo.builder import build_demo_database

    with tempfile.TemporaryDirectory(prefix="idle-memory-") as folder:
        root = Path(folder)
        demo = build_demo_database(root / "sources" / "erp.db")
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        env = {**os.environ, "CATALOG_HOME": str(root / "home"), "CATALOG_FILE_ROOTS": f'["{root / "sources"}"]',
               "CATALOG_PROFILE_IN_PROCESS_MAX_CELLS": "0", "CATALOG_SPARK_IDLE_STOP_S": str(args.idle_stop_s),
               "CATALOG_SPARK_DRIVER_MEMORY": args.driver_memory, "CATALOG_SCHEDULER_ENABLED": "false",
               "CATALOG_PROFILE_REPORTS_ENABLED": "false" if args.no_reports else "true"}
        env.pop("CATALOG_DATABASE_URL", None)
        env.pop("CATALOG_BROKER_URL", None)
        log = open(root / "serve.log", "w")  # noqa: SIM115 - closed below
        server = subprocess.Popen([sys.executable, "-m", "catalog_api.cli", "serve", "--port", str(port)], env=env,
                                  stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            # A body-less POST declares JSON, as the cross-site guard asks of requests without credentials.
            api = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60,
                               headers={"Content-Type": "application/json"})
            deadline = time.monotonic() + 120
            while True:
                try:
                    if api.get("/readyz").status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if server.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit((root / "serve.log").read_text())
                time.sleep(0.2)
            started = sample(server.pid)
            source = api.post("/api/v1/sources", json={"name": "erp", "kind": "sqlite", "config": {"path": str(demo)}})
            source.raise_for_status()
            wait_job(api, api.post(f"/api/v1/sources/{source.json()['id']}/crawl").json())
            begun = time.perf_counter()
            profile = wait_job(api, api.post(f"/api/v1/sources/{source.json()['id']}/profile").json())
            profile_s = time.perf_counter() - begun
            profiled = sample(server.pid)
            report_s, reported = None, profiled
            if profile["result"].get("report_job"):
                begun = time.perf_counter()
                wait_job(api, {"id": profile["result"]["report_job"], "status": "queued"})
                report_s, reported = time.perf_counter() - begun, sample(server.pid)
            idle_begun = time.perf_counter()
            while sample(server.pid)[2] and time.perf_counter() - idle_begun < args.idle_stop_s + 120:
                time.sleep(0.5)
            stopped_after = time.perf_counter() - idle_begun
            idle = sample(server.pid)
            stop_begun = time.perf_counter()
            server.send_signal(signal.SIGTERM)
            server.wait(120)
            sigterm_s = time.perf_counter() - stop_begun
        finally:
            if server.poll() is None:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()
            log.close()

    tables = len(profile["result"]["tables"])
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"catalog serve, demo ERP: {tables} tables profiled on Spark in {profile_s:.1f} s "
          f"(driver memory {args.driver_memory}, idle stop after {args.idle_stop_s:g} s; load averages {load})")
    print("HTML reports: " + ("off" if args.no_reports else
                              f"on, rendered by the report job in a child process, {report_s:.1f} s after the profile"))
    print(f"{'moment':<34}{'serve RSS':>12}{'with children':>16}{'JVMs':>6}")
    for name, (own, tree, jvms) in (("started, nothing profiled", started), ("right after the profile", profiled),
                                    ("after the report job", reported),
                                    (f"idle, session stopped ({stopped_after:.0f} s later)", idle)):
        print(f"{name:<34}{own:>9.0f} MB{tree:>13.0f} MB{jvms:>6}")
    verdict = "met" if idle[1] <= TARGET_MB else "NOT met"
    print(f"target: idle RSS (with children) <= {TARGET_MB} MB: {verdict} ({idle[1]:.0f} MB; "
          f"{profiled[1] - idle[1]:.0f} MB released)")
    print(f"SIGTERM to exit: {sigterm_s:.1f} s")


if __name__ == "__main__":
    main()
