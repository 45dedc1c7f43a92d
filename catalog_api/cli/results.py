"""A finished job's result as a person reads it: one rich table per job kind (`--json` prints the raw result)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.table import Table as RichTable

from catalog_api.urns import parse_urn


def table_label(urn: str) -> str:
    """`schema.table` of a dataset URN, the way a user names the table (the URN itself is long)."""
    return ".".join(parse_urn(urn).names[-2:])


def _crawl(result: dict[str, Any]) -> RichTable:
    summary = RichTable("tables", "count", title="crawl succeeded")
    for name in ("created", "changed", "deleted", "unchanged"):
        summary.add_row(name, str(result.get(f"tables_{name}", 0)))
    summary.add_row("changes recorded", str(result.get("changes_recorded", 0)))
    return summary


def _extract(result: dict[str, Any]) -> RichTable:
    caption = f"{result.get('rows', 0)} rows, {result.get('bytes', 0)} bytes into {result.get('lake')}"
    if (backfill := result.get("backfill")) is not None:
        caption += (f"; backfill from {_plain(backfill.get('from')) or 'the first row'}: {backfill['superseded_chunks']} "
                    f"older chunks replaced, {backfill['kept_rows']} of their rows kept")
    summary = RichTable("table", "strategy", "rows", "bytes", "up to", title="extract succeeded", caption=caption)
    for table in result.get("tables", []):
        rows = "unchanged (reused)" if table.get("reused") else str(table["rows"])
        summary.add_row(table_label(table["urn"]), table["strategy"], rows, str(table["bytes"]),
                        _plain(table.get("watermark_to")))
    return summary


def _plain(encoded: Any) -> str:
    """A watermark as stored (`{"type": "datetime", "value": "…"}`, or a bare number or text) as a person reads it."""
    if isinstance(encoded, dict):
        return str(encoded.get("value", ""))
    return "" if encoded is None else str(encoded)


def _profile(result: dict[str, Any]) -> RichTable:
    summary = RichTable("table", "rows", "columns", "anomalies", "read from", title="profile succeeded")
    for table in result.get("tables", []):
        summary.add_row(table_label(table["urn"]), str(table["rows"]), str(table["columns"]),
                        str(table["anomalies"]), table["read_from"])
    return summary


SUMMARIES: dict[str, Callable[[dict[str, Any]], RichTable]] = {"crawl": _crawl, "extract": _extract,
                                                                 "profile": _profile}


def show_result(job: Any, out: Console, *, as_json: bool = False) -> None:
    """The job's result: raw JSON alone on stdout for scripts, else its kind's table (JSON for other kinds)."""
    if as_json:
        print(json.dumps(job.result))
        return
    summarise = SUMMARIES.get(job.kind)
    if summarise is None:
        out.print(f"[green]{job.kind} succeeded[/green]: {json.dumps(job.result)}")
    else:
        out.print(summarise(job.result or {}))
