"""SQLite connector: discovers one database file, read-only, with a fixed number of catalog statements.

Discovery joins `sqlite_schema` to the pragma table-valued functions (`pragma_table_xinfo`,
`pragma_foreign_key_list`, `pragma_index_list` + `pragma_index_info`), so the number of statements does not depend
on how many tables the file holds. What the pragmas do not expose (constraint names, generation expressions,
`WITHOUT ROWID`, expressions of expression indexes) is recovered from the `CREATE` statements kept in
`sqlite_schema`, with a small tokenizer rather than regular expressions over raw SQL, so quoted identifiers,
strings and comments cannot confuse it.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import stat
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, NamedTuple

import pyarrow as pa
from pydantic import Field, field_validator

from crawlers.connector import ConnectionCheck, Connector, LineageNamespace, ProgressCallback
from crawlers.errors import (
    ConnectorError,
    InvalidSourceConfig,
    PermissionDenied,
    SourceNotFound,
    SourceUnreachable,
)
from crawlers.increment import IncrementRequest, IncrementStrategy
from crawlers.scope import Scope, ScopedConfig
from crawlers.snapshot import (
    ColumnSnapshot,
    ForeignKey,
    IndexSnapshot,
    SchemaSnapshot,
    SourceSnapshot,
    TableKind,
    TableSnapshot,
    UniqueConstraint,
)

SCHEMA = "main"
"""SQLite's name for the database file's own schema; attached databases are not part of a source."""

# The progress handler runs every this many virtual-machine instructions: often enough to stop a statement within
# milliseconds of its deadline, rarely enough to cost nothing measurable.
_PROGRESS_STEPS = 1_000

# A seam for tests, which replace it to make time jump forward instead of running a truly slow statement.
_clock = time.monotonic

# Primary result codes (the low byte of an extended code), from sqlite3.h.
_SQLITE_ERROR = 1
_SQLITE_PERM = 3
_SQLITE_BUSY = 5
_SQLITE_LOCKED = 6
_SQLITE_INTERRUPT = 9
_SQLITE_IOERR = 10
_SQLITE_CORRUPT = 11
_SQLITE_CANTOPEN = 14
_SQLITE_AUTH = 23
_SQLITE_NOTADB = 26


class SqliteConfig(ScopedConfig):
    """Where the SQLite file is and how long one discovery statement may run.

    `path` is stored as the user typed it; `~` is expanded and a relative path made absolute only when the
    connector opens the file, so a registration does not silently change meaning when it is edited.
    """

    path: str = Field(min_length=1, max_length=4096, description="Path of the SQLite database file.")
    statement_timeout_ms: int = Field(
        default=30_000, ge=100, le=3_600_000, description="A discovery statement running longer is interrupted."
    )

    @field_validator("path")
    @classmethod
    def _no_nul(cls, path: str) -> str:
        # A NUL byte cannot be part of a file name; letting it through would surface later as an obscure OS error.
        if "\x00" in path:
            raise ValueError("a path cannot contain a NUL character")
        return path

    def resolved_path(self) -> Path:
        """The absolute path the connector opens: `~` expanded, `.`/`..` folded, symbolic links kept."""
        return Path(os.path.abspath(os.path.expanduser(self.path)))


class SqliteConnector(Connector[SqliteConfig]):
    """Discovers a SQLite database file: one schema, `main`, with its tables and views.

    The file is opened read-only through a `mode=ro` URI, so discovery can neither create a missing file nor
    change an existing one, and every statement runs in one read transaction under a statement timeout.
    """

    kind: ClassVar[str] = "sqlite"
    config_model: ClassVar[type[SqliteConfig]] = SqliteConfig
    secret_fields: ClassVar[frozenset[str]] = frozenset()

    def test_connection(self) -> ConnectionCheck:
        started = time.perf_counter()
        with self._session() as session:
            # Reading sqlite_schema forces SQLite to read the header, which is where a non-database file fails.
            session.query("SELECT count(*) FROM main.sqlite_schema")
        return ConnectionCheck(
            server=f"SQLite {sqlite3.sqlite_version}", elapsed_ms=(time.perf_counter() - started) * 1000
        )

    def lineage_namespace(self) -> LineageNamespace:
        return LineageNamespace(namespace=f"sqlite://{self.config.resolved_path().as_posix()}", name_prefix="")

    def discover(self, scope: Scope | None = None, progress: ProgressCallback | None = None) -> SourceSnapshot:
        scope = scope or self.config.scope()
        report = progress or (lambda done, total, message: None)
        total_steps = 5
        with self._session() as session:
            # One read transaction so that all statements see the same schema even if a writer commits meanwhile.
            # On an error the transaction is left open: closing the connection rolls it back, and a failing COMMIT
            # must not hide the error that matters.
            session.query("BEGIN")
            schemas, tables = self._discover(session, scope, report, total_steps)
            session.query("COMMIT")
        report(total_steps, total_steps, "done")
        return SourceSnapshot(schemas=schemas, tables=tables, queries=session.statements)

    def read_increment(self, request: IncrementRequest) -> Iterator[pa.RecordBatch]:
        """Yield the table's rows after `request.watermark` as Arrow batches, from one read transaction.

        Same semantics as the PostgreSQL connector: `WHERE col > ? ORDER BY col` for TIMESTAMP/KEY (NULLs, which
        SQLite sorts first, only while there is no watermark), every row for FULL; the file is opened read-only.
        SQLite has no column types, only declared ones, so the Arrow type follows SQLite's affinity rules on the
        declared type: INT → int64; CHAR/CLOB/TEXT → string; BLOB → binary; REAL/FLOA/DOUB → float64; BOOL →
        bool; DATE/TIME (stored as text or numbers, SQLite has no date type) and no declared type → string (a
        number as its text, a blob as hex); other NUMERIC affinity (DECIMAL, NUMERIC, …) → float64, which is how
        SQLite itself stores such values. A value that does not fit its column's type (possible outside STRICT
        tables) is an error naming the column, never silently dropped.
        """
        table, plan = request.table, request.plan
        with self._session() as session:
            conn = session._conn
            declared = self._declared_types(session, table.name)
            names = [c.name for c in table.columns] or list(declared)
            missing = [n for n in names if _fold(n) not in {_fold(d) for d in declared}]
            if missing:
                raise InvalidSourceConfig(
                    f"{SCHEMA}.{table.name} has no column {missing[0]!r}: re-crawl the source", field="table"
                )
            folded = {_fold(d): t for d, t in declared.items()}
            kinds = [_affinity_type(folded[_fold(n)]) for n in names]
            if plan.column is not None and _fold(plan.column) not in folded:
                raise InvalidSourceConfig(
                    f"plan column {plan.column!r} is not a column of {SCHEMA}.{table.name}", field="plan.column"
                )
            statement = f"SELECT {', '.join(_quote(n) for n in names)} FROM {_quote(SCHEMA)}.{_quote(table.name)}"
            params: tuple[Any, ...] = ()
            if plan.strategy is not IncrementStrategy.FULL and plan.column is not None:
                if request.watermark is not None:
                    statement += f" WHERE {_quote(plan.column)} > ?"
                    params = (request.watermark,)
                statement += f" ORDER BY {_quote(plan.column)}"
            schema = pa.schema([pa.field(n, kind) for n, kind in zip(names, kinds)])
            cursor: sqlite3.Cursor | None = None
            try:
                conn.execute("BEGIN")
                cursor = conn.execute(statement, params)
                while rows := cursor.fetchmany(request.batch_rows):
                    yield _sqlite_batch(rows, schema, table.name)
            except sqlite3.Error as error:
                raise session.translate(error) from error
            finally:
                if cursor is not None:
                    cursor.close()
                if conn.in_transaction:
                    conn.execute("ROLLBACK")  # a read transaction: nothing to keep

    def _declared_types(self, session: _Session, table: str) -> dict[str, str]:
        rows = session.query(
            "SELECT name, type FROM pragma_table_xinfo(?, 'main') WHERE hidden IN (0, 2, 3) ORDER BY cid", (table,)
        )
        if not rows:
            raise SourceNotFound(f"{SCHEMA}.{table} does not exist in {self.config.resolved_path()}", field="table")
        return {name: declared or "" for name, declared in rows}

    # -- discovery ------------------------------------------------------------------------------------------------

    def _discover(
        self, session: _Session, scope: Scope, report: ProgressCallback, total_steps: int
    ) -> tuple[tuple[SchemaSnapshot, ...], tuple[TableSnapshot, ...]]:
        objects = session.query("SELECT type, name, tbl_name, sql FROM main.sqlite_schema")
        report(1, total_steps, "read sqlite_schema")
        if not scope.schema_in_scope(SCHEMA):
            return (), ()

        relations: dict[str, _Relation] = {}
        index_sql: dict[str, str | None] = {}
        canonical: dict[str, str] = {}
        has_stat1 = False
        for kind, name, _table, sql in objects:
            if kind == "index":
                index_sql[name] = sql
            if kind not in ("table", "view"):
                continue
            canonical[_fold(name)] = name
            if name == "sqlite_stat1":
                has_stat1 = True
            # SQLite reserves the prefix case-insensitively for its own tables (sqlite_sequence, sqlite_stat1, …).
            if _fold(name).startswith("sqlite_") or not scope.table_in_scope(SCHEMA, name):
                continue
            relations[name] = _Relation(name=name, is_view=kind == "view", sql=sql or "")

        if relations:
            self._read_columns(session, relations)
            report(2, total_steps, "read columns")
            plain = [r.name for r in relations.values() if r.is_plain_table]
            if plain:
                self._read_foreign_keys(session, relations, plain, canonical)
                report(3, total_steps, "read foreign keys")
                self._read_indexes(session, relations, plain, index_sql)
                report(4, total_steps, "read indexes")
                if has_stat1:
                    self._read_row_estimates(session, relations)

        tables = tuple(relation.snapshot() for _, relation in sorted(relations.items()))
        return (SchemaSnapshot(name=SCHEMA, comment=None),), tables

    def _read_columns(self, session: _Session, relations: dict[str, _Relation]) -> None:
        sql = (
            "SELECT m.name, p.cid, p.name, p.type, p.\"notnull\", p.dflt_value, p.pk, p.hidden "
            "FROM main.sqlite_schema AS m JOIN pragma_table_xinfo(m.name, 'main') AS p "
            "WHERE m.type IN ('table', 'view') AND m.name IN (SELECT value FROM json_each(?)) "
            "ORDER BY m.name, p.cid"
        )
        try:
            rows = session.run(sql, (json.dumps(sorted(relations)),))
        except sqlite3.Error as error:
            if _primary_code(error) != _SQLITE_ERROR:
                raise session.translate(error) from error
            # A view over a dropped table, or a virtual table whose module this SQLite lacks, fails the whole bulk
            # statement. Only then fall back to one statement per view or virtual table, so one broken object
            # does not make the whole source undiscoverable; ordinary tables can never fail this way.
            rows = self._read_columns_one_by_one(session, relations, sql)
        for table, *column in rows:
            relations[table].columns.append(_ColumnRow(*column))

    def _read_columns_one_by_one(
        self, session: _Session, relations: dict[str, _Relation], bulk_sql: str
    ) -> list[tuple]:
        fragile = sorted(name for name, r in relations.items() if not r.is_plain_table)
        plain = sorted(name for name, r in relations.items() if r.is_plain_table)
        rows = session.query(bulk_sql, (json.dumps(plain),)) if plain else []
        for name in fragile:
            try:
                rows.extend(session.run(bulk_sql, (json.dumps([name]),)))
            except sqlite3.Error as error:
                if _primary_code(error) != _SQLITE_ERROR:
                    raise session.translate(error) from error
                relations[name].error = str(error)
        return rows

    def _read_foreign_keys(
        self, session: _Session, relations: dict[str, _Relation], tables: list[str], canonical: dict[str, str]
    ) -> None:
        # The LEFT JOIN resolves a foreign key that names no parent columns to the parent's primary key, and gives
        # named parent columns their declared spelling (SQLite matches them case-insensitively).
        rows = session.query(
            "SELECT m.name, f.id, f.seq, f.\"table\", f.\"from\", coalesce(pc.name, f.\"to\"), f.on_update, "
            "f.on_delete FROM main.sqlite_schema AS m JOIN pragma_foreign_key_list(m.name, 'main') AS f "
            "LEFT JOIN pragma_table_info(f.\"table\", 'main') AS pc "
            "ON (f.\"to\" IS NULL AND pc.pk = f.seq + 1) "
            "OR (f.\"to\" IS NOT NULL AND pc.name = f.\"to\" COLLATE NOCASE) "
            "WHERE m.type = 'table' AND m.name IN (SELECT value FROM json_each(?)) "
            "ORDER BY m.name, f.id, f.seq",
            (json.dumps(tables),),
        )
        for table, fk_id, _seq, parent, column, referred, on_update, on_delete in rows:
            fk = relations[table].foreign_keys.setdefault(
                fk_id,
                _ForeignKeyRows(parent=canonical.get(_fold(parent), parent), on_update=on_update, on_delete=on_delete),
            )
            fk.columns.append(column)
            fk.referred.append(referred)

    def _read_indexes(
        self, session: _Session, relations: dict[str, _Relation], tables: list[str], index_sql: dict[str, str | None]
    ) -> None:
        rows = session.query(
            "SELECT m.name, il.name, il.\"unique\", il.origin, ii.seqno, ii.cid, ii.name "
            "FROM main.sqlite_schema AS m JOIN pragma_index_list(m.name, 'main') AS il "
            "JOIN pragma_index_info(il.name, 'main') AS ii "
            "WHERE m.type = 'table' AND m.name IN (SELECT value FROM json_each(?)) "
            "ORDER BY m.name, il.name, ii.seqno",
            (json.dumps(tables),),
        )
        for table, index, unique, origin, seqno, cid, column in rows:
            entry = relations[table].indexes.setdefault(
                index, _IndexRows(unique=bool(unique), origin=origin, sql=index_sql.get(index))
            )
            entry.columns.append((seqno, cid, column))

    def _read_row_estimates(self, session: _Session, relations: dict[str, _Relation]) -> None:
        for table, _index, stat_text in session.query("SELECT tbl, idx, stat FROM main.sqlite_stat1"):
            relation = relations.get(table)
            head = (stat_text or "").split(" ", 1)[0]
            if relation is None or not head.isdigit():
                continue
            # A partial index counts only its own rows; a full index or the table row counts them all. The largest
            # first figure is therefore the table's row count.
            relation.row_estimate = max(relation.row_estimate or 0, int(head))

    # -- connection -----------------------------------------------------------------------------------------------

    @contextmanager
    def _session(self) -> Iterator[_Session]:
        path = self.config.resolved_path()
        try:
            info = path.stat()
        except (FileNotFoundError, NotADirectoryError):
            raise SourceNotFound(
                f"no SQLite database at {path}: the file does not exist", field="config.path"
            ) from None
        except PermissionError:
            raise PermissionDenied(f"not allowed to read {path}", field="config.path") from None
        except OSError as error:
            raise SourceUnreachable(f"cannot read {path}: {error.strerror or error}", field="config.path") from None
        if stat.S_ISDIR(info.st_mode):
            raise InvalidSourceConfig(f"{path} is a directory, not a SQLite database file", field="config.path")
        if not stat.S_ISREG(info.st_mode):
            # Opening a FIFO or a device would block or read something that is not a database.
            raise InvalidSourceConfig(f"{path} is not a regular file", field="config.path")

        # `mode=ro` makes SQLite refuse to create or write the file; `as_uri` percent-encodes `?`, `#` and `%`, which
        # would otherwise be read as URI syntax.
        uri = f"{path.as_uri()}?mode=ro"
        timeout_s = self.config.statement_timeout_ms / 1000
        try:
            # `timeout` bounds the wait for a writer's lock, which the progress handler cannot see.
            conn = sqlite3.connect(uri, uri=True, timeout=timeout_s, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as error:
            raise _Session.translate_error(error, path, self.config.statement_timeout_ms) from error
        try:
            yield _Session(conn, path, self.config.statement_timeout_ms)
        finally:
            conn.close()


# -- connection helpers ---------------------------------------------------------------------------------------------


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _fold(name: str) -> str:
    """SQLite's identifier comparison key: it ignores the case of ASCII letters only, so `Ä` and `ä` differ."""
    return name.translate(_ASCII_LOWER)


def _primary_code(error: sqlite3.Error) -> int | None:
    code = getattr(error, "sqlite_errorcode", None)
    return None if code is None else code & 0xFF


class _Session:
    """One open connection that counts the statements it sends and interrupts any that outlive the timeout."""

    def __init__(self, conn: sqlite3.Connection, path: Path, timeout_ms: int) -> None:
        self._conn = conn
        self._path = path
        self._timeout_ms = timeout_ms
        self._deadline = float("inf")
        self.statements = 0
        conn.set_progress_handler(self._on_progress, _PROGRESS_STEPS)

    def _on_progress(self) -> int:
        # A non-zero return makes SQLite abandon the running statement with SQLITE_INTERRUPT.
        return 1 if _clock() > self._deadline else 0

    def run(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        """Execute one statement under the timeout, letting `sqlite3.Error` through for callers that recover."""
        self.statements += 1
        self._deadline = _clock() + self._timeout_ms / 1000
        try:
            return self._conn.execute(sql, params).fetchall()
        finally:
            self._deadline = float("inf")

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        try:
            return self.run(sql, params)
        except sqlite3.Error as error:
            raise self.translate(error) from error

    def translate(self, error: sqlite3.Error) -> ConnectorError:
        return self.translate_error(error, self._path, self._timeout_ms)

    @staticmethod
    def translate_error(error: sqlite3.Error, path: Path, timeout_ms: int) -> ConnectorError:
        code = _primary_code(error)
        if code == _SQLITE_INTERRUPT:
            return SourceUnreachable(
                f"a discovery statement on {path} ran longer than the statement timeout of {timeout_ms} ms and was "
                "interrupted; raise statement_timeout_ms or narrow the scope",
                field="config.statement_timeout_ms",
            )
        if code == _SQLITE_NOTADB:
            return InvalidSourceConfig(
                f"{path} is not a SQLite database (or it is encrypted)", field="config.path"
            )
        if code == _SQLITE_CORRUPT:
            return InvalidSourceConfig(f"{path} is a damaged SQLite database: {error}", field="config.path")
        if code in (_SQLITE_BUSY, _SQLITE_LOCKED):
            return SourceUnreachable(
                f"{path} stayed locked by another connection for longer than {timeout_ms} ms", field=None
            )
        if code in (_SQLITE_PERM, _SQLITE_AUTH):
            return PermissionDenied(f"not allowed to read {path}: {error}", field="config.path")
        if code == _SQLITE_CANTOPEN:
            if not path.exists():
                return SourceNotFound(f"no SQLite database at {path}: the file does not exist", field="config.path")
            if not os.access(path, os.R_OK):
                return PermissionDenied(f"not allowed to read {path}", field="config.path")
            return SourceUnreachable(f"cannot open {path}: {error}", field="config.path")
        if code == _SQLITE_IOERR:
            return SourceUnreachable(f"input/output error while reading {path}: {error}", field="config.path")
        return ConnectorError(f"SQLite failed on {path}: {error}")


# -- what the bulk statements return, grouped per relation ----------------------------------------------------------


class _ColumnRow(NamedTuple):
    """One row of `pragma_table_xinfo`."""

    cid: int
    name: str
    type: str | None
    notnull: int
    default: str | None
    pk: int
    hidden: int


@dataclass(slots=True)
class _ForeignKeyRows:
    parent: str
    on_update: str | None
    on_delete: str | None
    columns: list[str] = field(default_factory=list)
    referred: list[str | None] = field(default_factory=list)


@dataclass(slots=True)
class _IndexRows:
    unique: bool
    origin: str
    sql: str | None
    columns: list[tuple[int, int, str | None]] = field(default_factory=list)


@dataclass(slots=True)
class _Relation:
    name: str
    is_view: bool
    sql: str
    columns: list[_ColumnRow] = field(default_factory=list)
    foreign_keys: dict[int, _ForeignKeyRows] = field(default_factory=dict)
    indexes: dict[str, _IndexRows] = field(default_factory=dict)
    row_estimate: int | None = None
    error: str | None = None

    @property
    def is_virtual(self) -> bool:
        return not self.is_view and _VIRTUAL.match(self.sql) is not None

    @property
    def is_plain_table(self) -> bool:
        return not self.is_view and not self.is_virtual

    def snapshot(self) -> TableSnapshot:
        if self.is_view:
            nothing_declared = _TableDDL()
            return TableSnapshot(
                schema=SCHEMA,
                name=self.name,
                kind=TableKind.VIEW,
                columns=self._column_snapshots(nothing_declared, rowid_alias=False),
                view_definition=self.sql,
                properties=self._properties(nothing_declared),
            )
        ddl = _TableDDL() if self.is_virtual else _parse_create_table(self.sql)
        pk_columns = tuple(c.name for c in sorted((c for c in self.columns if c.pk), key=lambda c: c.pk))
        # A rowid table whose one-column primary key got no automatic 'pk' index is an INTEGER PRIMARY KEY, i.e. the
        # rowid itself, which can never be NULL even though the pragma's notnull flag says otherwise.
        rowid_alias = (
            not ddl.without_rowid
            and len(pk_columns) == 1
            and not any(index.origin == "pk" for index in self.indexes.values())
            and not self.is_virtual
        )
        primary_key = (
            UniqueConstraint(name=ddl.pk_name or f"pk_{self.name}", columns=pk_columns) if pk_columns else None
        )
        unique_constraints: list[UniqueConstraint] = []
        indexes: list[IndexSnapshot] = []
        for name, index in self.indexes.items():
            if index.origin == "pk":
                continue
            columns = _index_columns(index)
            if index.origin == "u":
                key = tuple(_fold(c) for c in columns)
                unique_constraints.append(UniqueConstraint(name=ddl.unique_names.get(key, name), columns=columns))
            else:
                indexes.append(IndexSnapshot(name=name, columns=columns, unique=index.unique, definition=index.sql))
        return TableSnapshot(
            schema=SCHEMA,
            name=self.name,
            kind=TableKind.TABLE,
            columns=self._column_snapshots(ddl, rowid_alias),
            comment=None,
            primary_key=primary_key,
            unique_constraints=tuple(sorted(unique_constraints, key=lambda u: (u.name, u.columns))),
            foreign_keys=self._foreign_keys(ddl),
            indexes=tuple(sorted(indexes, key=lambda i: i.name)),
            row_estimate=self.row_estimate,
            properties=self._properties(ddl),
        )

    def _column_snapshots(self, ddl: _TableDDL, rowid_alias: bool) -> tuple[ColumnSnapshot, ...]:
        result: list[ColumnSnapshot] = []
        # Hidden columns of virtual tables (hidden = 1) are the module's plumbing, not data a user declared.
        visible = [c for c in sorted(self.columns, key=lambda c: c.cid) if c.hidden != 1]
        for ordinal, column in enumerate(visible, start=1):
            generated = None
            if column.hidden in (2, 3):  # 2: VIRTUAL, 3: STORED
                generated = ddl.generated.get(_fold(column.name), "generated")
            result.append(
                ColumnSnapshot(
                    name=column.name,
                    ordinal=ordinal,
                    data_type=column.type or "",
                    nullable=not column.notnull and not (rowid_alias and column.pk),
                    default=column.default,
                    comment=None,
                    generated=generated,
                )
            )
        return tuple(result)

    def _foreign_keys(self, ddl: _TableDDL) -> tuple[ForeignKey, ...]:
        keys: list[ForeignKey] = []
        used: set[str] = set()
        for fk_id, rows in sorted(self.foreign_keys.items()):
            columns = tuple(rows.columns)
            # A parent without a primary key leaves nothing to resolve to; SQLite itself rejects such a key on use.
            referred = tuple(r for r in rows.referred if r is not None)
            name = ddl.fk_names.get((tuple(_fold(c) for c in columns), _fold(rows.parent)))
            if name is None:
                name = f"fk_{self.name}_{'_'.join(columns)}"
                if name in used:
                    name = f"{name}_{rows.parent}"
                if name in used:
                    name = f"{name}_{fk_id}"
            used.add(name)
            keys.append(
                ForeignKey(
                    name=name,
                    columns=columns,
                    referred_schema=SCHEMA,
                    referred_table=rows.parent,
                    referred_columns=referred,
                    on_delete=rows.on_delete,
                    on_update=rows.on_update,
                )
            )
        return tuple(sorted(keys, key=lambda k: (k.name, k.columns)))

    def _properties(self, ddl: _TableDDL) -> dict[str, Any]:
        properties: dict[str, Any] = {}
        if ddl.without_rowid:
            properties["without_rowid"] = True
        if ddl.strict:
            properties["strict"] = True
        if self.is_virtual:
            match = _VIRTUAL.match(self.sql)
            properties["virtual_module"] = match.group(1) if match else None
        if self.error:
            properties["discovery_error"] = self.error
        return properties


def _index_columns(index: _IndexRows) -> tuple[str, ...]:
    expressions = _parse_index_terms(index.sql) if index.sql else []
    columns: list[str] = []
    for seqno, cid, name in sorted(index.columns):
        if name is not None:
            columns.append(name)
        elif cid == -1:
            columns.append("rowid")
        else:
            # cid -2: an expression; the pragma does not say which, the CREATE INDEX statement does.
            columns.append(expressions[seqno] if seqno < len(expressions) else "<expression>")
    return tuple(columns)


# -- reading CREATE statements --------------------------------------------------------------------------------------

_VIRTUAL = re.compile(r"\s*CREATE\s+VIRTUAL\s+TABLE\b.*?\bUSING\s+([\w$]+)", re.IGNORECASE | re.DOTALL)

_TOKENS = re.compile(
    r"""
    (?P<space>\s+|--[^\n]*|/\*.*?(?:\*/|\Z))
    |(?P<string>'(?:[^']|'')*'?)
    |(?P<quoted>"(?:[^"]|"")*"?|`(?:[^`]|``)*`?|\[[^\]]*\]?)
    |(?P<word>[\w$]+)
    |(?P<symbol>.)
    """,
    re.VERBOSE | re.DOTALL,
)

_TABLE_CONSTRAINT_START = {"CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN"}
# A `CONSTRAINT name` prefix names only the constraint that follows it.
_COLUMN_CONSTRAINT_KEYWORDS = {
    "PRIMARY", "UNIQUE", "REFERENCES", "NOT", "NULL", "CHECK", "DEFAULT", "COLLATE", "GENERATED",
}


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str
    text: str
    start: int
    end: int

    @property
    def upper(self) -> str:
        return self.text.upper() if self.kind == "word" else ""

    def identifier(self) -> str:
        """The name a token spells, with SQLite's quoting ("x", [x], `x`, 'x') removed."""
        text = self.text
        if self.kind in ("quoted", "string") and len(text) >= 2:
            opener, body = text[0], text[1:-1]
            if opener == "[":
                return body
            return body.replace(opener * 2, opener)
        return text


def _tokenize(sql: str) -> list[_Token]:
    return [
        _Token(m.lastgroup or "symbol", m.group(), m.start(), m.end())
        for m in _TOKENS.finditer(sql)
        if m.lastgroup != "space"
    ]


def _matching(tokens: list[_Token], open_at: int) -> int:
    """Index of the `)` that closes the `(` at `open_at` (or the last token if the SQL is truncated)."""
    depth = 0
    for i in range(open_at, len(tokens)):
        if tokens[i].text == "(":
            depth += 1
        elif tokens[i].text == ")":
            depth -= 1
            if depth == 0:
                return i
    return len(tokens) - 1


def _split_top_level(tokens: list[_Token]) -> list[list[_Token]]:
    items: list[list[_Token]] = [[]]
    depth = 0
    for token in tokens:
        if token.text == "(":
            depth += 1
        elif token.text == ")":
            depth -= 1
        if token.text == "," and depth == 0:
            items.append([])
        else:
            items[-1].append(token)
    return [item for item in items if item]


def _name_list(tokens: list[_Token], open_at: int) -> tuple[tuple[str, ...], int]:
    """The case-folded column names of a parenthesised list starting at `open_at`, and the index after it."""
    close = _matching(tokens, open_at)
    names = tuple(_fold(item[0].identifier()) for item in _split_top_level(tokens[open_at + 1 : close]))
    return names, close + 1


@dataclass(slots=True)
class _TableDDL:
    """What a CREATE TABLE statement says that the pragmas do not."""

    without_rowid: bool = False
    strict: bool = False
    pk_name: str | None = None
    generated: dict[str, str] = field(default_factory=dict)
    unique_names: dict[tuple[str, ...], str] = field(default_factory=dict)
    fk_names: dict[tuple[tuple[str, ...], str], str] = field(default_factory=dict)


def _parse_create_table(sql: str) -> _TableDDL:
    ddl = _TableDDL()
    tokens = _tokenize(sql)
    open_at = next((i for i, t in enumerate(tokens) if t.text == "(" or t.upper == "AS"), None)
    if open_at is None or tokens[open_at].upper == "AS":
        return ddl  # CREATE TABLE … AS SELECT declares no constraints
    close = _matching(tokens, open_at)
    for item in _split_top_level(tokens[open_at + 1 : close]):
        if item[0].upper in _TABLE_CONSTRAINT_START:
            _parse_table_constraint(item, ddl)
        else:
            _parse_column_definition(sql, item, ddl)
    tail = [t.upper for t in tokens[close + 1 :]]
    ddl.without_rowid = any(a == "WITHOUT" and b == "ROWID" for a, b in zip(tail, tail[1:]))
    ddl.strict = "STRICT" in tail
    return ddl


def _parse_table_constraint(item: list[_Token], ddl: _TableDDL) -> None:
    name = None
    i = 0
    if item[0].upper == "CONSTRAINT" and len(item) > 1:
        name, i = item[1].identifier(), 2
    if i >= len(item) or name is None:
        return  # unnamed constraints keep the names SQLite or the connector give them
    keyword = item[i].upper
    paren = next((j for j in range(i, len(item)) if item[j].text == "("), None)
    if paren is None:
        return
    columns, after = _name_list(item, paren)
    if keyword == "PRIMARY":
        ddl.pk_name = name
    elif keyword == "UNIQUE":
        ddl.unique_names.setdefault(columns, name)
    elif keyword == "FOREIGN":
        ref = next((j for j in range(after, len(item)) if item[j].upper == "REFERENCES"), None)
        if ref is not None and ref + 1 < len(item):
            ddl.fk_names.setdefault((columns, _fold(item[ref + 1].identifier())), name)


def _parse_column_definition(sql: str, item: list[_Token], ddl: _TableDDL) -> None:
    column = _fold(item[0].identifier())
    pending_name: str | None = None
    depth = 0
    i = 1
    while i < len(item):
        token = item[i]
        if token.text == "(":
            depth += 1
        elif token.text == ")":
            depth -= 1
        elif depth == 0 and token.kind == "word":
            keyword = token.upper
            if keyword == "CONSTRAINT" and i + 1 < len(item):
                pending_name = item[i + 1].identifier()
                i += 2
                continue
            if keyword == "PRIMARY" and pending_name:
                ddl.pk_name = pending_name
            elif keyword == "UNIQUE" and pending_name:
                ddl.unique_names.setdefault((column,), pending_name)
            elif keyword == "REFERENCES" and pending_name and i + 1 < len(item):
                ddl.fk_names.setdefault(((column,), _fold(item[i + 1].identifier())), pending_name)
            elif keyword == "AS" and i + 1 < len(item) and item[i + 1].text == "(":
                close = _matching(item, i + 1)
                ddl.generated[column] = sql[item[i + 1].end : item[close].start].strip()
                i = close + 1
                continue
            if keyword in _COLUMN_CONSTRAINT_KEYWORDS:
                pending_name = None
        i += 1


def _parse_index_terms(sql: str) -> list[str]:
    """The indexed terms of a CREATE INDEX statement, as written, without COLLATE and ASC/DESC."""
    tokens = _tokenize(sql)
    on = next((i for i, t in enumerate(tokens) if t.upper == "ON"), None)
    if on is None:
        return []
    open_at = next((i for i in range(on, len(tokens)) if tokens[i].text == "("), None)
    if open_at is None:
        return []
    close = _matching(tokens, open_at)
    terms: list[str] = []
    for item in _split_top_level(tokens[open_at + 1 : close]):
        if item and item[-1].upper in ("ASC", "DESC"):
            item = item[:-1]
        if len(item) > 2 and item[-2].upper == "COLLATE":
            item = item[:-2]
        terms.append(sql[item[0].start : item[-1].end] if item else "")
    return terms


# -- incremental reads ----------------------------------------------------------------------------------------------


def _quote(name: str) -> str:
    """An SQL identifier: double-quoted, embedded quotes doubled, so no name can change the statement."""
    return '"' + name.replace('"', '""') + '"'


def _affinity_type(declared: str) -> pa.DataType:
    # SQLite's own rules (https://sqlite.org/datatype3.html §3.1), in its order, plus BOOL and DATE/TIME.
    kind = declared.upper()
    if "INT" in kind:
        return pa.int64()
    if any(word in kind for word in ("CHAR", "CLOB", "TEXT")):
        return pa.string()
    if "BLOB" in kind:
        return pa.binary()
    if kind.strip() == "" or kind.strip() == "ANY":
        return pa.string()
    if any(word in kind for word in ("REAL", "FLOA", "DOUB")):
        return pa.float64()
    if "BOOL" in kind:
        return pa.bool_()
    if "DATE" in kind or "TIME" in kind:
        return pa.string()
    return pa.float64()


def _as_text(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, (int, float)):
        return repr(value) if isinstance(value, float) else str(value)
    return value


def _as_bool(value: Any) -> Any:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise TypeError(f"{value!r} is not 0 or 1")


def _sqlite_batch(rows: list[tuple], schema: pa.Schema, table: str) -> pa.RecordBatch:
    arrays = []
    for index, field_ in enumerate(schema):
        values = [row[index] for row in rows]
        try:
            if field_.type == pa.string():
                values = [_as_text(v) for v in values]
            elif field_.type == pa.bool_():
                values = [_as_bool(v) for v in values]
            arrays.append(pa.array(values, type=field_.type))
        except (TypeError, ValueError, pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            bad = next((v for v in values if v is not None and not _fits(v, field_.type)), None)
            raise ConnectorError(
                f"column {field_.name!r} of {SCHEMA}.{table} holds {type(bad).__name__} value {bad!r:.60}, which "
                f"does not fit its declared type ({field_.type}); SQLite only enforces types in STRICT tables"
            ) from None
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _fits(value: Any, arrow_type: pa.DataType) -> bool:
    try:
        pa.array([_as_bool(value) if arrow_type == pa.bool_() else value], type=arrow_type)
        return True
    except (TypeError, ValueError, pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        return False
