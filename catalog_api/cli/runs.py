"""The commands that run a job on a source: crawl, extract, profile."""

from __future__ import annotations

from typing import Annotated

import typer

from catalog_api.cli.common import console, errors, follow, follow_reports, service


def crawl(
    source: Annotated[str, typer.Argument(help="Source name or id.")],
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="Follow the job with a progress bar.")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print only the result, as JSON (for scripts).")] = False,
) -> None:
    """Crawl a source: discover its schema and record every change."""
    from catalog_api.services.crawl import request_crawl

    with service() as ctx:
        job = request_crawl(ctx, source)
        (errors if as_json else console).print(f"crawl job {job.id}")
        if wait:
            follow(ctx, job.id, as_json=as_json)


def extract(
    source: Annotated[str, typer.Argument(help="Source name or id.")],
    table: Annotated[list[str], typer.Option("--table", help="Only this table URN (repeatable).")] = [],  # noqa: B006
    low: Annotated[str | None, typer.Option("--from", help="Backfill the one --table from this value of its plan "
                                                           "column (inclusive).")] = None,
    high: Annotated[str | None, typer.Option("--to", help="Backfill up to this value (exclusive; at most the "
                                                          "table's watermark).")] = None,
    backfill: Annotated[bool, typer.Option("--backfill", help="Backfill the one --table: all of it without "
                                                              "--from/--to.")] = False,
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="Follow the job with a progress bar.")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print only the result, as JSON (for scripts).")] = False,
) -> None:
    """Extract the source's new rows into the lake as Parquet (incrementally, per table); or backfill one table:
    re-extract its rows in [--from, --to), or all of it with --backfill, each row once in the lake."""
    from catalog_api.services.extraction import request_extract

    with service() as ctx:
        if backfill or low is not None or high is not None:
            from catalog_api.errors import InvalidInput
            from catalog_api.services.backfill import request_backfill

            if len(table) != 1:
                raise InvalidInput("table", "a backfill names exactly one --table")
            job = request_backfill(ctx, source, table[0], low, high)
        else:
            job = request_extract(ctx, source, table or None)
        (errors if as_json else console).print(f"extract job {job.id}")
        if wait:
            follow(ctx, job.id, as_json=as_json)


TABLE_URN_PREFIX = "urn:catalog:dataset:"


def profile(
    source_or_table: Annotated[str, typer.Argument(
        help="Source name or id, or a table URN (urn:catalog:dataset:…).")],
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="Follow the job with a progress bar.")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print only the result, as JSON (for scripts).")] = False,
) -> None:
    """Profile a source's tables (or one table) with Spark: statistics, keys, anomalies, PII tags; then the HTML
    reports, rendered by a report job (followed here without a broker; a worker renders them with one)."""
    from catalog_api.services.profiling import request_profile, request_table_profile

    with service() as ctx:
        if source_or_table.startswith(TABLE_URN_PREFIX):
            job = request_table_profile(ctx, source_or_table)
        else:
            job = request_profile(ctx, source_or_table)
        (errors if as_json else console).print(f"profile job {job.id}")
        if wait:
            follow(ctx, job.id, as_json=as_json)
            # Without a broker this process renders the reports before it exits anyway: show it doing so.
            follow_reports(ctx, job.id, wait=ctx.jobs.name == "in-process", as_json=as_json)
