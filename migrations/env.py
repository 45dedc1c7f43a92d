"""Alembic environment: migrates the catalog database named by the config's `sqlalchemy.url`."""

from __future__ import annotations

from alembic import context

from catalog_api.db.models import Base, UtcDateTime
from catalog_api.db.search import include_object
from catalog_api.db.session import create_catalog_engine

config = context.config
target_metadata = Base.metadata


def render_item(type_: str, obj, _context):
    """Migrations spell the catalog's UTC timestamp as the plain column type it is stored as."""
    if type_ == "type" and isinstance(obj, UtcDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
        render_item=render_item,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_catalog_engine(config.get_main_option("sqlalchemy.url"))
    try:
        with engine.connect() as connection:
            _run(connection)
    finally:
        engine.dispose()


def _run(connection) -> None:
    # Batch mode lets later migrations alter tables on SQLite, which has no ALTER COLUMN.
    context.configure(
        connection=connection, target_metadata=target_metadata, render_as_batch=True, render_item=render_item,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()
    if connection.in_transaction():
        connection.commit()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
