"""The search index: one document per live source, schema, table (view, file, ...) and column.

A document holds the entity's words split by weight (`name_text` > `body_text` > `tag_text` > `context_text`) and
the facts search filters and counts by (source, schema, kind, PII, anomalies). It is written by
`catalog_api.services.search.documents` in the transaction of every change it reflects.

The full-text part is the database's own and is not a model: on PostgreSQL a stored generated `tsvector` column with
a GIN index (`document`), on SQLite an FTS5 table (`search_fts`) over these rows, kept in step by triggers. Both are
created by `create_fulltext` (migration 0011); `UNMODELLED` names them so the model comparison skips them.

Search looks at a bounded number of candidates (`services/search/query.py`), found through two more indexes that
`create_name_indexes` adds (migration 0014): the lower-cased name (the entities named exactly as the search text) on
both databases, and on PostgreSQL the words of the name alone (`to_tsvector('simple', name_text)`, GIN), which the
weighted `document` cannot answer without reading every matching row (SQLite's FTS5 filters by column itself).
Migration 0015 (`store_name_words`) stores those words as a generated column, `name_words`, indexed instead.
Migration 0016 (`create_name_word_table`) replaces that column on PostgreSQL by a table of (word, document) pairs,
`search_name_words`, kept by triggers: a prefix is a range of its primary key's btree, whose first 500 documents in
id order cost a few hundred index entries instead of a walk over every document in id order testing its words.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, mapped_column

from catalog_api.db.models import NAME_LENGTH, URN_LENGTH, Base

_BigSerial = BigInteger().with_variant(Integer, "sqlite")  # an INTEGER PRIMARY KEY is the rowid FTS5 points at


class SearchDocument(Base):
    """The searchable words and facets of one catalog entity (see the module's documentation)."""

    __tablename__ = "search_documents"
    __table_args__ = (Index(None, "table_id"), Index(None, "source_id", "entity_kind"), Index(None, "kind"))

    id: Mapped[int] = mapped_column(_BigSerial, primary_key=True, autoincrement=True)
    urn: Mapped[str] = mapped_column(String(URN_LENGTH), unique=True)
    entity_kind: Mapped[str] = mapped_column(String(16))
    """`source`, `schema`, `dataset` or `column` (the URN's entity type)."""
    kind: Mapped[str] = mapped_column(String(32))
    """What a caller filters by: `source`, `schema`, `column`, or the table's kind (`table`, `view`, `file`, ...)."""
    source_id: Mapped[int] = mapped_column(ForeignKey("data_sources.id", ondelete="CASCADE"))
    source_name: Mapped[str] = mapped_column(String(128))
    schema_name: Mapped[str | None] = mapped_column(String(NAME_LENGTH))
    table_id: Mapped[int | None] = mapped_column(ForeignKey("tables.id", ondelete="CASCADE"))
    table_name: Mapped[str | None] = mapped_column(String(NAME_LENGTH))
    name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    description: Mapped[str | None] = mapped_column(Text)
    """The curated description, else the source's comment: what a hit shows."""
    has_pii: Mapped[bool] = mapped_column(Boolean, default=False)
    has_anomalies: Mapped[bool] = mapped_column(Boolean, default=False)
    name_text: Mapped[str] = mapped_column(Text, default="")
    body_text: Mapped[str] = mapped_column(Text, default="")
    tag_text: Mapped[str] = mapped_column(Text, default="")
    context_text: Mapped[str] = mapped_column(Text, default="")


FTS_TABLE = "search_fts"
DOCUMENT_COLUMN = "document"
_TEXT_COLUMNS = ("name_text", "body_text", "tag_text", "context_text")
_WEIGHTS = ("A", "B", "C", "D")
LOWER_NAME_INDEX = "ix_search_documents_lower_name"
NAME_WORDS_INDEX = "ix_search_documents_name_words"
_NAME_WORDS_EXPRESSION = "to_tsvector('simple', name_text)"
NAME_WORDS_COLUMN = "name_words"
"""PostgreSQL's stored `tsvector` of the name's words (migration 0015), with a GIN index."""
NAME_WORDS_COLUMN_INDEX = "ix_search_documents_name_words_column"
NAME_WORD_TABLE = "search_name_words"
"""PostgreSQL's (word, document id) pairs of every document's `name_text` (migration 0016), kept by triggers."""
_NAME_WORD_TRIGGERS = {"insert": ("INSERT", "NEW TABLE AS added"), "delete": ("DELETE", "OLD TABLE AS removed"),
                       "update": ("UPDATE", "OLD TABLE AS removed NEW TABLE AS added")}
UNMODELLED = {
    ("column", DOCUMENT_COLUMN), ("index", "ix_search_documents_document"), ("index", LOWER_NAME_INDEX),
    ("index", NAME_WORDS_INDEX), ("column", NAME_WORDS_COLUMN), ("index", NAME_WORDS_COLUMN_INDEX),
    ("table", NAME_WORD_TABLE), ("index", f"ix_{NAME_WORD_TABLE}_document_id"),
    ("table", FTS_TABLE), *(("table", f"{FTS_TABLE}_{s}") for s in ("data", "idx", "docsize", "config", "content")),
}


def is_modelled(name: str | None, type_: str) -> bool:
    """False for the full-text objects migration 0011 creates outside the models (an alembic `include_object`)."""
    return (type_, name) not in UNMODELLED


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    return is_modelled(name, type_)


def create_fulltext(connection: Connection) -> None:
    """Creates the database's own full-text index over `search_documents` (PostgreSQL or SQLite)."""
    if connection.dialect.name == "postgresql":
        vector = " || ".join(f"setweight(to_tsvector('simple', coalesce({c}, '')), '{w}')"
                             for c, w in zip(_TEXT_COLUMNS, _WEIGHTS))
        connection.execute(text(f"ALTER TABLE search_documents ADD COLUMN {DOCUMENT_COLUMN} tsvector "
                                f"GENERATED ALWAYS AS ({vector}) STORED"))
        connection.execute(text(f"CREATE INDEX ix_search_documents_document ON search_documents "
                                f"USING gin ({DOCUMENT_COLUMN})"))
        return
    columns = ", ".join(_TEXT_COLUMNS)
    new = ", ".join(f"new.{c}" for c in _TEXT_COLUMNS)
    old = ", ".join(f"old.{c}" for c in _TEXT_COLUMNS)
    connection.execute(text(
        f"CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5({columns}, content='search_documents', content_rowid='id', "
        f"tokenize='unicode61 remove_diacritics 2', prefix='2 3')"))
    insert = f"INSERT INTO {FTS_TABLE}(rowid, {columns}) VALUES (new.id, {new});"
    remove = f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, {columns}) VALUES ('delete', old.id, {old});"
    connection.execute(text(f"CREATE TRIGGER search_documents_ai AFTER INSERT ON search_documents BEGIN {insert} END"))
    connection.execute(text(f"CREATE TRIGGER search_documents_ad AFTER DELETE ON search_documents BEGIN {remove} END"))
    connection.execute(text(f"CREATE TRIGGER search_documents_au AFTER UPDATE ON search_documents "
                            f"BEGIN {remove} {insert} END"))


def create_name_indexes(connection: Connection) -> None:
    """The indexes that find candidates by name (migration 0014): `lower(name)`, and on PostgreSQL the name's words."""
    connection.execute(text(f"CREATE INDEX {LOWER_NAME_INDEX} ON search_documents (lower(name))"))
    if connection.dialect.name == "postgresql":
        connection.execute(text(f"CREATE INDEX {NAME_WORDS_INDEX} ON search_documents "
                                f"USING gin ({_NAME_WORDS_EXPRESSION})"))


def drop_name_indexes(connection: Connection) -> None:
    for index in (LOWER_NAME_INDEX, NAME_WORDS_INDEX):
        connection.execute(text(f"DROP INDEX IF EXISTS {index}"))


def store_name_words(connection: Connection) -> None:
    """On PostgreSQL, the name's words as a stored column (migration 0015) in place of 0014's expression index: a
    search that reads the first candidates in id order tests each row's name words, and computing them per row cost
    10-17 ms of a short prefix's 500 candidates, reading the stored ones well under 1 ms."""
    if connection.dialect.name != "postgresql":
        return
    connection.execute(text(f"DROP INDEX IF EXISTS {NAME_WORDS_INDEX}"))
    connection.execute(text(f"ALTER TABLE search_documents ADD COLUMN {NAME_WORDS_COLUMN} tsvector "
                            f"GENERATED ALWAYS AS ({_NAME_WORDS_EXPRESSION}) STORED"))
    connection.execute(text(f"CREATE INDEX {NAME_WORDS_COLUMN_INDEX} ON search_documents "
                            f"USING gin ({NAME_WORDS_COLUMN})"))


def unstore_name_words(connection: Connection) -> None:
    if connection.dialect.name != "postgresql":
        return
    connection.execute(text(f"ALTER TABLE search_documents DROP COLUMN IF EXISTS {NAME_WORDS_COLUMN}"))
    connection.execute(text(f"CREATE INDEX {NAME_WORDS_INDEX} ON search_documents "
                            f"USING gin ({_NAME_WORDS_EXPRESSION})"))


def create_name_word_table(connection: Connection) -> None:
    """On PostgreSQL, `search_name_words` with its triggers, filled from the documents, in place of 0015's stored
    `name_words` (migration 0016). A statement's documents are added and removed at once (transition tables): a crawl
    replaces thousands in one statement. Its words are found by a hash index on the document: a btree on it let the
    planner walk the documents in id order testing each pair's word, slower than sorting a prefix's range."""
    if connection.dialect.name != "postgresql":
        return
    table = NAME_WORD_TABLE
    # COLLATE "C": a prefix is a range of the btree, whatever the database's locale
    connection.execute(text(f'CREATE TABLE {table} (word text COLLATE "C" NOT NULL, document_id bigint NOT NULL, '
                            f"CONSTRAINT pk_{table} PRIMARY KEY (word, document_id))"))
    connection.execute(text(f"CREATE INDEX ix_{table}_document_id ON {table} USING hash (document_id)"))
    removed = f"DELETE FROM {table} WHERE document_id IN (SELECT id FROM removed);"
    for event, (operation, tables) in _NAME_WORD_TRIGGERS.items():
        body = (removed if "OLD" in tables else "") + (_name_word_pairs("added") if "NEW" in tables else "")
        connection.execute(text(f"CREATE FUNCTION {table}_{event}() RETURNS trigger LANGUAGE plpgsql AS "
                                f"$$ BEGIN {body} RETURN NULL; END $$"))
        connection.execute(text(f"CREATE TRIGGER {table}_{event} AFTER {operation} ON search_documents "
                                f"REFERENCING {tables} FOR EACH STATEMENT EXECUTE FUNCTION {table}_{event}()"))
    connection.execute(text(_name_word_pairs("search_documents")))
    connection.execute(text(f"ALTER TABLE search_documents DROP COLUMN {NAME_WORDS_COLUMN}"))  # and its index


def _name_word_pairs(documents: str) -> str:
    """The statement adding the (word, document) pairs of the rows of `documents`."""
    return (f"INSERT INTO {NAME_WORD_TABLE} (word, document_id) SELECT DISTINCT word, {documents}.id FROM {documents}, "
            f"unnest(string_to_array({documents}.name_text, ' ')) AS word WHERE word <> '';")


def drop_name_word_table(connection: Connection) -> None:
    if connection.dialect.name != "postgresql":
        return
    for event in _NAME_WORD_TRIGGERS:
        connection.execute(text(f"DROP TRIGGER IF EXISTS {NAME_WORD_TABLE}_{event} ON search_documents"))
        connection.execute(text(f"DROP FUNCTION IF EXISTS {NAME_WORD_TABLE}_{event}()"))
    connection.execute(text(f"DROP TABLE IF EXISTS {NAME_WORD_TABLE}"))
    store_name_words(connection)


def drop_fulltext(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        return  # the column and its index go with the table
    for trigger in ("ai", "ad", "au"):
        connection.execute(text(f"DROP TRIGGER IF EXISTS search_documents_{trigger}"))
    connection.execute(text(f"DROP TABLE IF EXISTS {FTS_TABLE}"))
