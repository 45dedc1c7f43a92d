"""HTML reports rendered in a child process, so the caller's process never loads ydata-profiling.

ydata-profiling, and the libraries it pulls in (matplotlib, scipy, statsmodels, ...), stay resident once imported:
about 250 MB in a process that renders one report, for its whole life. A service that profiles therefore stages each
bounded, masked sample as Parquet (`profiler.report.stage_sample`) and hands them all to `render_in_child`, which
runs `python -m profiler.report` on a manifest, bounded in time and address space, and reads back what it wrote.
One child renders every report of a batch, so ydata-profiling's import (seconds) is paid once per batch.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import profiler

STDERR_TAIL = 600
"""The most characters of the child's last error line quoted as a cause."""


@dataclass(frozen=True, slots=True)
class StagedReport:
    """A sample staged for a report: the Parquet file, the report's title, and the columns to mask when rendering
    (the staged file already holds those that were known when it was staged masked)."""

    key: str
    sample: Path
    title: str
    masked_columns: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RenderedInChild:
    """What became of one staged report: its HTML, or the reason there is none."""

    key: str
    html: str | None
    error: str | None


_EXCEPTION_LINE = re.compile(r"^[\w.]+(Error|Exception|Exit)\b")


def _last_error(stderr: Path) -> str:
    """The last exception line of the child's standard error (else its last line), as the cause to quote."""
    lines = stderr.read_text(encoding="utf-8", errors="replace").strip().splitlines() if stderr.exists() else []
    errors = [line for line in lines if _EXCEPTION_LINE.match(line)]
    return (errors or lines or [""])[-1][:STDERR_TAIL]


def _cause(returncode: int | None, timed_out: float | None, memory_mb: int, stderr: Path) -> str:
    if timed_out is not None:
        return f"the report renderer ran past its time limit of {timed_out:g} s and was stopped"
    limit = f" (its memory limit is {memory_mb} MB)" if memory_mb else ""
    if returncode is not None and returncode < 0:
        return f"the report renderer was killed by {signal.Signals(-returncode).name}{limit}"
    error = _last_error(stderr)
    return f"the report renderer exited with status {returncode}{limit}" + (f": {error}" if error else "")


def render_in_child(reports: list[StagedReport], workdir: Path, *, timeout_s: float, memory_mb: int,
                    check: Callable[[], None] = lambda: None, poll_s: float = 0.5) -> list[RenderedInChild]:
    """Renders `reports` in one child process and returns one outcome per report, in order.

    The child may use `memory_mb` of address space (0: unbounded) and `timeout_s` seconds in all; `check` is called
    every `poll_s` while it runs and may raise to stop it (a cancelled job, a stopping process), after which the
    child is killed and the exception propagates. A report the child did not finish gets the child's cause."""
    workdir.mkdir(parents=True, exist_ok=True)
    entries = [{"sample": str(r.sample), "html": str(workdir / f"{i}.html"), "title": r.title,
                "masked_columns": list(r.masked_columns)} for i, r in enumerate(reports)]
    manifest, stderr = workdir / "manifest.json", workdir / "stderr.log"
    manifest.write_text(json.dumps({"reports": entries}), encoding="utf-8")
    # The child imports this very profiler, wherever the parent found it.
    root = str(Path(profiler.__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])),
           "YDATA_PROFILING_NO_ANALYTICS": "True"}
    timed_out: float | None = None
    with stderr.open("wb") as errors:
        child = subprocess.Popen([sys.executable, "-m", "profiler.report", str(manifest), "--memory-mb",
                                  str(memory_mb)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                 stderr=errors, env=env, start_new_session=True)
        deadline = time.monotonic() + timeout_s
        try:
            while True:
                try:
                    child.wait(timeout=poll_s)
                    break
                except subprocess.TimeoutExpired:
                    pass
                if time.monotonic() > deadline:
                    timed_out = timeout_s
                    break
                check()
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
    cause = _cause(child.returncode, timed_out, memory_mb, stderr)
    outcomes = []
    for report, entry in zip(reports, entries, strict=True):
        html, error = Path(entry["html"]), Path(entry["html"]).with_suffix(".error")
        if html.exists():
            outcomes.append(RenderedInChild(report.key, html.read_text(encoding="utf-8"), None))
        elif error.exists():
            outcomes.append(RenderedInChild(report.key, None, error.read_text(encoding="utf-8")))
        else:
            outcomes.append(RenderedInChild(report.key, None, cause))
    return outcomes
