"""The `catalog` command line: serve, migrate, register and test sources, crawl, extract, profile, and the demo."""

from __future__ import annotations

import dataclasses
import json
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table as RichTable

from catalog_api.errors import CatalogError, InvalidInput, error_payload
from catalog_api.settings import get_settings
from crawlers.errors import ConnectorError

app = typer.Typer(help="Metadata catalog: register sources, crawl them, browse them through GraphQL and REST.",
                  no_args_is_help=True)
db_app = typer.Typer(help="The catalog's own database.", no_args_is_help=True)
source_app = typer.Typer(help="Register, list and test sources.", no_args_is_help=True)
jobs_app = typer.Typer(help="Crawl and other jobs: list, follow, cancel.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys (CATALOG_AUTH=required): create, list, revoke.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
app.add_typer(db_app, name="db")
app.add_typer(source_app, name="source")
app.add_typer(jobs_app, name="jobs")
console = Console()
errors = Console(stderr=True)

DEMO_SOURCE = "demo_erp"


def _context():
    from catalog_api.bootstrap import build_context

    return build_context(get_settings())


@contextmanager
def _service() -> Iterator[Any]:
    """A service context for one command; typed errors become a clear message and exit code 1."""
    ctx = None
    try:
        ctx = _context()
        yield ctx
    except (CatalogError, ConnectorError) as exc:
        raise _fail(exc) from None
    finally:
        if ctx is not None:
            ctx.close()


def _wait_for_signal() -> None:
    """Blocks until SIGINT or SIGTERM, so a long-running command can stop its threads cleanly."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()


def _fail(exc: Exception) -> typer.Exit:
    _, body = error_payload(exc)
    field = f" [bold]{body['field']}[/bold]:" if body.get("field") else ""
    errors.print(f"[red]error ({body['code']}):{field}[/red] {body['message']}")
    for problem in body.get("problems", [])[1:]:
        errors.print(f"  [bold]{problem['field']}[/bold]: {problem['reason']}")
    return typer.Exit(code=1)


def _pairs(values: list[str], option: str) -> dict[str, Any]:
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


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind (default CATALOG_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default CATALOG_PORT).")] = None,
) -> None:
    """Run the API: GraphQL at /graphql, REST under /api/v1, OpenAPI at /docs."""
    import uvicorn

    from catalog_api.app import create_app
    from catalog_api.services.authentication import UnsafeExposure

    settings = get_settings()
    host, port = host or settings.host, port or settings.port
    settings = settings.model_copy(update={"host": host, "port": port})
    try:
        app_ = create_app(settings)
    except UnsafeExposure as exc:
        errors.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    console.print(f"Catalog at [bold]http://{host}:{port}/graphql[/bold] (REST: /api/v1, OpenAPI: /docs)")
    # The server itself refuses larger WebSocket frames before buffering them (the app's limit applies behind it).
    uvicorn.run(app_, host=host, port=port, log_level="info", ws_max_size=settings.max_request_body_bytes)


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target revision.")] = "head") -> None:
    """Migrate the catalog database to the latest (or the given) revision."""
    from catalog_api.db.migrate import upgrade

    settings = get_settings()
    upgrade(settings.effective_database_url, revision)
    console.print(f"catalog database at revision {revision}")


@source_app.command("add")
def source_add(
    name: Annotated[str, typer.Argument(help="Unique source name; it becomes part of every URN.")],
    kind: Annotated[str, typer.Option("--kind", "-k", help="Connector kind, e.g. postgres or sqlite.")],
    config: Annotated[list[str], typer.Option("--config", "-c", help="KEY=VALUE, repeatable.")] = [],  # noqa: B006
    secret_ref: Annotated[list[str], typer.Option(help="KEY=env:NAME or KEY=keyvault:NAME[/VERSION], repeatable.")] = [],  # noqa: B006
    prompt_secret: Annotated[list[str], typer.Option(help="Ask for the secret KEY without echo.")] = [],  # noqa: B006
    description: Annotated[str | None, typer.Option(help="What this source is.")] = None,
    test: Annotated[bool, typer.Option("--test/--no-test", help="Test the connection before saving.")] = True,
) -> None:
    """Register a source. Credentials are stored only as references or encrypted locally."""
    from catalog_api.services.sources import SourceRegistration, register_source

    secrets = {key: typer.prompt(f"{key}", hide_input=True) for key in prompt_secret}
    registration = SourceRegistration(
        name=name, kind=kind, description=description, config=_pairs(config, "--config"), secrets=secrets,
        secret_refs={k: str(v) for k, v in _pairs(secret_ref, "--secret-ref").items()}, test_connection=test,
    )
    with _service() as ctx:
        source = register_source(ctx, registration)
    console.print(f"registered [bold]{source.name}[/bold] ({source.kind}) as {source.urn}")


@source_app.command("list")
def source_list() -> None:
    """List registered sources."""
    from catalog_api.services.sources import list_sources

    with _service() as ctx, ctx.db.session() as session:
        found = list_sources(session)
    table = RichTable("id", "name", "kind", "last crawled", "urn")
    for s in found:
        table.add_row(str(s.id), s.name, s.kind, str(s.last_crawled_at or "never"), s.urn)
    console.print(table)


@source_app.command("test")
def source_test(source: Annotated[str, typer.Argument(help="Source name or id.")]) -> None:
    """Test a registered source's connection."""
    from catalog_api.services.sources import test_source

    with _service() as ctx:
        result = test_source(ctx, source)
    if result.ok:
        console.print(f"[green]ok[/green]: {result.server} ({result.elapsed_ms:.0f} ms)")
        return
    field = f" {result.error_field}:" if result.error_field else ""
    errors.print(f"[red]failed ({result.error_code}):{field}[/red] {result.error_message}")
    raise typer.Exit(code=1)


def _track(ctx, job_id: str) -> Any:
    """Shows a job's progress bar until the job ends and returns it; exits non-zero with its error when it did not
    succeed, so each command only has to summarise a success."""
    from catalog_api.services.jobs import JobStatus, get_job

    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[counts]}"),
                  TimeElapsedColumn(), console=console) as progress:
        task = progress.add_task("queued", total=None, counts="")
        while True:
            with ctx.db.session() as session:
                job = get_job(session, job_id)
            counts = f"{job.progress_done}/{job.progress_total}" if job.progress_total else ""
            progress.update(task, description=job.progress_message or job.status,
                            completed=job.progress_done, total=job.progress_total or None, counts=counts)
            if JobStatus(job.status).finished:
                break
            time.sleep(0.1)
    if job.status != JobStatus.SUCCEEDED:
        errors.print(f"[red]{job.kind} {job.status} ({job.error_code}):[/red] {job.error_message}")
        raise typer.Exit(code=1)
    return job


def _follow(ctx, job_id: str) -> None:
    """Shows a job's progress until it ends, then its result as JSON; exits non-zero when it fails."""
    job = _track(ctx, job_id)
    console.print(f"[green]{job.kind} succeeded[/green]: {json.dumps(job.result)}")


@app.command()
def crawl(
    source: Annotated[str, typer.Argument(help="Source name or id.")],
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="Follow the job with a progress bar.")] = True,
) -> None:
    """Crawl a source: discover its schema and record every change."""
    from catalog_api.services.crawl import request_crawl

    with _service() as ctx:
        job = request_crawl(ctx, source)
        console.print(f"crawl job {job.id}")
        if wait:
            _follow(ctx, job.id)


@app.command()
def extract(
    source: Annotated[str, typer.Argument(help="Source name or id.")],
    table: Annotated[list[str], typer.Option("--table", help="Only this table URN (repeatable).")] = [],  # noqa: B006
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="Follow the job with a progress bar.")] = True,
) -> None:
    """Extract the source's new rows into the lake as Parquet (incrementally, per table)."""
    from catalog_api.services.extraction import request_extract

    with _service() as ctx:
        job = request_extract(ctx, source, table or None)
        console.print(f"extract job {job.id}")
        if wait:
            _follow(ctx, job.id)


TABLE_URN_PREFIX = "urn:catalog:dataset:"


@app.command()
def profile(
    source_or_table: Annotated[str, typer.Argument(
        help="Source name or id, or a table URN (urn:catalog:dataset:…).")],
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="Follow the job with a progress bar.")] = True,
) -> None:
    """Profile a source's tables (or one table) with Spark: statistics, keys, anomalies, PII tags, HTML report."""
    from catalog_api.services.profiling import request_profile, request_table_profile

    with _service() as ctx:
        if source_or_table.startswith(TABLE_URN_PREFIX):
            job = request_table_profile(ctx, source_or_table)
        else:
            job = request_profile(ctx, source_or_table)
        console.print(f"profile job {job.id}")
        if not wait:
            return
        done = _track(ctx, job.id)
    summary = RichTable("table", "rows", "columns", "anomalies", "read from", title="profile succeeded")
    for table in (done.result or {}).get("tables", []):
        summary.add_row(_table_label(table["urn"]), str(table["rows"]), str(table["columns"]),
                        str(table["anomalies"]), table["read_from"])
    console.print(summary)


def _table_label(urn: str) -> str:
    """`schema.table` of a dataset URN, the way a user names the table (the URN itself is long)."""
    from catalog_api.urns import parse_urn

    return ".".join(parse_urn(urn).names[-2:])


@app.command()
def worker(
    processes: Annotated[int, typer.Option(help="Worker processes.")] = 1,
    threads: Annotated[int, typer.Option(help="Threads per process (jobs at once per process).")] = 4,
    queues: Annotated[list[str], typer.Option("--queue", help="Only these queues (default: all).")] = [],  # noqa: B006
    poll_ms: Annotated[int, typer.Option(help="Longest wait between polls of an idle queue, in ms.")] = 100,
) -> None:
    """Run a dramatiq worker for the broker in CATALOG_BROKER_URL (Redis or RabbitMQ)."""
    import os
    import sys

    if not get_settings().broker_url:
        errors.print("[red]error:[/red] set CATALOG_BROKER_URL (redis://… or amqp://…) to run workers; without "
                     "a broker `catalog serve` runs jobs itself")
        raise typer.Exit(code=2)
    args = [sys.executable, "-m", "dramatiq", "catalog_api.worker", "--processes", str(processes),
            "--threads", str(threads)]
    if queues:
        args += ["--queues", *queues]
    # dramatiq idles up to a second between polls when its queues look empty; a crawl should start at once.
    os.environ.setdefault("dramatiq_worker_timeout", str(poll_ms))
    # Replace this process so signals (SIGTERM for a graceful stop) reach dramatiq directly.
    os.execv(sys.executable, args)


@app.command()
def scheduler(
    interval: Annotated[float | None, typer.Option(help="Seconds between looks for due schedules.")] = None,
) -> None:
    """Fire due crawl schedules. Safe to run on several machines: each slot fires once."""
    from catalog_api.services.jobs.schedules import Scheduler

    with _service() as ctx:
        running = Scheduler(ctx, interval).start()
        console.print(f"scheduler running every {interval or ctx.settings.scheduler_interval_s:g} s")
        _wait_for_signal()
        running.stop()


@app.command()
def relay() -> None:
    """Publish the event outbox without serving the API (JSON Lines, webhooks, Event Hubs).

    `catalog serve` runs a relay itself; run this one when the servers set CATALOG_EVENTS_RELAY_ENABLED=false.
    One relay leads per catalog; the others wait and take over. Live GraphQL/SSE feeds are served only by the
    process whose relay leads.
    """
    from catalog_api.services.events.relay import Relay

    with _service() as ctx:
        running = Relay(ctx).start()
        console.print("relay running; Ctrl-C stops it")
        _wait_for_signal()
        running.close()


@jobs_app.command("list")
def jobs_list(
    source: Annotated[str | None, typer.Option(help="Only this source (name or id).")] = None,
    status: Annotated[str | None, typer.Option(help="Only this status.")] = None,
    limit: Annotated[int, typer.Option(help="How many.")] = 20,
) -> None:
    """Recent jobs, newest first."""
    from catalog_api.services.jobs import list_jobs
    from catalog_api.services.sources import get_source

    with _service() as ctx, ctx.db.session() as session:
        source_id = get_source(session, source).id if source else None
        found = list_jobs(session, source_id=source_id, status=status, limit=limit)
    table = RichTable("id", "kind", "source", "status", "attempts", "progress", "created", "error")
    for j in found:
        progress = f"{j.progress_done}/{j.progress_total}" if j.progress_total else ""
        table.add_row(j.id, j.kind, str(j.source_id or ""), j.status, f"{j.attempts}/{j.max_attempts}", progress,
                      j.created_at.strftime("%Y-%m-%d %H:%M:%S"), j.error_code or "")
    console.print(table)


@jobs_app.command("show")
def jobs_show(
    job_id: Annotated[str, typer.Argument(help="Job id.")],
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="Follow it with a progress bar.")] = False,
) -> None:
    """One job; with --wait, a live progress bar until it ends."""
    from catalog_api.services.jobs import get_job

    with _service() as ctx:
        if wait:
            _follow(ctx, job_id)
            return
        with ctx.db.session() as session:
            job = get_job(session, job_id)
        console.print_json(json.dumps({f.name: None if getattr(job, f.name) is None else str(getattr(job, f.name))
                                       for f in dataclasses.fields(job)}))


@jobs_app.command("cancel")
def jobs_cancel(job_id: Annotated[str, typer.Argument(help="Job id.")]) -> None:
    """Cancel a job: at once when queued, at its next progress report when running."""
    from catalog_api.services.jobs import cancel_job

    with _service() as ctx:
        job = cancel_job(ctx, job_id)
    console.print(f"job {job.id}: {job.status}" + (" (cancellation requested)" if job.status == "running" else ""))


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Option(help="Who or what uses the key; shown in the audit.")],
    role: Annotated[list[str], typer.Option(help="viewer, curator, operator, admin or pii:read (repeatable).")],
    expires_in_days: Annotated[int | None, typer.Option(min=1, help="Days until the key stops working.")] = None,
) -> None:
    """Create an API key and print it once: the catalog keeps only its hash."""
    from datetime import datetime, timedelta, timezone

    from catalog_api.services.api_keys import create_key

    expires = datetime.now(timezone.utc) + timedelta(days=expires_in_days) if expires_in_days else None
    with _service() as ctx:
        created = create_key(ctx, name, role, expires)
    console.print(f"API key [bold]{created.key.id}[/bold] ({created.key.name}: {', '.join(created.key.roles)})"
                  + (f", expires {created.key.expires_at:%Y-%m-%d %H:%M} UTC" if created.key.expires_at else ""))
    console.print("Store it now, it is not shown again:")
    print(created.secret)


@keys_app.command("list")
def keys_list(all_keys: Annotated[bool, typer.Option("--all", help="Include revoked keys.")] = False) -> None:
    """List API keys (never their secrets)."""
    from catalog_api.services.api_keys import list_keys

    with _service() as ctx, ctx.db.session() as session:
        found = list_keys(session, include_revoked=all_keys)
    table = RichTable("id", "name", "roles", "created", "expires", "last used", "revoked")
    for key in found:
        table.add_row(key.id, key.name, ", ".join(key.roles), f"{key.created_at:%Y-%m-%d %H:%M}",
                      *(f"{moment:%Y-%m-%d %H:%M}" if moment else "" for moment in
                        (key.expires_at, key.last_used_at, key.revoked_at)))
    console.print(table)


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[str, typer.Argument(help="The key's id (the part after `cat_`).")]) -> None:
    """Revoke an API key: requests made with it answer 401 from now on."""
    from catalog_api.services.api_keys import revoke_key

    with _service() as ctx:
        key = revoke_key(ctx, key_id)
    console.print(f"API key {key.id} ({key.name}) revoked")


@app.command()
def demo(
    serve_after: Annotated[bool, typer.Option("--serve/--no-serve", help="Serve the API afterwards.")] = True,
    profile_after: Annotated[bool, typer.Option(
        "--profile/--no-profile", help="Profile the tables after the crawl (starts Spark).")] = True,
    host: Annotated[str | None, typer.Option()] = None,
    port: Annotated[int | None, typer.Option()] = None,
) -> None:
    """Build the sample ERP database, register it as `demo_erp`, crawl and profile it, and serve the API.

    The database goes to `demo/erp.db` in the first folder of CATALOG_FILE_ROOTS (default `./sources`): sources may
    only read files there, and never inside the catalog's home.
    """
    from catalog_api.demo.builder import build_demo_database
    from catalog_api.services.crawl import request_crawl
    from catalog_api.services.profiling import request_profile
    from catalog_api.services.sources import (
        SourceRegistration,
        SourceUpdate,
        get_source,
        register_source,
        update_source,
    )

    settings = get_settings()
    if not settings.file_roots:
        raise _fail(InvalidInput("file_roots", "the demo writes its database under the first folder of "
                                               "CATALOG_FILE_ROOTS, which is empty"))
    path = build_demo_database(Path(settings.file_roots[0]).resolve() / "demo" / "erp.db")
    console.print(f"demo ERP database at {path}")
    with _service() as ctx:
        try:
            with ctx.db.session() as session:
                registered = get_source(session, DEMO_SOURCE)
        except CatalogError:
            register_source(ctx, SourceRegistration(
                name=DEMO_SOURCE, kind="sqlite", config={"path": str(path)},
                description="Sample ERP: customers, vendors, items, orders, invoices and payments.",
            ))
        else:
            if registered.config.get("path") != str(path):  # registered by an older demo in the home, say
                update_source(ctx, DEMO_SOURCE, SourceUpdate(config={"path": str(path)}))
        job = request_crawl(ctx, DEMO_SOURCE)
        _follow(ctx, job.id)
        if profile_after:
            _follow(ctx, request_profile(ctx, DEMO_SOURCE).id)
    if serve_after:
        serve(host=host, port=port)


if __name__ == "__main__":  # pragma: no cover
    app()
