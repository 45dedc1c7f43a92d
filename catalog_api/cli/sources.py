"""`catalog source …`: register, list, test, update and remove sources."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table as RichTable

from catalog_api.cli.common import console, errors, pairs, reading, service

source_app = typer.Typer(help="Register, list, test, update and remove sources.", no_args_is_help=True)


@source_app.command("add")
def source_add(
    name: Annotated[str, typer.Argument(help="Unique source name; it becomes part of every URN.")],
    kind: Annotated[str, typer.Option("--kind", "-k", help="Connector kind, e.g. postgres or sqlite.")],
    config: Annotated[list[str], typer.Option("--config", "-c", help="KEY=VALUE, repeatable.")] = [],  # noqa: B006
    secret_ref: Annotated[list[str], typer.Option(help="KEY=env:NAME or KEY=keyvault:NAME[/VERSION], repeatable.")] = [],  # noqa: B006
    prompt_secret: Annotated[list[str], typer.Option(help="Ask for the secret KEY without echo.")] = [],  # noqa: B006
    description: Annotated[str | None, typer.Option(help="What this source is.")] = None,
    test: Annotated[bool, typer.Option("--test/--no-test", help="Test the connection before saving.")] = True,
) -> None:
    """Register a source. Credentials are stored only as references or encrypted locally."""
    from catalog_api.services.sources import SourceRegistration, register_source

    secrets = {key: typer.prompt(f"{key}", hide_input=True) for key in prompt_secret}
    registration = SourceRegistration(
        name=name, kind=kind, description=description, config=pairs(config, "--config"), secrets=secrets,
        secret_refs={k: str(v) for k, v in pairs(secret_ref, "--secret-ref").items()}, test_connection=test,
    )
    with service() as ctx:
        source = register_source(ctx, registration)
    console.print(f"registered [bold]{source.name}[/bold] ({source.kind}) as {source.urn}")


@source_app.command("list")
def source_list() -> None:
    """List registered sources."""
    from catalog_api.services.source_lookup import list_sources

    with reading() as session:
        found = list_sources(session)
    table = RichTable("id", "name", "kind", "last crawled", "urn")
    for s in found:
        table.add_row(str(s.id), s.name, s.kind, str(s.last_crawled_at or "never"), s.urn)
    console.print(table)


@source_app.command("test")
def source_test(source: Annotated[str, typer.Argument(help="Source name or id.")]) -> None:
    """Test a registered source's connection."""
    from catalog_api.services.sources import test_source

    with service() as ctx:
        result = test_source(ctx, source)
    if result.ok:
        console.print(f"[green]ok[/green]: {result.server} ({result.elapsed_ms:.0f} ms)")
        return
    field = f" {result.error_field}:" if result.error_field else ""
    errors.print(f"[red]failed ({result.error_code}):{field}[/red] {result.error_message}")
    raise typer.Exit(code=1)


@source_app.command("update")
def source_update(
    source: Annotated[str, typer.Argument(help="Source name or id.")],
    description: Annotated[str | None, typer.Option(help="What this source is (an empty string clears it).")] = None,
    config: Annotated[list[str], typer.Option("--config", "-c", help="KEY=VALUE to set, repeatable; other keys "
                                                                      "keep their value.")] = [],  # noqa: B006
    unset: Annotated[list[str], typer.Option("--unset", help="Config KEY to drop (back to its default), "
                                                             "repeatable.")] = [],  # noqa: B006
    secret_ref: Annotated[list[str], typer.Option(help="KEY=env:NAME or KEY=keyvault:NAME[/VERSION] to set, "
                                                       "repeatable.")] = [],  # noqa: B006
    prompt_secret: Annotated[list[str], typer.Option(help="Ask for the secret KEY without echo.")] = [],  # noqa: B006
    test: Annotated[bool, typer.Option("--test/--no-test", help="Test a changed connection before saving.")] = True,
) -> None:
    """Change a source's description, config or secrets. Nothing is saved when a value is refused or the changed
    connection fails its test. Schedules: `catalog schedule`."""
    from catalog_api.services.sources import SourceUpdate, get_source, update_source

    changes = pairs(config, "--config")
    secrets = {key: typer.prompt(f"{key}", hide_input=True) for key in prompt_secret}
    with service() as ctx:
        with ctx.db.session() as session:
            before = get_source(session, source)
        # The service merges the patch into the config as it is when the row is locked: a concurrent change of
        # another key is kept.
        patch = {**changes, **dict.fromkeys(unset)} if changes or unset else None
        update = SourceUpdate(description=description, config_patch=patch, secrets=secrets, test_connection=test,
                              secret_refs={k: str(v) for k, v in pairs(secret_ref, "--secret-ref").items()})
        after = update_source(ctx, before.id, update)
    changed = [name for name, old, new in (("description", before.description, after.description),
                                           ("config", before.config, after.config),
                                           ("secrets", before.secret_refs, after.secret_refs)) if old != new]
    console.print(f"updated [bold]{after.name}[/bold]: " + (", ".join(changed) if changed else "nothing changed"))


@source_app.command("remove")
def source_remove(
    source: Annotated[str, typer.Argument(help="Source name or id.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Remove a source with everything catalogued under it, its tags and its locally stored secrets."""
    from catalog_api.services.sources import delete_source, get_source

    with service() as ctx:
        with ctx.db.session() as session:
            found = get_source(session, source)  # a typo fails here, before the question
        # Removal drops the source's whole catalogue and history: one keystroke should not do that by accident.
        if not yes:
            typer.confirm(f"Remove {found.name} and everything catalogued under it?", abort=True)
        delete_source(ctx, found.id)
    console.print(f"removed [bold]{found.name}[/bold]")
