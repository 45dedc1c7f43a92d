"""`catalog schedule …`: the cron schedules that crawl sources (one per source), listed, set and removed."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table as RichTable

from catalog_api.cli.common import console, reading, service

schedule_app = typer.Typer(help="Cron schedules of crawls (one per source): list, add, remove, resume.",
                           no_args_is_help=True)


def _when(moment) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC" if moment else ""


def _described(source) -> str:
    schedule = source.schedule
    if schedule.paused_at:
        return f"paused since {_when(schedule.paused_at)}: {schedule.paused_reason}"
    return f"next run {_when(schedule.next_run_at)}"


@schedule_app.command("list")
def schedule_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print the schedules as JSON (for scripts).")] = False,
) -> None:
    """Sources with a crawl schedule: the cron expression, its time zone, the next run or why it is paused."""
    from catalog_api.services.source_lookup import list_sources

    with reading() as session:
        scheduled = [s for s in list_sources(session) if s.schedule.cron]
    if as_json:
        print(json.dumps([{"source": s.name, "job": "crawl", "cron": s.schedule.cron, "timezone": s.schedule.timezone,
                           "next_run_at": s.schedule.next_run_at and s.schedule.next_run_at.isoformat(),
                           "paused_at": s.schedule.paused_at and s.schedule.paused_at.isoformat(),
                           "paused_reason": s.schedule.paused_reason,
                           "consecutive_failures": s.schedule.consecutive_failures} for s in scheduled]))
        return
    if not scheduled:
        console.print("no schedules; `catalog schedule add SOURCE CRON` adds one")
        return
    table = RichTable("source", "job", "cron", "time zone", "next run", "failures", "paused")
    for s in scheduled:
        table.add_row(escape(s.name), "crawl", s.schedule.cron, s.schedule.timezone, _when(s.schedule.next_run_at),
                      str(s.schedule.consecutive_failures), escape(s.schedule.paused_reason or ""))
    console.print(table)


@schedule_app.command("add")
def schedule_add(
    source: Annotated[str, typer.Argument(help="Source name or id.")],
    cron: Annotated[str, typer.Argument(help="Five-field cron expression, e.g. '0 2 * * *' (quote it).")],
    timezone: Annotated[str, typer.Option("--timezone", "--tz", help="IANA time zone the expression is read in.")
                        ] = "UTC",
) -> None:
    """Crawl a source on a cron schedule; replaces its schedule if it had one (and resumes a paused one)."""
    from catalog_api.services.jobs.schedules import set_schedule

    with service() as ctx:
        updated = set_schedule(ctx, source, cron, timezone)
    console.print(f"crawl of [bold]{escape(updated.name)}[/bold] scheduled at '{updated.schedule.cron}' "
                  f"({updated.schedule.timezone}); {_described(updated)}")


@schedule_app.command("remove")
def schedule_remove(source: Annotated[str, typer.Argument(help="Source name or id.")]) -> None:
    """Stop crawling a source on a schedule (crawls on request still work)."""
    from catalog_api.services.jobs.schedules import set_schedule

    with service() as ctx:
        updated = set_schedule(ctx, source, None)
    console.print(f"[bold]{escape(updated.name)}[/bold] has no crawl schedule now")


@schedule_app.command("resume")
def schedule_resume(source: Annotated[str, typer.Argument(help="Source name or id.")]) -> None:
    """Resume a schedule paused after consecutive failed crawls, from the next slot after now."""
    from catalog_api.services.jobs.schedules import resume_schedule

    with service() as ctx:
        updated = resume_schedule(ctx, source)
    console.print(f"crawl of [bold]{escape(updated.name)}[/bold]: {_described(updated)}")
