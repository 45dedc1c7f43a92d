"""`catalog search TEXT`: tables and columns whose name, description or comment holds the text."""

from __future__ import annotations

import dataclasses
import json
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table as RichTable

from catalog_api.cli.common import console, service


def search(
    text: Annotated[str, typer.Argument(help="Text to find (case-insensitive) in names, descriptions and comments.")],
    limit: Annotated[int, typer.Option(help="At most this many matches (1 to 500).")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print the matches as a JSON array (for scripts).")] = False,
) -> None:
    """Find tables and columns: names first, then descriptions and comments."""
    from catalog_api.services.browse import search as find

    with service() as ctx, ctx.db.session() as session:
        hits = find(session, text, limit)
    if as_json:
        print(json.dumps([dataclasses.asdict(hit) for hit in hits]))
        return
    if not hits:
        console.print(f"no table or column matches {escape(repr(text))}")
        return
    table = RichTable("type", "name", "description", "urn", title=f"{len(hits)} matches for {escape(repr(text))}")
    for hit in hits:
        table.add_row(hit.type, escape(hit.name), escape(hit.description or ""), escape(hit.urn))
    console.print(table)
