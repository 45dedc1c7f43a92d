"""SQLite databases for the foreign-key search, and SQLite's own catalog as its oracle.

- `export_tables` reads every table of a SQLite file through the catalog's SQLite connector into Parquet, as a
  profile job reads a source, with the keys the job declares to the profiler (primary key and unique constraints);
- `declared_foreign_keys` reads the foreign keys from `PRAGMA foreign_key_list`, never from the connector;
- `score` compares what the search found with them;
- `build_generated_schema` writes a seeded many-table schema with declared foreign keys named the ways schemas
  name them (`customer_id`, `billing_customer_id`, `po_id`, `parent_id`, `currency_code`) next to decoy columns
  whose values fall inside the parents' key ranges (quantities, counts, years, status codes, line numbers).

The benchmark `benchmarks/foreign_keys.py` uses the same helpers.
"""

from __future__ import annotations

import random
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from tests.support.sqlite import quote

Link = tuple[str, tuple[str, ...], str, tuple[str, ...]]
"""(child table, child columns, parent table, parent columns)."""


@dataclass(frozen=True)
class ExportedTable:
    """One table as Parquet files, with the keys its source declares."""

    name: str
    files: list[str]
    declared_keys: list[tuple[str, ...]]


def export_tables(database: Path, folder: Path) -> dict[str, ExportedTable]:
    """Every table of the SQLite file as one Parquet file, read through the connector as a profile job reads it."""
    import pyarrow.parquet as pq

    from crawlers.connectors.sqlite import SqliteConnector
    from crawlers.increment import IncrementPlan, IncrementRequest, IncrementStrategy
    from crawlers.snapshot import TableKind

    connector = SqliteConnector.from_mapping({"path": str(database)})
    snapshot = connector.discover()
    tables: dict[str, ExportedTable] = {}
    for table in snapshot.tables:
        if table.kind is not TableKind.TABLE:
            continue
        path = folder / f"{table.name}.parquet"
        request = IncrementRequest(table, IncrementPlan(IncrementStrategy.FULL, None), None)
        writer = None
        for batch in connector.read_increment(request):
            writer = writer or pq.ParquetWriter(path, batch.schema)
            writer.write_batch(batch)
        assert writer is not None, f"{table.name} is empty"
        writer.close()
        declared = [table.primary_key.columns] if table.primary_key else []
        declared += [u.columns for u in table.unique_constraints]
        tables[table.name] = ExportedTable(table.name, [str(path)], list(dict.fromkeys(map(tuple, declared))))
    return tables


def declared_foreign_keys(database: Path) -> set[Link]:
    """The foreign keys SQLite itself reports, a reference without parent columns resolved to the parent's
    primary key, as SQLite resolves it."""
    conn = sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True)
    try:
        names = [r[0] for r in conn.execute("select name from sqlite_schema where type = 'table' "
                                            "and name not like 'sqlite_%'")]
        links: set[Link] = set()
        for child in names:
            by_id: dict[int, list[tuple]] = {}
            for row in conn.execute(f"select id, seq, \"table\", \"from\", \"to\" from pragma_foreign_key_list("
                                    f"{quote(child)}) order by id, seq"):
                by_id.setdefault(row[0], []).append(row)
            for rows in by_id.values():
                parent = rows[0][2]
                to = tuple(r[4] for r in rows)
                if None in to:
                    to = tuple(r[0] for r in conn.execute(
                        f"select name from pragma_table_info({quote(parent)}) where pk > 0 order by pk"))
                links.add((child, tuple(r[3] for r in rows), parent, to))
        return links
    finally:
        conn.close()


def score(found: set[Link], declared: set[Link]) -> tuple[float, float]:
    """(precision, recall) of the found foreign keys against the declared ones."""
    hits = len(found & declared)
    return (hits / len(found) if found else 1.0), (hits / len(declared) if declared else 1.0)


# -- a generated schema ---------------------------------------------------------------------------------------------

_ENTITIES = (
    "customers", "vendors", "products", "warehouses", "employees", "departments", "projects", "invoices",
    "payments", "shipments", "carriers", "regions", "countries", "stores", "suppliers", "contracts", "tickets",
    "agents", "campaigns", "accounts", "ledgers", "assets", "licenses", "devices", "sensors", "readings",
    "courses", "students", "teachers", "rooms", "bookings", "guests", "vehicles", "drivers", "routes", "parcels",
    "branches", "policies", "claims", "brokers", "sales_orders", "purchase_orders", "product_categories",
    "cost_centers", "work_orders", "service_requests", "price_lists", "tax_codes", "bank_accounts",
    "delivery_notes",
)
_ROLES = ("billing", "shipping", "primary", "owner", "assigned", "source", "target", "approved_by")


def _singular(table: str) -> str:
    from profiler.key_names import singular

    *head, last = table.split("_")
    return "_".join([*head, singular(last)])


def build_generated_schema(path: Path, *, tables: int = 50, seed: int = 11) -> Path:
    """A SQLite schema of `tables` tables with declared foreign keys and decoys; see the module's docstring."""
    if not 1 <= tables <= len(_ENTITIES):
        raise ValueError(f"tables must be in [1, {len(_ENTITIES)}], got {tables}")
    rng = random.Random(seed)
    names = list(_ENTITIES[:tables])
    coded = set(rng.sample(names[:10], 2))  # a few tables keyed by a short text code, referenced as `<x>_code`
    rows = {name: rng.randint(40, 1500) for name in names}
    keys: dict[str, list] = {}
    conn = sqlite3.connect(path)
    try:
        for index, name in enumerate(names):
            columns: list[str] = []
            values: dict[str, list] = {}
            n = rows[name]
            if name in coded:
                columns.append("code TEXT PRIMARY KEY")
                keys[name] = [f"{name[:2].upper()}{i:04d}" for i in range(n)]
                values["code"] = keys[name]
            else:
                columns.append("id INTEGER PRIMARY KEY")
                keys[name] = list(range(1, n + 1))
                values["id"] = keys[name]
            columns.append("name TEXT NOT NULL")
            values["name"] = [f"{_singular(name).replace('_', ' ')} {rng.randint(1, 10**6)}" for _ in range(n)]
            parents = rng.sample(names[:index], min(index, rng.choice((0, 1, 2, 2, 3))))
            for parent in parents:
                key = "code" if parent in coded else "id"
                style = rng.random()
                if style < 0.15 and "_" in parent:
                    column = "".join(w[0] for w in parent.split("_")) + f"_{key}"
                elif style < 0.35:
                    column = f"{rng.choice(_ROLES)}_{_singular(parent)}_{key}"
                else:
                    column = f"{_singular(parent)}_{key}"
                if column in values:
                    continue
                share = rng.uniform(0.2, 1.0)
                pool = rng.sample(keys[parent], max(2, int(len(keys[parent]) * share)))
                nullable = rng.random() < 0.3
                columns.append(f"{column} {'TEXT' if key == 'code' else 'INTEGER'}"
                               f"{'' if nullable else ' NOT NULL'} REFERENCES {parent} ({key})")
                values[column] = [None if nullable and rng.random() < 0.1 else rng.choice(pool) for _ in range(n)]
            if name not in coded and rng.random() < 0.2:
                columns.append(f"parent_id INTEGER REFERENCES {name} (id)")
                values["parent_id"] = [None if i < 3 else rng.randint(1, i) for i in range(1, n + 1)]
            decoys = {
                "quantity": lambda: rng.randint(1, 100), "item_count": lambda: rng.randint(0, 500),
                "year": lambda: rng.randint(1990, 2025), "status_code": lambda: rng.randint(1, 9),
                "line_no": lambda: rng.randint(1, 12), "version_no": lambda: rng.randint(1, 30),
                "rating": lambda: rng.randint(1, 5), "created_at": lambda: (
                    f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:00:00Z"),
            }
            for decoy in rng.sample(sorted(decoys), 3):
                columns.append(f"{decoy} {'TEXT' if decoy == 'created_at' else 'INTEGER'} NOT NULL")
                values[decoy] = [decoys[decoy]() for _ in range(n)]
            conn.execute(f"CREATE TABLE {name} ({', '.join(columns)})")
            order = list(values)
            conn.executemany(f"INSERT INTO {name} ({', '.join(order)}) VALUES ({', '.join('?' * len(order))})",
                             list(zip(*(values[c] for c in order), strict=True)))
        conn.commit()
    finally:
        conn.close()
    return path
