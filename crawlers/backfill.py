"""Backfills: read a table's rows again — those whose plan-column value lies in a range, or all of them — into the
lake, so that afterwards the lake holds each of those rows once, as the source has them now.

**A backfill is one run**, `backfill-<20 hex digits>`, its id derived from the table, the plan, the range and a
salt (the application's job id), so every attempt of one backfill writes the same names. It writes:

1. *range chunks*: the source's rows in the range (`IncrementRequest.range`; a FULL plan reads every row), cut
   like an extraction's chunks, never between two rows with the same plan value;
2. *remainder chunks*: for each chunk of an older committed run that holds rows in the range, the chunk's other
   rows (none when all its rows are in the range);
3. the manifest, last, listing both and, in `supersedes`, the older chunks they replace. Writing it is the one
   atomic step: before it, readers see the lake as it was; after it, `Lake.committed_runs` leaves the superseded
   chunks out, so every row of the range comes from the backfill and every other row from where it was.

**Resuming**: range chunks are durable and ordered by the plan column, so an attempt that finds some from an earlier
one (killed, say) keeps the leading ones and reads on after the last one's largest value; remainder chunks and
anything else are written again. A backfill whose run is committed is not run twice (`reused`).

The watermark of the table's extraction is not this module's: a backfill neither reads nor moves it. The caller
keeps the range at or below it, so the next extraction (`col > watermark`) reads none of the backfill's rows, and
holds the table's extraction lock: one extraction or backfill of a table at a time.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from crawlers.connector import Connector
from crawlers.extract import DEFAULT_CHUNK_ROWS, _chunk_from_footer, _ChunkCutter, _prefetched, recover_runs
from crawlers.increment import IncrementRequest, IncrementStrategy, ValueRange
from crawlers.lake import BACKFILL_RUN_PREFIX, ChunkInfo, Lake, RunManifest, utc_now
from crawlers.lake.manifest import range_to_json
from crawlers.tracing import source_span

RANGE, REMAINDER = "range", "remainder"
"""The `role` of a backfill chunk in its footer: rows read from the source, or an older chunk's rows kept."""

@dataclass(frozen=True, slots=True)
class BackfillResult:
    """What one backfill did."""

    run_id: str
    """`backfill-…`, the same on every attempt of one backfill."""
    rows: int
    """Rows read from the source (with those of resumed chunks)."""
    bytes: int
    """Bytes of the run's chunks, remainders included."""
    chunks: int
    superseded: int
    """Chunks of older runs replaced."""
    kept_rows: int
    """Rows of superseded chunks outside the range, written again as remainder chunks."""
    resumed_chunks: int = 0
    """Range chunks an earlier attempt had written, kept."""
    reused: bool = False
    """The backfill's run was already committed: nothing was read."""
    elapsed_s: float = 0.0


ChunkProgress = Callable[[ChunkInfo, int], None]
"""`on_chunk(chunk, rows_so_far)`: called after each durable range chunk (a job reports progress, checks for stop)."""


def backfill_run_id(request: IncrementRequest, *, salt: str = "") -> str:
    """`backfill-<20 hex digits>` from the table, the plan, the range and `salt`."""
    key = json.dumps({
        "schema": request.table.schema, "table": request.table.name, "strategy": str(request.plan.strategy),
        "column": request.plan.column, "range": range_to_json(request.range) if request.range else None,
        "salt": salt,
    }, sort_keys=True, separators=(",", ":"))
    return f"{BACKFILL_RUN_PREFIX}{hashlib.sha256(key.encode('utf-8')).hexdigest()[:20]}"


def backfill(
    connector: Connector,
    request: IncrementRequest,
    lake: Lake,
    source_name: str,
    *,
    watermark: Any = None,
    salt: str = "",
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    on_chunk: ChunkProgress | None = None,
    prefetch_batches: int = 4,
    clock: Callable[[], datetime] = utc_now,
) -> BackfillResult:
    """Backfill `request.range` of the table (a TIMESTAMP/KEY plan), or all of it (a FULL plan); see the module doc.

    `watermark` is the table's persisted extraction watermark: crashed extraction runs are repaired against it
    first (`crawlers.extract.recover_runs`), so none is sealed later with rows the backfill holds too.
    """
    if request.plan.strategy is not IncrementStrategy.FULL and request.range is None:
        raise ValueError("a TIMESTAMP or KEY backfill reads a range: give `request.range`")
    started = time.perf_counter()
    table, plan = request.table, request.plan
    where = (source_name, table.schema, table.name)
    run_id = backfill_run_id(request, salt=salt)
    done = lake.manifest(*where, run_id)
    if done is not None:
        return BackfillResult(run_id, done.rows, done.bytes, len(done.chunks), len(done.supersedes), 0, reused=True,
                              elapsed_s=time.perf_counter() - started)
    recover_runs(lake, source_name, IncrementRequest(table, plan, watermark))
    _drop_other_backfills(lake, where, run_id)
    chunks = _resumable(lake, where, run_id, plan.strategy)
    resumed = len(chunks)
    read = request
    if chunks:  # carry on after the last durable chunk's largest value
        read = replace(request, range=replace(request.range, low=chunks[-1].max, low_inclusive=False, nulls=False))
    footer = {"source": source_name, "schema": table.schema, "table": table.name, "strategy": str(plan.strategy),
              "column": plan.column, "backfill": run_id, "role": RANGE}
    with source_span("read backfill", {"db.collection.name": f"{table.schema}.{table.name}",
                                       "catalog.increment.strategy": str(plan.strategy)}):
        batches = _prefetched(connector.read_increment(read), depth=prefetch_batches)
        try:
            cutter = _ChunkCutter(batches, plan.column, chunk_rows)
            while cutter.has_more():
                chunks.append(lake.write_chunk(*where, run_id, len(chunks), cutter.chunk(), plan_column=plan.column,
                                               metadata=footer))
                if on_chunk is not None:
                    on_chunk(chunks[-1], sum(c.rows for c in chunks))
        finally:
            batches.close()
    remainders, superseded = _supersede(lake, where, run_id, request.range, plan.column, len(chunks),
                                        {**footer, "role": REMAINDER})
    maxima = [c.max for c in chunks if c.max is not None]
    lake.write_manifest(*where, RunManifest(
        run_id=run_id, chunks=tuple(chunks + remainders), strategy=str(plan.strategy), column=plan.column,
        watermark_from=request.range.low if request.range else None,
        watermark_to=maxima[-1] if maxima else None, committed_at=clock(), range=request.range,
        supersedes=tuple(superseded), extra={"backfill": True},
    ))
    return BackfillResult(run_id, sum(c.rows for c in chunks), sum(c.bytes for c in chunks + remainders),
                          len(chunks), len(superseded), sum(c.rows for c in remainders), resumed_chunks=resumed,
                          elapsed_s=time.perf_counter() - started)


def _drop_other_backfills(lake: Lake, where: tuple[str, str, str], keep: str) -> None:
    """Uncommitted backfill runs other than `keep` (a backfill that failed for good): their files go."""
    for run_id in lake.run_ids(*where):
        if run_id != keep and run_id.startswith(BACKFILL_RUN_PREFIX) and lake.manifest(*where, run_id) is None:
            for path in lake.chunk_files(*where, run_id) + lake.temporary_files(*where, run_id):
                lake.remove(path)


def _resumable(lake: Lake, where: tuple[str, str, str], run_id: str, strategy: IncrementStrategy) -> list[ChunkInfo]:
    """The leading range chunks an earlier attempt left in the run's folder; every other file there is removed."""
    for path in lake.temporary_files(*where, run_id):
        lake.remove(path)
    kept: list[ChunkInfo] = []
    for path in lake.chunk_files(*where, run_id):
        try:
            meta = lake.chunk_metadata(path)
        except Exception:  # noqa: BLE001 - an unreadable file is written again
            meta = {}
        if (strategy is not IncrementStrategy.FULL and meta.get("role") == RANGE
                and meta.get("chunk_no") == len(kept) and meta.get("max") is not None):
            kept.append(_chunk_from_footer(path, run_id, meta, lake))
        else:
            lake.remove(path)
    return kept


def _supersede(lake: Lake, where: tuple[str, str, str], run_id: str, covers: ValueRange | None, column: str | None,
               first_no: int, footer: dict[str, Any]) -> tuple[list[ChunkInfo], list[str]]:
    """The remainder chunks written and the refs of the older chunks replaced (every one when `covers` is None)."""
    remainders: list[ChunkInfo] = []
    superseded: list[str] = []
    for run in lake.committed_runs(*where):
        if run.run_id == run_id:
            continue
        for chunk in run.chunks:
            inside = None if covers is None else _inside(lake, run, chunk, covers, column)
            if inside is not None and not pc.any(inside).as_py():
                continue
            superseded.append(chunk.ref)
            if inside is None or pc.all(inside).as_py():
                continue
            with lake.fs.open(chunk.path, "rb") as handle:
                kept = pq.read_table(handle).filter(pc.invert(inside))
            remainders.append(lake.write_chunk(*where, run_id, first_no + len(remainders), kept.to_batches(),
                                               plan_column=column, metadata={**footer, "replaces": chunk.ref}))
    return remainders, superseded


_COMPARE = {">": pc.greater, ">=": pc.greater_equal, "<": pc.less, "<=": pc.less_equal}


def _inside(lake: Lake, run: RunManifest, chunk: ChunkInfo, covers: ValueRange, column: str | None) -> pa.Array:
    """Per row of `chunk`: whether its `column` value is in `covers` (a chunk without the column: NULLs)."""
    if run.column == column and run.strategy != str(IncrementStrategy.FULL) and not covers.nulls \
            and _misses(chunk, covers):
        return pa.array([False])  # ordered by the column, its values lie between min and max: none in range
    with lake.fs.open(chunk.path, "rb") as handle:
        parquet = pq.ParquetFile(handle)
        if column not in parquet.schema_arrow.names:
            return pa.array([covers.nulls] * chunk.rows, pa.bool_())
        values = parquet.read(columns=[column]).column(0).combine_chunks()
    inside = pa.array([True] * len(values), pa.bool_())
    for op, bound in covers.conditions():
        inside = pc.and_(inside, _COMPARE[op](values, pa.scalar(bound, type=values.type)))
    return pc.fill_null(inside, covers.nulls)


def _misses(chunk: ChunkInfo, covers: ValueRange) -> bool:
    """Whether the chunk's values, between its min and max, all lie outside `covers` (False when it cannot tell)."""
    if chunk.min is None or chunk.max is None:
        return False
    try:
        below = covers.low is not None and (chunk.max < covers.low
                                            or (chunk.max == covers.low and not covers.low_inclusive))
        above = covers.high is not None and (chunk.min > covers.high
                                             or (chunk.min == covers.high and not covers.high_inclusive))
    except TypeError:  # values of another type than the bounds: read the chunk instead
        return False
    return below or above
