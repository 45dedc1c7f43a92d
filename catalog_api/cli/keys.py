"""`catalog keys …`: create, list and revoke API keys."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table as RichTable

from catalog_api.cli.common import console, service

keys_app = typer.Typer(help="API keys (CATALOG_AUTH=required): create, list, revoke.", no_args_is_help=True)


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Option(help="Who or what uses the key; shown in the audit.")],
    role: Annotated[list[str], typer.Option(help="viewer, curator, operator, admin or pii:read (repeatable).")],
    expires_in_days: Annotated[int | None, typer.Option(min=1, help="Days until the key stops working.")] = None,
) -> None:
    """Create an API key and print it once: the catalog keeps only its hash."""
    from datetime import datetime, timedelta, timezone

    from catalog_api.services.api_keys import create_key

    expires = datetime.now(timezone.utc) + timedelta(days=expires_in_days) if expires_in_days else None
    with service() as ctx:
        created = create_key(ctx, name, role, expires)
    console.print(f"API key [bold]{created.key.id}[/bold] ({created.key.name}: {', '.join(created.key.roles)})"
                  + (f", expires {created.key.expires_at:%Y-%m-%d %H:%M} UTC" if created.key.expires_at else ""))
    console.print("Store it now, it is not shown again:")
    print(created.secret)


@keys_app.command("list")
def keys_list(all_keys: Annotated[bool, typer.Option("--all", help="Include revoked keys.")] = False) -> None:
    """List API keys (never their secrets)."""
    from catalog_api.services.api_keys import list_keys

    with service() as ctx, ctx.db.session() as session:
        found = list_keys(session, include_revoked=all_keys)
    table = RichTable("id", "name", "roles", "created", "expires", "last used", "revoked")
    for key in found:
        table.add_row(key.id, key.name, ", ".join(key.roles), f"{key.created_at:%Y-%m-%d %H:%M}",
                      *(f"{moment:%Y-%m-%d %H:%M}" if moment else "" for moment in
                        (key.expires_at, key.last_used_at, key.revoked_at)))
    console.print(table)


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[str, typer.Argument(help="The key's id (the part after `cat_`).")]) -> None:
    """Revoke an API key: requests made with it answer 401 from now on."""
    from catalog_api.services.api_keys import revoke_key

    with service() as ctx:
        key = revoke_key(ctx, key_id)
    console.print(f"API key {key.id} ({key.name}) revoked")


