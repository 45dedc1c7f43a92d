"""What a profile job reads: the tables it covers, and each table's data, from the lake when the lake holds the
whole table, else live through the source's connector into a local Parquet file."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from fsspec.implementations.local import LocalFileSystem
from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog_api.db.models import Column, DataSource, Schema, Table
from catalog_api.services.crawl import table_snapshot
from catalog_api.services.profiling.thresholds import table_thresholds
from crawlers.increment import IncrementPlan, IncrementRequest, IncrementStrategy
from crawlers.lake import Lake, RunManifest
from profiler import AnomalyThresholds

if TYPE_CHECKING:
    from crawlers.connector import Connector

PROFILED_KINDS = ("table", "file", "foreign_table", "materialized_view")
"""Kinds a whole-source profile covers; views are profiled only when asked for by name (each read runs the view)."""


def complete_lake_runs(runs: list[RunManifest]) -> list[RunManifest] | None:
    """The committed runs that together hold the whole table, or None when the lake cannot say.

    A full snapshot holds the table as it was; an append-only key plan holds it as the runs since the last complete
    read (a full run, a first run without a watermark, a backfill of every row). A timestamp plan brings updated
    rows again, so its runs are a change history, not the table.
    """
    if not runs:
        return None
    newest = runs[-1]
    if newest.strategy == IncrementStrategy.FULL:
        return [newest]
    if newest.strategy != IncrementStrategy.KEY:
        return None
    start = max((i for i, run in enumerate(runs) if run.reads_from_start), default=None)
    if start is None:
        return None
    window = runs[start:]
    if any(run.strategy not in (IncrementStrategy.FULL, IncrementStrategy.KEY) for run in window):
        return None
    if any(run.strategy == IncrementStrategy.FULL for run in window[1:]):
        return None
    return window


@dataclass
class Target:
    """One table a job profiles, with what is needed to read it once the catalog session is closed."""

    table_id: int
    urn: str
    schema: str
    name: str
    request: IncrementRequest
    declared_keys: list[tuple[str, ...]]
    thresholds: AnomalyThresholds


@dataclass
class TableRead:
    """A table as Parquet files on this machine, where the profile reads it (in-process or on Spark)."""

    files: list[str]
    read_from: str
    lake_runs: list[str]
    size_bytes: int | None


def read_lake(target_lake: Lake, runs: list[RunManifest], workdir: Path) -> TableRead:
    files = [chunk.path for run in runs for chunk in run.chunks]
    size = sum(run.bytes for run in runs)
    if not isinstance(target_lake.fs, LocalFileSystem):
        # Spark here carries no object-store connector; copy the (already compressed) files next to it.
        local = []
        for index, path in enumerate(files):
            destination = workdir / f"lake-{index:05d}.parquet"
            target_lake.fs.get(path, str(destination))
            local.append(str(destination))
        files = local
    return TableRead(files, "lake", [run.run_id for run in runs], size)


def read_source(connector: Connector, target: Target, workdir: Path,
                between_batches: Callable[[], None] = lambda: None) -> TableRead:
    """Streams the table through its connector into a local Parquet file, so it is read like lake data and a
    large table never has to fit in the driver's memory. `between_batches` may raise to end a long read early (a
    stopping process)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = workdir / "source.parquet"
    writer: pq.ParquetWriter | None = None
    try:
        for batch in connector.read_increment(target.request):
            between_batches()
            if writer is None:
                writer = pq.ParquetWriter(path, batch.schema, compression="zstd")
            writer.write_batch(batch)
    finally:
        if writer is not None:
            writer.close()
    if writer is None:
        # No batch at all: an empty table whose types the connector did not tell; the profile still says 0 rows.
        empty = pa.table({c.name: pa.array([], pa.string()) for c in target.request.table.columns})
        pq.write_table(empty, path)
    return TableRead([str(path)], "source", [], path.stat().st_size)


@contextmanager
def workdir(base: Path | None = None) -> Iterator[Path]:
    """A job's own folder for the Parquet it profiles, under `base` (`profile_work_dir`: on a Spark cluster, storage
    the executors see at the same path) or the system's temporary folder; removed with everything in it."""
    if base is not None:
        base.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix="catalog-profile-", dir=base))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def profile_targets(session: Session, source: DataSource, wanted: set[str]) -> list[Target]:
    query = (select(Table, Schema.name).join(Schema, Schema.id == Table.schema_id)
             .where(Table.source_id == source.id, Table.deleted_at.is_(None)).order_by(Schema.name, Table.name))
    targets = []
    for table, schema in session.execute(query).all():
        if wanted and table.urn not in wanted:
            continue
        if not wanted and table.kind not in PROFILED_KINDS:
            continue
        columns = session.scalars(select(Column).where(Column.table_id == table.id, Column.deleted_at.is_(None)))
        snapshot = table_snapshot(schema, table, columns)
        declared = [tuple(snapshot.primary_key.columns)] if snapshot.primary_key else []
        declared += [tuple(u.columns) for u in snapshot.unique_constraints]
        targets.append(Target(
            table.id, table.urn, schema, table.name,
            IncrementRequest(snapshot, IncrementPlan(IncrementStrategy.FULL, None), None),
            list(dict.fromkeys(declared)), table_thresholds(table)))
    return targets
