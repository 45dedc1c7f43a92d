"""Runs the Alembic migrations shipped in the `migrations` package (`catalog db upgrade`).

Every process that starts with `CATALOG_AUTO_MIGRATE` (each `catalog` command, by default) first asks whether the
database is at the scripts' head, and imports Alembic only when it is not: importing Alembic costs a command a tenth
of a second or more, the question one query.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, column, inspect, select, table

import migrations
from catalog_api.db.session import create_catalog_engine

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(migrations.__file__).parent
VERSIONS = MIGRATIONS / "versions"
VERSION_TABLE = "alembic_version"  # Alembic's default, which migrations/env.py keeps


def alembic_config(url: str) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # ConfigParser interpolation would mangle a '%' in a password-bearing URL.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    from alembic import command

    command.upgrade(alembic_config(url), revision)


def upgrade_unless_at_head(url: str, engine: Engine | None = None) -> None:
    """`upgrade(url)`, skipped when the database is at head already (the usual case, found with one query).

    `engine` (on `url`), when given, asks the question: a process that opens the catalog anyway saves a connection.
    """
    if engine is not None:
        current = is_at_head(engine)
    else:
        engine = create_catalog_engine(url)
        try:
            current = is_at_head(engine)
        finally:
            engine.dispose()
    if not current:
        upgrade(url)


def script_heads() -> set[str]:
    """The head revisions of the migration scripts: those no other script names as its `down_revision`.

    Read from each script's `revision` and `down_revision` literals, as Alembic's script template writes them, so
    that the question needs no Alembic (tests/catalog_api/db/test_migrations.py compares it with Alembic's answer).
    """
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in VERSIONS.glob("*.py"):
        literals = _module_literals(script, ("revision", "down_revision"))
        if "revision" in literals:
            revisions.add(literals["revision"])
        parent = literals.get("down_revision")
        parents.update((parent,) if isinstance(parent, str) else parent or ())  # a merge names several
    return revisions - parents


def _module_literals(path: Path, names: tuple[str, ...]) -> dict[str, Any]:
    """The literal values assigned to `names` at the top level of a Python file (`x = 1` or `x: int = 1`)."""
    found: dict[str, Any] = {}
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        else:
            continue
        if isinstance(target, ast.Name) and target.id in names:
            found[target.id] = ast.literal_eval(value)
    return found


def current_heads(engine: Engine) -> set[str]:
    """The revisions the database is at (Alembic's version table); none for a database never migrated."""
    with engine.connect() as connection:
        # A lookup of the table's name and a plain select: reflecting the table would cost a command more queries.
        if not inspect(connection).has_table(VERSION_TABLE):
            return set()
        return set(connection.scalars(select(column("version_num")).select_from(table(VERSION_TABLE))))


def is_at_head(engine: Engine) -> bool:
    return current_heads(engine) == script_heads()
