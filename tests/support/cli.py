"""Reading what `catalog` commands print and what they left in the catalog database (the CLI tests' oracle)."""

from __future__ import annotations

import json

from sqlalchemy import text


def rows(ctx, sql: str, **params) -> list[tuple]:
    """The catalog database's own answer to `sql`, not a service's."""
    with ctx.db.session() as session:
        return [tuple(row) for row in session.execute(text(sql), params)]


def last_event(ctx, event_type: str) -> dict:
    ((event,),) = rows(ctx, "select event from event_outbox where type = :type order by id desc limit 1",
                       type=event_type)
    return json.loads(event)


def table_rows(output: str) -> list[list[str]]:
    """The cells of each body row of a rich table printed with box characters."""
    return [[cell.strip() for cell in line.strip().strip("│").split("│")] for line in output.splitlines()
            if line.startswith("│")]


def imported_modules(importtime_log: str) -> set[str]:
    """The modules a process imported, from what `-X importtime` (PYTHONPROFILEIMPORTTIME=1) wrote to its stderr:
    the interpreter's own record, one line per module."""
    return {line.split("|")[2].strip() for line in importtime_log.splitlines()
            if line.startswith("import time:") and "imported package" not in line}


def imported_packages(importtime_log: str) -> set[str]:
    """The top-level packages a process imported (see `imported_modules`)."""
    return {module.split(".")[0] for module in imported_modules(importtime_log)}
