"""What every command shares: the consoles, one service context per command, error output, job progress."""

from __future__ import annotations

import json
import logging
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from catalog_api.cli.results import show_result
from catalog_api.errors import CatalogError, error_payload
from crawlers.errors import ConnectorError

if TYPE_CHECKING:
    from catalog_api.settings import Settings

console = Console()
errors = Console(stderr=True)


def get_settings() -> Settings:
    """The process's settings (`catalog_api.settings.get_settings`), imported on first use: pydantic-settings costs a
    tenth of a second, and `catalog --help` or a mistyped option should not wait for it."""
    from catalog_api.settings import get_settings as read_settings

    return read_settings()


def context():
    from catalog_api.bootstrap import build_context

    return build_context(get_settings())


_log_file: logging.Handler | None = None


@contextmanager
def library_logs_to_file() -> Iterator[Path]:
    """While it lasts, the process's library logs (INFO and up) go to `<home>/logs/cli.log` and not to the console,
    where they would land in the middle of a progress bar: the CLI itself prints what a user must know."""
    global _log_file
    path = (get_settings().log_dir / "cli.log").resolve()
    if _log_file is not None:  # a command inside a command (the demo's crawl): the outer one's file
        yield Path(_log_file.baseFilename)
        return
    root = logging.getLogger()
    level = root.level
    path.parent.mkdir(parents=True, exist_ok=True)
    _log_file = logging.FileHandler(path, encoding="utf-8", delay=True)
    _log_file.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(_log_file)
    root.setLevel(min(level or logging.WARNING, logging.INFO))
    try:
        yield path
    finally:
        root.removeHandler(_log_file)
        root.setLevel(level)
        _log_file.close()
        _log_file = None


@contextmanager
def service(*, quiet_logs: bool = True) -> Iterator[Any]:
    """A service context for one command, acting as the local operator (the owner of the process, as REST and
    GraphQL call a caller without authentication); typed errors become a clear message and exit code 1.

    `quiet_logs` sends library logs to a file (`library_logs_to_file`); long-running commands keep them on the
    console.
    """
    from catalog_api.security.identity import LOCAL_OPERATOR, acting_as

    try:
        with library_logs_to_file() if quiet_logs else nullcontext():
            ctx = context()
            try:
                with acting_as(LOCAL_OPERATOR):
                    yield ctx
            finally:
                ctx.close()  # still logging to the file: closing stops in-process jobs, which may log
    except (CatalogError, ConnectorError) as exc:
        raise fail(exc) from None


def wait_for_signal(ready: str | None = None, announce: Callable[[str], object] | None = None) -> None:
    """Blocks until SIGINT or SIGTERM, so a long-running command can stop its threads cleanly. `ready` is announced
    only once the handlers are in place: a supervisor that signals as soon as it reads it is heard, not fatal."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    if ready is not None and announce is not None:
        announce(ready)
    stop.wait()


def fail(exc: Exception) -> typer.Exit:
    _, body = error_payload(exc)
    # Each problem once as `field: reason`: an InvalidInput's message already starts with its field.
    problems = body.get("problems") or [{"field": body.get("field"), "reason": body["message"]}]
    first, *others = [(f"[bold]{p['field']}[/bold]: " if p["field"] else "") + p["reason"] for p in problems]
    errors.print(f"[red]error ({body['code']}):[/red] {first}")
    for problem in others:
        errors.print(f"  {problem}")
    return typer.Exit(code=1)


def pairs(values: list[str], option: str) -> dict[str, Any]:
    """Parses KEY=VALUE options; a VALUE that is valid JSON (number, list, bool) is taken as such."""
    parsed: dict[str, Any] = {}
    for item in values:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"expected KEY=VALUE, got {item!r}", param_hint=option)
        try:
            parsed[key] = json.loads(raw)
        except json.JSONDecodeError:
            parsed[key] = raw
    return parsed


def track(ctx, job_id: str, out: Console = console) -> Any:
    """Shows a job's progress bar until the job ends and returns it; exits non-zero with its error when it did not
    succeed, so each command only has to summarise a success."""
    from catalog_api.services.jobs import JobStatus, get_job

    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[counts]}"),
                  TimeElapsedColumn(), console=out) as progress:
        task = progress.add_task("queued", total=None, counts="")
        # Short at first, so a quick job is reported as soon as it ends; then no more often than 10 times a second,
        # so that polling does not take the interpreter from a job running in this very process.
        pause = 0.01
        while True:
            with ctx.db.session() as session:
                job = get_job(session, job_id)
            counts = f"{job.progress_done}/{job.progress_total}" if job.progress_total else ""
            progress.update(task, description=job.progress_message or job.status,
                            completed=job.progress_done, total=job.progress_total or None, counts=counts)
            if JobStatus(job.status).finished:
                break
            time.sleep(pause)
            pause = min(pause * 2, 0.1)
    if job.status != JobStatus.SUCCEEDED:
        errors.print(f"[red]{job.kind} {job.status} ({job.error_code}):[/red] {job.error_message}")
        raise typer.Exit(code=1)
    return job


def follow_reports(ctx, profile_job: str, *, wait: bool, as_json: bool = False) -> None:
    """After a profile job: follows the `report` job it queued for its HTML reports when `wait` (a failure is shown,
    but the profiles stand, so the command still succeeds), else names it and leaves it queued. A command's
    in-process runner would run a queued job before exiting: not waiting stops it, leaving the job to the server."""
    from catalog_api.services.jobs import get_job

    with ctx.db.session() as session:
        report_job = (get_job(session, profile_job).result or {}).get("report_job")
    if report_job is None:
        return
    out = errors if as_json else console
    if wait:
        out.print(f"rendering the HTML reports: job {report_job}")
        with suppress(typer.Exit):
            track(ctx, report_job, out)
        return
    out.print(f"HTML reports are rendered in the background by job {report_job}; until then GET …/profile/report "
              "answers 409")
    if ctx.jobs.name == "in-process":
        ctx.in_flight.stop()


def follow(ctx, job_id: str, *, as_json: bool = False) -> None:
    """Shows a job's progress until it ends, then its result; exits non-zero when it fails.

    With `as_json`, stdout holds only the result's JSON: the progress goes to stderr so a script can parse stdout.
    """
    job = track(ctx, job_id, errors if as_json else console)
    show_result(job, console, as_json=as_json)


