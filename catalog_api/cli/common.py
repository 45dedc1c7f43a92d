"""What every command shares: the consoles, one service context per command, error output, job progress."""

from __future__ import annotations

import atexit
import gc
import json
import logging
import signal
import threading
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
    from sqlalchemy.orm import Session

    from catalog_api.settings import Settings

console = Console()
errors = Console(stderr=True)


def get_settings() -> Settings:
    """The process's settings (`catalog_api.settings.get_settings`), imported on first use: pydantic-settings costs a
    tenth of a second, and `catalog --help` or a mistyped option should not wait for it. An invalid setting ends
    the command with status 2 and one line per variable at fault, instead of a traceback."""
    from pydantic import ValidationError

    from catalog_api.settings import Settings
    from catalog_api.settings import get_settings as read_settings

    try:
        return read_settings()
    except ValidationError as error:
        prefix = Settings.model_config["env_prefix"]
        for problem in error.errors():
            field = ".".join(str(part) for part in problem["loc"]).upper()  # none: a rule across settings
            errors.print(f"[red]error:[/red] {f'{prefix}{field}: ' if field else ''}{problem['msg']}", highlight=False)
        raise typer.Exit(2) from None


def context():
    from catalog_api.bootstrap import build_context

    return build_context(get_settings())


_holding_collector = False


def hold_collector() -> None:
    """Holds the garbage collector off while the command starts, and off the objects of its start-up for good.

    Start-up creates some hundred thousand objects that live as long as the process (the libraries' modules, classes
    and the models); the collector's passes over them while they are imported, and again at exit, cost a short
    command a third of its CPU time (benchmarks/cli_startup.py). The command's own work runs with the collector
    (`start_up_done`); at exit it skips the objects alive then, as the process ends anyway. Only the `catalog`
    entry point calls this: importing the CLI (the tests do) leaves the collector alone.
    """
    global _holding_collector
    gc.disable()
    _holding_collector = True
    atexit.register(gc.freeze)


def start_up_done() -> None:
    """The command has imported and opened what it needs: the collector runs again, over new objects only (the
    start-up's are frozen). Called by `service` and `reading`, and by every command that does not use them before
    it works for long (`serve`, `db upgrade`)."""
    global _holding_collector
    if _holding_collector:
        _holding_collector = False
        gc.freeze()
        gc.enable()


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
            start_up_done()
            try:
                with acting_as(LOCAL_OPERATOR):
                    yield ctx
            finally:
                ctx.close()  # still logging to the file: closing stops in-process jobs, which may log
    except (CatalogError, ConnectorError) as exc:
        raise fail(exc) from None


@contextmanager
def reading() -> Iterator[Session]:
    """A session on the catalog database alone, for a command that only reads it: without the secret store, the job
    runner and the event bus a service context brings, such a command starts at once (benchmarks/cli_startup.py).
    Typed errors become a clear message and exit code 1, as in `service`."""
    from catalog_api.bootstrap import open_database

    try:
        with library_logs_to_file():
            database = open_database(get_settings())
            start_up_done()
            try:
                with database.session() as session:
                    yield session
            finally:
                database.dispose()
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
        # The progress is read no more often than 10 times a second, so that polling does not take the interpreter
        # from a job running in this very process; that job's end wakes the loop at once (`wait_for_attempt_end`).
        # Short pauses at first report a quick job of a broker's worker soon.
        pause = 0.01
        while True:
            ended = ctx.jobs.attempts_ended
            with ctx.db.session() as session:
                job = get_job(session, job_id)
            counts = f"{job.progress_done}/{job.progress_total}" if job.progress_total else ""
            progress.update(task, description=job.progress_message or job.status,
                            completed=job.progress_done, total=job.progress_total or None, counts=counts)
            if JobStatus(job.status).finished:
                break
            ctx.jobs.wait_for_attempt_end(ended, pause)
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


