"""Running `catalog` commands as processes, and reading what they print and what they left in the catalog database
(the CLI tests' oracle)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
from sqlalchemy import text


def catalog_env(tmp_path: Path, **settings: str) -> dict[str, str]:
    """The environment of a `catalog` process with its own embedded catalog under `tmp_path`; `settings` add
    `CATALOG_*` variables (`port="8001"`)."""
    env = {**os.environ, "CATALOG_HOME": str(tmp_path / "home"), "CATALOG_SECRET_KEY": "logs-test-key",
           "CATALOG_FILE_ROOTS": json.dumps([str(tmp_path)]), "CATALOG_SCHEDULER_ENABLED": "false",
           **{f"CATALOG_{name.upper()}": value for name, value in settings.items()}}
    for name in ("CATALOG_DATABASE_URL", "CATALOG_BROKER_URL", "CATALOG_LOG_FORMAT"):  # defaults unless given
        if name.lower().removeprefix("catalog_") not in settings:
            env.pop(name, None)
    return env


def stop(process: subprocess.Popen) -> None:
    """SIGTERM to the command, as a container runtime stops it; it stops what it started."""
    process.terminate()
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def wait_until_up(base: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, log.read_text()
        try:
            if httpx.get(f"{base}/healthz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, f"catalog serve did not answer within 60 s:\n{log.read_text()}"
        time.sleep(0.2)


def rows(ctx, sql: str, **params) -> list[tuple]:
    """The catalog database's own answer to `sql`, not a service's."""
    with ctx.db.session() as session:
        return [tuple(row) for row in session.execute(text(sql), params)]


def last_event(ctx, event_type: str) -> dict:
    ((event,),) = rows(ctx, "select event from event_outbox where type = :type order by id desc limit 1",
                       type=event_type)
    return json.loads(event)


def table_rows(output: str) -> list[list[str]]:
    """The cells of each body row of a rich table printed with box characters."""
    return [[cell.strip() for cell in line.strip().strip("│").split("│")] for line in output.splitlines()
            if line.startswith("│")]


def imported_modules(importtime_log: str) -> set[str]:
    """The modules a process imported, from what `-X importtime` (PYTHONPROFILEIMPORTTIME=1) wrote to its stderr:
    the interpreter's own record, one line per module."""
    return {line.split("|")[2].strip() for line in importtime_log.splitlines()
            if line.startswith("import time:") and "imported package" not in line}


def imported_packages(importtime_log: str) -> set[str]:
    """The top-level packages a process imported (see `imported_modules`)."""
    return {module.split(".")[0] for module in imported_modules(importtime_log)}
