"""`catalog owner|term|domain …`: owners of sources, schemas and datasets, the business glossary and its links, and
domains, through the same service calls as REST and GraphQL (docs/curation.md)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table as RichTable

from catalog_api.cli.common import console, reading, service

owner_app = typer.Typer(help="Owners of sources, schemas and datasets: set, list.", no_args_is_help=True)
term_app = typer.Typer(help="The business glossary: add, list, show, link, unlink, remove terms.",
                       no_args_is_help=True)
domain_app = typer.Typer(help="Domains: add, list, set (put an entity in one), remove.", no_args_is_help=True)

UrnArg = Annotated[str, typer.Argument(help="The entity's URN, e.g. urn:catalog:dataset:erp:sales:orders.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON (for scripts).")]


def _table(records: list[dict[str, Any]], columns: tuple[str, ...]) -> RichTable:
    """The `columns` of `records` as a table: text escaped, none left blank."""
    table = RichTable(*columns)
    for record in records:
        table.add_row(*("" if record[c] is None else escape(str(record[c])) for c in columns))
    return table


def _listing(records: list[dict[str, Any]], columns: tuple[str, ...], as_json: bool) -> None:
    """Prints `records` as a JSON list (for scripts), or their `columns` as a table."""
    if as_json:
        print(json.dumps(records))
    else:
        console.print(_table(records, columns))


def _owner(text: str) -> dict[str, str]:
    principal, _, rest = text.partition(":")
    kind, _, type_ = rest.partition(":")
    return {"principal": principal, "kind": kind or "user", "type": type_ or "technical"}


@owner_app.command("set")
def owner_set(urn: UrnArg, owners: Annotated[list[str] | None, typer.Argument(
        help="PRINCIPAL[:user|group[:technical|business]] each (none: no owners), e.g. finance-data:group")] = None,
              ) -> None:
    """Replace the owners of a source, schema or dataset."""
    from catalog_api.services.governance import set_owners

    with service() as ctx:
        stored = set_owners(ctx, urn, [_owner(o) for o in owners or []])
    console.print(f"{escape(urn)}: {len(stored)} owner(s): "
                  + ", ".join(escape(f"{o.principal} ({o.kind}, {o.type})") for o in stored))


@owner_app.command("list")
def owner_list(urn: UrnArg, as_json: AsJson = False) -> None:
    """The owners, terms and domain of an entity."""
    from catalog_api.services.governance import curation_of

    with reading() as session:
        found = curation_of(session, urn)
    owners = [{"principal": o.principal, "kind": o.kind, "type": o.type} for o in found.owners or []]
    if as_json:
        print(json.dumps({"urn": found.urn, "owners": owners, "terms": [t.name for t in found.terms or []],
                          "domain": None if found.domain is None else found.domain.name}))
        return
    console.print(_table(owners, ("principal", "kind", "type")))


@term_app.command("add")
def term_add(name: Annotated[str, typer.Argument(help="The term's name (unique, any case).")],
             definition: Annotated[str | None, typer.Option(help="What the term means.")] = None,
             parent: Annotated[str | None, typer.Option(help="The broader term it is filed under.")] = None) -> None:
    """Add a glossary term."""
    from catalog_api.services.governance import create_term

    with service() as ctx:
        created = create_term(ctx, name, definition, parent)
    console.print(f"term [bold]{escape(created.name)}[/bold] added (id {created.id})")


@term_app.command("list")
def term_list(as_json: AsJson = False) -> None:
    """Glossary terms by name."""
    from catalog_api.services.governance import list_terms

    with reading() as session:
        found = list_terms(session)
    _listing([{"id": t.id, "name": t.name, "definition": t.definition, "parent": t.parent} for t in found],
             ("id", "name", "parent", "definition"), as_json)


@term_app.command("show")
def term_show(name: Annotated[str, typer.Argument(help="The term's name.")], as_json: AsJson = False) -> None:
    """A term with its narrower terms and the tables and columns linked to it."""
    from catalog_api.services.governance import find_term

    with reading() as session:
        page = find_term(session, name)
    if as_json:
        print(json.dumps({"id": page.term.id, "name": page.term.name, "definition": page.term.definition,
                          "parent": page.term.parent, "children": [c.name for c in page.children],
                          "assets": [a.urn for a in page.assets], "asset_count": page.asset_count}))
        return
    console.print(f"[bold]{escape(page.term.name)}[/bold]: {escape(page.term.definition or '')}")
    for asset in page.assets:
        console.print(f"  {escape(asset.urn)}" + (" (deleted)" if asset.deleted else ""))


@term_app.command("link")
def term_link(urn: UrnArg, term: Annotated[str, typer.Argument(help="The term's name.")]) -> None:
    """Link a term to a table or column."""
    from catalog_api.services.governance import link_term

    with service() as ctx:
        terms = link_term(ctx, urn, term)
    console.print(f"{escape(urn)}: " + ", ".join(escape(t.name) for t in terms))


@term_app.command("unlink")
def term_unlink(urn: UrnArg, term: Annotated[str, typer.Argument(help="The term's name.")]) -> None:
    """Unlink a term from a table or column."""
    from catalog_api.services.governance import find_term, unlink_term

    with service() as ctx:
        with ctx.db.session() as session:
            term_id = find_term(session, term).term.id
        terms = unlink_term(ctx, urn, term_id)
    console.print(f"{escape(urn)}: " + (", ".join(escape(t.name) for t in terms) or "no terms"))


@term_app.command("remove")
def term_remove(name: Annotated[str, typer.Argument(help="The term's name.")]) -> None:
    """Delete a term and unlink it everywhere (its history stays)."""
    from catalog_api.services.governance import delete_term, find_term

    with service() as ctx:
        with ctx.db.session() as session:
            term_id = find_term(session, name).term.id
        removed = delete_term(ctx, term_id)
    console.print(f"term [bold]{escape(removed.name)}[/bold] removed")


@domain_app.command("add")
def domain_add(name: Annotated[str, typer.Argument(help="The domain's name (unique, any case).")],
               description: Annotated[str | None, typer.Option(help="What belongs to it.")] = None) -> None:
    """Add a domain."""
    from catalog_api.services.governance import create_domain

    with service() as ctx:
        created = create_domain(ctx, name, description)
    console.print(f"domain [bold]{escape(created.name)}[/bold] added (id {created.id})")


@domain_app.command("list")
def domain_list(as_json: AsJson = False) -> None:
    """Domains by name."""
    from catalog_api.services.governance import list_domains

    with reading() as session:
        found = list_domains(session)
    _listing([{"id": d.id, "name": d.name, "description": d.description} for d in found],
             ("id", "name", "description"), as_json)


@domain_app.command("set")
def domain_set(urn: UrnArg, name: Annotated[str | None, typer.Argument(
        help="The domain's name; leave out to take the entity out of its domain.")] = None) -> None:
    """Put a source or dataset in a domain (or take it out)."""
    from catalog_api.services.governance import set_domain

    with service() as ctx:
        found = set_domain(ctx, urn, name)
    console.print(f"{escape(urn)}: " + ("no domain" if found is None else f"in {escape(found.name)}"))


@domain_app.command("remove")
def domain_remove(name: Annotated[str, typer.Argument(help="The domain's name.")]) -> None:
    """Delete a domain and take everything out of it (its history stays)."""
    from catalog_api.services.governance import delete_domain, find_domain

    with service() as ctx:
        with ctx.db.session() as session:
            domain_id = find_domain(session, name).domain.id
        removed = delete_domain(ctx, domain_id)
    console.print(f"domain [bold]{escape(removed.name)}[/bold] removed")
