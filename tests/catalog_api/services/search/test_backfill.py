"""Migration 0011 backfills the search index of a populated catalog: the documents it builds are the ones the
writers keep current, for every live entity the catalog holds. Migration 0016 fills PostgreSQL's name words, which
triggers then keep."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import text

from catalog_api.db.migrate import alembic_config, upgrade
from catalog_api.db.search import NAME_WORD_TABLE
from catalog_api.services import curation
from catalog_api.urns import column_urn
from tests.support.factories import apply, make_catalog, make_source

DOCUMENT = ("urn, entity_kind, kind, source_name, schema_name, table_name, name, description, has_pii, "
            "has_anomalies, name_text, body_text, tag_text, context_text")


def _documents(connection) -> set[tuple]:
    return set(map(tuple, connection.execute(text(f"select {DOCUMENT} from search_documents"))))


def test_upgrading_a_populated_catalog_indexes_every_live_entity(ctx):
    source = make_source(ctx, "warehouse")
    apply(ctx, source, make_catalog(60, 3))
    apply(ctx, source, make_catalog(50, 3))  # ten tables deleted
    curation.set_tags(ctx, column_urn("warehouse", "schema_0", "table_0000", "col_001"), ["pii.email"])
    url = ctx.db.engine.url.render_as_string(hide_password=False)
    with ctx.db.engine.connect() as connection:
        kept_by_writers = _documents(connection)

    command.downgrade(alembic_config(url), "0010")
    with ctx.db.engine.connect() as connection:
        assert "search_documents" not in {r[0] for r in connection.execute(text(
            "select table_name from information_schema.tables" if ctx.db.engine.dialect.name == "postgresql"
            else "select name from sqlite_master"))}
    upgrade(url)

    with ctx.db.engine.connect() as connection:
        backfilled = _documents(connection)
        live = connection.execute(text("""
            select (select count(*) from data_sources) + (select count(*) from schemas where deleted_at is null)
                 + (select count(*) from tables where deleted_at is null)
                 + (select count(*) from columns c join tables t on t.id = c.table_id
                    where c.deleted_at is null and t.deleted_at is null)""")).scalar()
    assert backfilled == kept_by_writers
    assert len(backfilled) == live > 500
    assert {d[0] for d in backfilled if d[8]} == {column_urn("warehouse", "schema_0", "table_0000", "col_001"),
                                                 "urn:catalog:dataset:warehouse:schema_0:table_0000"}


def _name_word_pairs(connection) -> tuple[set[tuple], set[tuple]]:
    """The (word, document id) pairs PostgreSQL keeps, and those of the documents' names split in Python."""
    kept = set(map(tuple, connection.execute(text(f"select word, document_id from {NAME_WORD_TABLE}"))))
    expected = {(word, document) for document, name_text in connection.execute(text(
        "select id, name_text from search_documents")) for word in name_text.split()}
    return kept, expected


def test_the_name_words_follow_the_documents_through_writers_updates_and_migration_0016(ctx):
    if ctx.db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's table of name words (SQLite's FTS5 searches the name itself)")
    source = make_source(ctx, "warehouse")
    apply(ctx, source, make_catalog(30, 3))
    apply(ctx, source, make_catalog(25, 3))  # five tables deleted, their documents with them
    with ctx.db.engine.begin() as connection:
        connection.execute(text("update search_documents set name_text = 'renamed ' || name_text where id % 7 = 0"))
        kept, expected = _name_word_pairs(connection)
    assert kept == expected and len(expected) > 200 and "renamed" in {word for word, _ in kept}
    url = ctx.db.engine.url.render_as_string(hide_password=False)
    command.downgrade(alembic_config(url), "0015")
    upgrade(url)
    with ctx.db.engine.connect() as connection:
        assert _name_word_pairs(connection)[0] == expected
