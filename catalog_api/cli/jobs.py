"""`catalog jobs …`: list, show, follow and cancel jobs."""

from __future__ import annotations

import dataclasses
import json
from typing import Annotated

import typer
from rich.table import Column
from rich.table import Table as RichTable

from catalog_api.cli.common import console, follow, service

jobs_app = typer.Typer(help="Crawl and other jobs: list, follow, cancel.", no_args_is_help=True)


@jobs_app.command("list")
def jobs_list(
    source: Annotated[str | None, typer.Option(help="Only this source (name or id).")] = None,
    status: Annotated[str | None, typer.Option(help="Only this status.")] = None,
    limit: Annotated[int, typer.Option(help="How many.")] = 20,
) -> None:
    """Recent jobs, newest first."""
    from catalog_api.services.jobs import list_jobs, short_job_id
    from catalog_api.services.sources import get_source

    with service() as ctx, ctx.db.session() as session:
        source_id = get_source(session, source).id if source else None
        found = list_jobs(session, source_id=source_id, status=status, limit=limit)
        shown = {j.id: short_job_id(session, j.id) for j in found}
    # Ids unique but short (as git shows commits) and never cut: each can be typed back into `jobs show`.
    table = RichTable(Column("id", no_wrap=True, min_width=max(map(len, shown.values()), default=2)), "kind",
                      "source", Column("status", min_width=9), "attempts", "progress", "created", "error")
    for j in found:
        progress = f"{j.progress_done}/{j.progress_total}" if j.progress_total else ""
        table.add_row(shown[j.id], j.kind, str(j.source_id or ""), j.status, f"{j.attempts}/{j.max_attempts}", progress,
                      j.created_at.strftime("%Y-%m-%d %H:%M:%S"), j.error_code or "")
    console.print(table)


@jobs_app.command("show")
def jobs_show(
    job_id: Annotated[str, typer.Argument(help="Job id, or its first characters.")],
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="Follow it with a progress bar.")] = False,
) -> None:
    """One job; with --wait, a live progress bar until it ends."""
    from catalog_api.services.jobs import get_job, resolve_job_id

    with service() as ctx:
        with ctx.db.session() as session:
            job_id = resolve_job_id(session, job_id)
        if wait:
            follow(ctx, job_id)
            return
        with ctx.db.session() as session:
            job = get_job(session, job_id)
        console.print_json(json.dumps({f.name: None if getattr(job, f.name) is None else str(getattr(job, f.name))
                                       for f in dataclasses.fields(job)}))


@jobs_app.command("cancel")
def jobs_cancel(job_id: Annotated[str, typer.Argument(help="Job id, or its first characters.")]) -> None:
    """Cancel a job: at once when queued, at its next progress report when running."""
    from catalog_api.services.jobs import cancel_job, resolve_job_id

    with service() as ctx:
        with ctx.db.session() as session:
            job_id = resolve_job_id(session, job_id)
        job = cancel_job(ctx, job_id)
    console.print(f"job {job.id}: {job.status}" + (" (cancellation requested)" if job.status == "running" else ""))


