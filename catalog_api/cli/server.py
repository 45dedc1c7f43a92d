"""Long-running commands and the catalog's own database: serve, worker, scheduler, relay, db upgrade/prune."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer

from catalog_api.cli.common import console, errors, get_settings, service, start_up_done, wait_for_signal

if TYPE_CHECKING:
    from catalog_api.observability.tracing import ServiceName

db_app = typer.Typer(help="The catalog's own database.", no_args_is_help=True)


def _server_logging(service: ServiceName | None = None) -> Callable[[str], None]:
    """Sets up the log of a long-running command (`catalog_api.observability.logs`) and, for a `service`, its traces
    (`catalog_api.observability.tracing`: on when the environment names an exporter); returns how it announces that
    it runs: the console line a person reads, or in JSON mode the same words as a JSON line, so every line parses."""
    from catalog_api.observability.logs import announcement, configure_logging
    from catalog_api.observability.tracing import configure_tracing

    settings = get_settings()
    chosen = configure_logging(settings.log_format, settings.log_level)
    if service is not None:
        configure_tracing(service)
    if chosen == "json":
        return lambda markup: print(announcement(markup), flush=True)
    return console.print


def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind (default CATALOG_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default CATALOG_PORT).")] = None,
) -> None:
    """Run the service: the web UI at /ui, GraphQL at /graphql, REST under /api/v1, OpenAPI at /docs."""
    from catalog_api.app import create_app
    from catalog_api.services.authentication import UnsafeExposure, check_exposure
    from catalog_api.web.server import run_server, run_workers

    announce = _server_logging("catalog-api")
    settings = get_settings()
    host, port = host or settings.host, port or settings.port
    settings = settings.model_copy(update={"host": host, "port": port})
    workers = settings.effective_web_workers
    try:
        if workers > 1:
            check_exposure(settings)
        else:
            app_ = create_app(settings)
    except UnsafeExposure as exc:
        errors.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    start_up_done()
    base = f"http://{host}:{port}"
    announce(f"Catalog at [bold]{base}/ui[/bold] (the web UI), GraphiQL at {base}/graphql, OpenAPI at {base}/docs, "
             f"REST under {base}/api/v1" + (f"; {workers} worker processes" if workers > 1 else ""))
    # SIGTERM: a bounded, graceful stop (docs/operations.md)
    if workers > 1:
        from catalog_api.bootstrap import build_context

        ctx = build_context(settings)  # migrates the database once, before any worker starts
        try:
            run_workers(ctx, settings, host=host, port=port, workers=workers)
        finally:
            ctx.close()
    else:
        run_server(app_, settings, host=host, port=port)


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target revision.")] = "head") -> None:
    """Migrate the catalog database to the latest (or the given) revision."""
    from catalog_api.db.migrate import upgrade

    settings = get_settings()
    start_up_done()  # a migration of a large catalog may work for long
    upgrade(settings.effective_database_url, revision)
    console.print(f"catalog database at revision {revision}")


@db_app.command("prune")
def db_prune(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Count what would be pruned; delete nothing.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the counts as JSON only.")] = False,
) -> None:
    """Delete sent events, finished jobs and webhook deliveries older than their retention settings, in batches."""
    import json

    from rich.table import Table as RichTable

    from catalog_api.services.retention import prune

    with service() as ctx:
        pruned = prune(ctx, dry_run=dry_run)
    if as_json:
        print(json.dumps({"dry_run": dry_run, "kinds": [
            {"kind": p.kind, "keep_days": p.keep_days, "cutoff": p.cutoff.isoformat() if p.cutoff else None,
             "rows": p.rows} for p in pruned]}))
        return
    summary = RichTable("kind", "kept for", "older than", "would prune" if dry_run else "pruned",
                        title="retention (dry run)" if dry_run else "retention")
    for p in pruned:
        kept = "forever" if p.keep_days is None else f"{p.keep_days:g} days"
        summary.add_row(p.kind, kept, p.cutoff.isoformat(timespec="seconds") if p.cutoff else "", str(p.rows))
    console.print(summary)


def worker(
    processes: Annotated[int, typer.Option(help="Worker processes.")] = 1,
    threads: Annotated[int, typer.Option(help="Threads per process (jobs at once per process).")] = 4,
    queues: Annotated[list[str], typer.Option("--queue", help="Only these queues (default: all).")] = [],  # noqa: B006
    poll_ms: Annotated[int, typer.Option(help="Longest wait between polls of an idle queue, in ms.")] = 100,
    metrics_port: Annotated[int | None, typer.Option(
        min=0, max=65535, help="Serve the workers' Prometheus metrics on this port (default: "
        "CATALOG_WORKER_METRICS_PORT; 0: none).")] = None,
) -> None:
    """Run a dramatiq worker for the broker in CATALOG_BROKER_URL (Redis or RabbitMQ)."""
    import os
    import sys

    if not get_settings().broker_url:
        errors.print("[red]error:[/red] set CATALOG_BROKER_URL (redis://… or amqp://…) to run workers; without "
                     "a broker `catalog serve` runs jobs itself")
        raise typer.Exit(code=2)
    # dramatiq's command line, logging in the catalog's format (CATALOG_LOG_FORMAT) from its first line.
    args = [sys.executable, "-m", "catalog_api.observability.worker_logs", "catalog_api.worker",
            "--processes", str(processes), "--threads", str(threads),
            "--worker-shutdown-timeout", str(int(get_settings().shutdown_timeout_s * 1000))]
    if queues:
        args += ["--queues", *queues]
    # dramatiq idles up to a second between polls when its queues look empty; a crawl should start at once.
    os.environ.setdefault("dramatiq_worker_timeout", str(poll_ms))
    port = get_settings().worker_metrics_port if metrics_port is None else metrics_port
    if port:
        from catalog_api.observability.worker import prepare_worker_metrics

        prepare_worker_metrics(get_settings().home, port)
    # Replace this process so signals (SIGTERM for a graceful stop) reach dramatiq directly.
    os.execv(sys.executable, args)


def scheduler(
    interval: Annotated[float | None, typer.Option(help="Seconds between looks for due schedules.")] = None,
) -> None:
    """Fire due crawl schedules and prune old operational rows. Safe on several machines: each slot fires once."""
    from catalog_api.services.jobs.schedules import Scheduler

    announce = _server_logging("catalog-scheduler")
    with service(quiet_logs=False) as ctx:
        running = Scheduler(ctx, interval).start()
        wait_for_signal(f"scheduler running every {interval or ctx.settings.scheduler_interval_s:g} s", announce)
        running.stop()


def relay() -> None:
    """Publish the event outbox without serving the API (JSON Lines, webhooks, Event Hubs).

    `catalog serve` runs a relay itself; run this one when the servers set CATALOG_EVENTS_RELAY_ENABLED=false.
    One relay leads per catalog; the others wait and take over. Live GraphQL/SSE feeds are served only by the
    process whose relay leads. SIGTERM (or Ctrl-C) stops it once the batch in flight is recorded; after a crash, a
    restarted relay sends at most that batch again (CATALOG_EVENTS_RELAY_COMMIT_SIZE events).
    """
    from catalog_api.services.events.relay import Relay

    announce = _server_logging()
    with service(quiet_logs=False) as ctx:
        running = Relay(ctx).start()
        wait_for_signal("relay running; Ctrl-C stops it", announce)
        running.close()


