"""Catalog content without a live source: a `DataSource` row plus synthetic snapshots applied with
`crawl.apply_snapshot`, exactly as a crawl would store them."""

from __future__ import annotations

import random
from typing import Any

from sqlalchemy import func, select

from catalog_api.db.models import DataSource
from catalog_api.services import crawl
from catalog_api.services.context import ServiceContext
from catalog_api.urns import source_urn
from crawlers.snapshot import ColumnSnapshot, SchemaSnapshot, SourceSnapshot, TableSnapshot


def make_source(ctx: ServiceContext, name: str = "warehouse") -> int:
    """A registered source row (no live database behind it); returns its id."""
    with ctx.db.session() as session:
        source = DataSource(
            name=name, urn=source_urn(name), kind="sqlite", config={"path": f"/nowhere/{name}.db"},
            secret_refs={}, lineage_namespace=f"test://{name}",
        )
        session.add(source)
        session.flush()
        return source.id


def make_columns(count: int, seed: int = 0) -> tuple[ColumnSnapshot, ...]:
    """`count` columns whose name order differs from their ordinal order."""
    names = [f"col_{n:03d}" for n in range(count)]
    random.Random(seed).shuffle(names)
    return tuple(
        ColumnSnapshot(name, ordinal, "integer" if ordinal % 2 else "text", nullable=ordinal != 1)
        for ordinal, name in enumerate(names, start=1)
    )


def make_table(schema: str, name: str, columns: int | tuple[ColumnSnapshot, ...] = 5, seed: int = 0,
               **fields: Any) -> TableSnapshot:
    cols = make_columns(columns, seed) if isinstance(columns, int) else columns
    return TableSnapshot(schema=schema, name=name, columns=cols, **fields)


def make_catalog(tables: int, schemas: int, seed: int = 0, prefix: str = "table") -> SourceSnapshot:
    """`tables` tables spread round-robin over `schemas` schemas, with 5 to 20 columns each, in shuffled order."""
    schema_names = [f"schema_{s}" for s in range(schemas)]
    names = [f"{prefix}_{t:04d}" for t in range(tables)]
    random.Random(seed).shuffle(names)
    return SourceSnapshot(
        schemas=tuple(SchemaSnapshot(s) for s in schema_names),
        tables=tuple(
            make_table(schema_names[i % schemas], name, 5 + (i * 7) % 16, seed=i, row_estimate=i * 1000)
            for i, name in enumerate(names)
        ),
    )


def apply(ctx: ServiceContext, source_id: int, snapshot: SourceSnapshot) -> crawl.CrawlResult:
    """Stores `snapshot` as the source's crawl result; returns what `apply_snapshot` reports."""
    with ctx.db.session() as session:
        return crawl.apply_snapshot(session, session.get(DataSource, source_id), snapshot)


def source_count(ctx: ServiceContext) -> int:
    with ctx.db.session() as session:
        return session.scalar(select(func.count()).select_from(DataSource))
