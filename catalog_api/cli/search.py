"""`catalog search [TEXT]`: the ranked search of REST and GraphQL (docs/api.md, Search) with its filters."""

from __future__ import annotations

import dataclasses
import json
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table as RichTable

from catalog_api.cli.common import console, reading

MAX_LIMIT = 500
_DEPTH = {"source": 0, "schema": 1, "dataset": 2, "column": 3}


def _values(help_text: str):
    return typer.Option(help=f"{help_text}; repeat for any of several.")


def search(
    text: Annotated[str | None, typer.Argument(help="Words to find (each as a prefix) in names, descriptions, "
                                                    "comments, tags, owners, glossary terms and domains; none: the "
                                                    "filters alone select.")] = None,
    kind: Annotated[list[str] | None, _values("Only this kind: source, schema, table, view, ..., column")] = None,
    source: Annotated[list[str] | None, _values("Only in the source of this name")] = None,
    schema: Annotated[list[str] | None, _values("Only in a schema of this name")] = None,
    tag: Annotated[list[str] | None, _values("Only entities with this tag")] = None,
    owner: Annotated[list[str] | None, _values("Only entities this principal owns")] = None,
    term: Annotated[list[str] | None, _values("Only entities linked to the glossary term of this name")] = None,
    domain: Annotated[list[str] | None, _values("Only sources and datasets in the domain of this name")] = None,
    pii: Annotated[bool | None, typer.Option("--pii/--no-pii", help="Only entities that hold PII, or do not.")] = None,
    limit: Annotated[int, typer.Option(help=f"At most this many hits (1 to {MAX_LIMIT}).")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print {total, total_exact, hits, facets} as JSON (for "
                                                         "scripts).")] = False,
) -> None:
    """Ranked search over sources, schemas, tables and columns: best matches first, with the total count."""
    from catalog_api.errors import InvalidInput
    from catalog_api.services.search.query import MAX_PAGE, SearchFilters, SearchRequest
    from catalog_api.services.search.query import search as ranked

    filters = SearchFilters(kind=tuple(kind or ()), source=tuple(source or ()), schema=tuple(schema or ()),
                            tag=tuple(tag or ()), owner=tuple(owner or ()), term=tuple(term or ()),
                            domain=tuple(domain or ()), has_pii=pii)
    with reading() as session:
        if not 1 <= limit <= MAX_LIMIT:
            raise InvalidInput("limit", f"1 to {MAX_LIMIT} hits")
        hits, after = [], None
        while True:  # pages of the API's size, following its cursor
            found = ranked(session, SearchRequest(q=text, filters=filters, first=min(MAX_PAGE, limit - len(hits)),
                                                  after=after))
            hits += found.hits
            if not found.has_next or len(hits) >= limit:
                break
            after = found.cursors[-1]
    if as_json:
        print(json.dumps({"total": found.total, "total_exact": found.total_exact,
                          "hits": [dataclasses.asdict(h) for h in hits],
                          "facets": dataclasses.asdict(found.facets)}))
        return
    if not hits:
        console.print("nothing matches" + (f" {escape(repr(text))}" if text else ""))
        return
    total = f"{found.total}" if found.total_exact else f"at least {found.total}"
    title = f"{len(hits)} of {total} hits" + (f" for {escape(repr(text))}" if text else "")
    table = RichTable("kind", "name", "in", "description", "urn", title=title)
    for hit in hits:
        where = ".".join((hit.source_name, hit.schema_name or "", hit.table_name or "")[:_DEPTH[hit.entity_type]])
        table.add_row(hit.kind, escape(hit.name), escape(where), escape(hit.description or ""), escape(hit.urn))
    console.print(table)
