"""The commands that run a job on a source: crawl, extract, profile."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table as RichTable

from catalog_api.cli.common import console, follow, service, track


def crawl(
    source: Annotated[str, typer.Argument(help="Source name or id.")],
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="Follow the job with a progress bar.")] = True,
) -> None:
    """Crawl a source: discover its schema and record every change."""
    from catalog_api.services.crawl import request_crawl

    with service() as ctx:
        job = request_crawl(ctx, source)
        console.print(f"crawl job {job.id}")
        if wait:
            follow(ctx, job.id)


def extract(
    source: Annotated[str, typer.Argument(help="Source name or id.")],
    table: Annotated[list[str], typer.Option("--table", help="Only this table URN (repeatable).")] = [],  # noqa: B006
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="Follow the job with a progress bar.")] = True,
) -> None:
    """Extract the source's new rows into the lake as Parquet (incrementally, per table)."""
    from catalog_api.services.extraction import request_extract

    with service() as ctx:
        job = request_extract(ctx, source, table or None)
        console.print(f"extract job {job.id}")
        if wait:
            follow(ctx, job.id)


TABLE_URN_PREFIX = "urn:catalog:dataset:"


def profile(
    source_or_table: Annotated[str, typer.Argument(
        help="Source name or id, or a table URN (urn:catalog:dataset:…).")],
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="Follow the job with a progress bar.")] = True,
) -> None:
    """Profile a source's tables (or one table) with Spark: statistics, keys, anomalies, PII tags, HTML report."""
    from catalog_api.services.profiling import request_profile, request_table_profile

    with service() as ctx:
        if source_or_table.startswith(TABLE_URN_PREFIX):
            job = request_table_profile(ctx, source_or_table)
        else:
            job = request_profile(ctx, source_or_table)
        console.print(f"profile job {job.id}")
        if not wait:
            return
        done = track(ctx, job.id)
    summary = RichTable("table", "rows", "columns", "anomalies", "read from", title="profile succeeded")
    for table in (done.result or {}).get("tables", []):
        summary.add_row(_table_label(table["urn"]), str(table["rows"]), str(table["columns"]),
                        str(table["anomalies"]), table["read_from"])
    console.print(summary)


def _table_label(urn: str) -> str:
    """`schema.table` of a dataset URN, the way a user names the table (the URN itself is long)."""
    from catalog_api.urns import parse_urn

    return ".".join(parse_urn(urn).names[-2:])


