"""The migrated database equals the models, on SQLite and on PostgreSQL (an empty autogenerate diff)."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from catalog_api.db.migrate import alembic_config, is_at_head, script_heads, upgrade, upgrade_unless_at_head
from catalog_api.db.models import Base
from catalog_api.db.search import include_object
from catalog_api.db.session import create_catalog_engine


def _assert_matches_models(url: str) -> None:
    upgrade(url)
    engine = create_catalog_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True,
                                                                   "compare_server_default": True,
                                                                   "include_object": include_object})
            differences = compare_metadata(context, Base.metadata)
        assert differences == [], f"migrations and models differ: {differences}"
        tables = set(inspect(engine).get_table_names())
        assert set(Base.metadata.tables) <= tables
        assert is_at_head(engine)
    finally:
        engine.dispose()


def test_sqlite_migrated_database_equals_models(tmp_path):
    _assert_matches_models(f"sqlite:///{tmp_path / 'catalog.db'}")


@pytest.mark.postgres
def test_postgres_migrated_database_equals_models(pg_catalog_url):
    _assert_matches_models(pg_catalog_url)


def test_upgrade_is_idempotent(tmp_path):
    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    upgrade(url)
    upgrade(url)
    engine = create_catalog_engine(url)
    assert is_at_head(engine)
    engine.dispose()


def test_unmigrated_database_is_not_at_head(tmp_path):
    engine = create_catalog_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    assert not is_at_head(engine)
    engine.dispose()


def test_the_scripts_heads_are_alembics():
    assert script_heads() == set(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads())


def test_a_database_behind_head_is_upgraded_and_one_at_head_left_alone(tmp_path):
    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    (head,) = script_heads()
    upgrade(url, f"{head}-1")
    engine = create_catalog_engine(url)
    try:
        with engine.connect() as connection:
            assert MigrationContext.configure(connection).get_current_heads() != (head,)
        upgrade_unless_at_head(url)
        with engine.connect() as connection:
            assert MigrationContext.configure(connection).get_current_heads() == (head,)
            modified = (tmp_path / "catalog.db").stat().st_mtime_ns
        upgrade_unless_at_head(url)
        assert (tmp_path / "catalog.db").stat().st_mtime_ns == modified
    finally:
        engine.dispose()
