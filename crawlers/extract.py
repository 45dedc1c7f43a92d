"""Incremental extraction: a connector's rows → Parquet chunks in the lake, with a watermark that never runs ahead.

The application's side of the contract is two lines: persist the watermark handed to `on_chunk_durable`, and
persist `ExtractionResult.watermark_to` when `extract_increment` returns; the next extraction of the table passes
the persisted value as `IncrementRequest.watermark` (store it with `encode_watermark`/`decode_watermark`, which
give back an equal value). Everything else is derived from the lake, so a crash anywhere needs no repair by hand.

**A run** is one extraction of one *window*: the table, its plan, and the watermark it starts from. Its id is
derived from the window (`window_run_id`), so a retry of a crashed extraction — which starts from the same
persisted watermark — writes the same chunk names again and overwrites instead of adding.

**Chunks** are cut every `chunk_rows` rows, but never between two rows with the same plan-column value: the
watermark after a chunk is the last value it holds, and `col > watermark` would otherwise skip the rest of that
value's rows. (A chunk may therefore exceed `chunk_rows` when many rows share one value.) Only after a chunk file
is durable (fsync'ed and renamed into place, or its upload committed) is `on_chunk_durable` called.

**Guarantees**, for a table with one extraction at a time and TIMESTAMP/KEY plans (a *row version* is a row with
the plan-column value it had when read, e.g. `(id, updated_at)`):

1. *Each row version exactly once per run*: a committed run holds each row of the run's snapshot (one REPEATABLE
   READ transaction) whose plan value is above the run's `watermark_from` exactly once, and no other row.
2. *Across runs, still once*: committed runs cover disjoint plan-value ranges `(watermark_from, watermark_to]`,
   so no row version is in two of them; replaying the committed runs oldest first and keeping the last version
   of each key reproduces the table as it was at the last run (minus deletes, which these strategies cannot see).
3. *Kill between chunk write and watermark save, re-run → no duplicate, no lost row*: the re-run starts from the
   last persisted watermark. It first repairs the crashed run (`recover_runs`): the chunks the persisted watermark
   covers (up to the chunk whose last value equals it) are kept and the crashed run is committed with just them
   (`RunManifest.recovered`); the others — including a chunk written but not acknowledged — are deleted, because
   the re-run reads their rows again. A crash before the first acknowledged chunk leaves the watermark unchanged,
   so the re-run has the same run id and simply rewrites the same names.
4. *Idempotent window*: calling again for a window whose run is already committed reads nothing and returns that
   run's result (`reused=True`), so a lost final save cannot cause a second copy. To re-extract on purpose (after
   resetting a watermark), pass a `run_id` of your own, e.g. `window_run_id(request, salt=job_id)`; to re-read a
   range of values that are already in the lake without a second copy, use `crawlers.backfill` instead.

FULL runs are snapshots: nothing is acknowledged mid-run (`on_chunk_durable` gets the unchanged watermark), a
crashed FULL run is discarded, and a run is visible only when complete. Their watermark is the time the snapshot
was taken, so each successful FULL run opens a new window; a repeated window gets a fresh `.<n>` run id suffix
rather than being skipped, since a second complete snapshot duplicates nothing.
"""

from __future__ import annotations

import hashlib
import json
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from crawlers.connector import Connector
from crawlers.increment import IncrementRequest, IncrementStrategy, decode_watermark, encode_watermark
from crawlers.lake import BACKFILL_RUN_PREFIX, ChunkInfo, Lake, RunManifest, check_run_id
from crawlers.tracing import source_span

DEFAULT_CHUNK_ROWS = 1_000_000

ChunkCallback = Callable[[ChunkInfo, Any], None]
"""`on_chunk_durable(chunk, watermark)`: persist `watermark`; it covers every row up to and including `chunk`."""


@dataclass(frozen=True, slots=True)
class ExtractionResult:
    """What one `extract_increment` call did: the figures an extraction job records."""

    run_id: str
    rows: int
    bytes: int
    watermark_from: Any
    watermark_to: Any
    chunks: tuple[ChunkInfo, ...]
    committed: bool
    """A manifest exists for the run (False only for a TIMESTAMP/KEY run that found no new row)."""
    reused: bool = False
    """The window's run was already committed: nothing was read, the figures are that run's."""
    recovered_runs: tuple[str, ...] = ()
    """Crashed runs of the table that were repaired (sealed with their acknowledged chunks) before this one."""
    elapsed_s: float = 0.0


def window_run_id(request: IncrementRequest, *, salt: str = "") -> str:
    """The run id of an extraction window: `<strategy>-<20 hex digits>` from table, plan and starting watermark."""
    key = json.dumps(
        {
            "schema": request.table.schema,
            "table": request.table.name,
            "strategy": str(request.plan.strategy),
            "column": request.plan.column,
            "from": encode_watermark(request.watermark),
            "salt": salt,
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    return f"{request.plan.strategy}-{hashlib.sha256(key.encode('utf-8')).hexdigest()[:20]}"


def extract_increment(
    connector: Connector,
    request: IncrementRequest,
    lake: Lake,
    source_name: str,
    run_id: str | None = None,
    *,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    on_chunk_durable: ChunkCallback | None = None,
    prefetch_batches: int = 4,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> ExtractionResult:
    """Extract the table's rows after `request.watermark` into `lake` under `source_name`; see the module doc.

    The connector is read in a background thread, up to `prefetch_batches` batches ahead, so the source keeps
    streaming while Parquet is encoded (both release the GIL for their heavy parts); 0 reads in the caller's
    thread. `run_id` defaults to `window_run_id(request)`. An exception from the connector, the lake or
    `on_chunk_durable` stops the run uncommitted; the next call for the table repairs it.
    """
    if not isinstance(chunk_rows, int) or chunk_rows < 1:
        raise ValueError(f"chunk_rows must be a positive integer, got {chunk_rows!r}")
    if not source_name:
        raise ValueError("source_name must be a non-empty string")
    started = time.perf_counter()
    table, plan = request.table, request.plan
    with source_span("read increment", {"db.collection.name": f"{table.schema}.{table.name}",
                                        "catalog.increment.strategy": str(plan.strategy)}) as span:
        result = _extract(connector, request, lake, source_name, run_id, chunk_rows, on_chunk_durable,
                          prefetch_batches, clock, started)
        if span is not None:
            span.set_attribute("catalog.increment.rows", result.rows)
    return result


def _extract(connector: Connector, request: IncrementRequest, lake: Lake, source_name: str, run_id: str | None,
             chunk_rows: int, on_chunk_durable: ChunkCallback | None, prefetch_batches: int,
             clock: Callable[[], datetime], started: float) -> ExtractionResult:
    table, plan = request.table, request.plan
    full = plan.strategy is IncrementStrategy.FULL
    base_id = check_run_id(run_id) if run_id is not None else window_run_id(request)
    where = (source_name, table.schema, table.name)

    existing = lake.manifest(*where, base_id)
    if existing is not None and not full:
        return _result_of(existing, reused=True, elapsed_s=time.perf_counter() - started)
    chosen = base_id if existing is None else _free_run_id(lake, where, base_id)
    recovered = recover_runs(lake, source_name, request, keep=chosen)
    # Only a caller-chosen run id retried after acknowledged chunks gets here with some: carry on after them.
    resumed = _acknowledged_chunks(lake, where, chosen, request)

    snapshot_time = clock() if full else None
    watermark = request.watermark
    run_from = decode_watermark(_footer_of_first(lake, resumed)) if resumed else request.watermark
    footer = {
        "source": source_name,
        "schema": table.schema,
        "table": table.name,
        "strategy": str(plan.strategy),
        "column": plan.column,
        "watermark_from": encode_watermark(run_from),
    }
    chunks: list[ChunkInfo] = list(resumed)
    batches = _prefetched(connector.read_increment(request), depth=prefetch_batches)
    try:
        cutter = _ChunkCutter(batches, plan.column, chunk_rows)
        while cutter.has_more():
            chunk = lake.write_chunk(
                *where, chosen, len(chunks), cutter.chunk(), plan_column=plan.column, metadata=footer
            )
            chunks.append(chunk)
            if not full and chunk.max is not None:
                watermark = chunk.max
            # Only now is the chunk durable: from here on a crash must not lose it, so the watermark may move.
            if on_chunk_durable is not None:
                on_chunk_durable(chunk, watermark)
    finally:
        batches.close()

    watermark_to = snapshot_time if full else watermark
    committed = bool(chunks) or full
    if committed:
        manifest = RunManifest(
            run_id=chosen,
            chunks=tuple(chunks),
            strategy=str(plan.strategy),
            column=plan.column,
            watermark_from=run_from,
            watermark_to=watermark_to,
            committed_at=clock(),
        )
        lake.write_manifest(*where, manifest)
    return ExtractionResult(
        run_id=chosen,
        rows=sum(c.rows for c in chunks[len(resumed):]),
        bytes=sum(c.bytes for c in chunks[len(resumed):]),
        watermark_from=request.watermark,
        watermark_to=watermark_to,
        chunks=tuple(chunks[len(resumed):]),
        committed=committed,
        recovered_runs=tuple(recovered),
        elapsed_s=time.perf_counter() - started,
    )


def _acknowledged_chunks(
    lake: Lake, where: tuple[str, str, str], run_id: str, request: IncrementRequest
) -> list[ChunkInfo]:
    described = [(path, lake.chunk_metadata(path)) for path in lake.chunk_files(*where, run_id)]
    cut = _acknowledged_prefix(described, request.plan.strategy, request.plan.column, request.watermark)
    return [_chunk_from_footer(path, run_id, meta, lake) for path, meta in described[:cut]]


def _footer_of_first(lake: Lake, chunks: list[ChunkInfo]) -> Any:
    """The encoded `watermark_from` of the run a chunk belongs to, from its Parquet footer."""
    return lake.chunk_metadata(chunks[0].path).get("watermark_from")


def recover_runs(lake: Lake, source_name: str, request: IncrementRequest, *, keep: str | None = None) -> list[str]:
    """Repair the table's crashed (uncommitted) runs against the persisted watermark `request.watermark`.

    In each uncommitted run folder: a chunk written by the same plan whose last plan value equals the watermark
    marks what was acknowledged — it and the chunks before it are committed as a `recovered` run; every other chunk
    (unacknowledged, another plan's, a FULL run's) and every temporary file is deleted. Returns the ids of the runs
    committed this way. `keep` names the run about to be written, whose stale files are deleted too.
    """
    table, plan = request.table, request.plan
    where = (source_name, table.schema, table.name)
    sealed: list[str] = []
    for run_id in lake.run_ids(*where):
        if run_id.startswith(BACKFILL_RUN_PREFIX) or lake.manifest(*where, run_id) is not None:
            continue  # a crashed backfill is its own job's to resume (`crawlers.backfill`)
        for temporary in lake.temporary_files(*where, run_id):
            lake.remove(temporary)
        described: list[tuple[str, dict[str, Any]]] = []
        for path in lake.chunk_files(*where, run_id):
            try:
                described.append((path, lake.chunk_metadata(path)))
            except Exception:  # noqa: BLE001 - an unreadable chunk cannot have been acknowledged
                described.append((path, {}))
        cut = _acknowledged_prefix(described, plan.strategy, plan.column, request.watermark)
        kept = described[:cut]
        for path, _ in described[cut:]:
            lake.remove(path)
        if kept and run_id != keep:  # `keep`'s acknowledged chunks stay uncommitted: that run carries on
            first = kept[0][1]
            lake.write_manifest(
                *where,
                RunManifest(
                    run_id=run_id,
                    chunks=tuple(_chunk_from_footer(path, run_id, meta, lake) for path, meta in kept),
                    strategy=str(plan.strategy),
                    column=plan.column,
                    watermark_from=decode_watermark(first.get("watermark_from")),
                    watermark_to=request.watermark,
                    committed_at=datetime.now(UTC),
                    recovered=True,
                ),
            )
            sealed.append(run_id)
    return sealed


def _acknowledged_prefix(
    described: list[tuple[str, dict[str, Any]]], strategy: IncrementStrategy, column: str | None, watermark: Any
) -> int:
    """How many leading chunks the watermark covers: up to the chunk whose last value equals it, else none."""
    if strategy is IncrementStrategy.FULL or watermark is None:
        return 0
    for index, (_, meta) in enumerate(described):
        if meta.get("strategy") != str(strategy) or meta.get("column") != column:
            return 0
        if meta.get("chunk_no") != index:
            return 0  # a gap: the run is not what this watermark acknowledged
        if decode_watermark(meta.get("max")) == watermark:
            return index + 1
    return 0


def _chunk_from_footer(path: str, run_id: str, meta: dict[str, Any], lake: Lake) -> ChunkInfo:
    return ChunkInfo(
        path=path,
        run_id=run_id,
        chunk_no=int(meta["chunk_no"]),
        rows=int(meta["rows"]),
        bytes=int(lake.fs.size(path)),
        min=decode_watermark(meta.get("min")),
        max=decode_watermark(meta.get("max")),
    )


def _free_run_id(lake: Lake, where: tuple[str, str, str], base: str) -> str:
    # A FULL window already committed (its watermark was not saved): the next uncommitted `<base>.<n>`, so that a
    # retry of this very run finds the same id again.
    n = 1
    while lake.manifest(*where, f"{base}.{n}") is not None:
        n += 1
    return f"{base}.{n}"


def _result_of(manifest: RunManifest, *, reused: bool, elapsed_s: float) -> ExtractionResult:
    return ExtractionResult(
        run_id=manifest.run_id,
        rows=manifest.rows,
        bytes=manifest.bytes,
        watermark_from=manifest.watermark_from,
        watermark_to=manifest.watermark_to,
        chunks=manifest.chunks,
        committed=True,
        reused=reused,
        elapsed_s=elapsed_s,
    )


class _ChunkCutter:
    """Splits a stream of batches into chunks of about `chunk_rows` rows, never between equal plan values.

    `chunk()` returns an iterator over the next chunk's batches; it must be exhausted before `has_more()` is asked
    again. Batches are sliced, not copied.
    """

    def __init__(self, batches: Iterator[pa.RecordBatch], column: str | None, chunk_rows: int) -> None:
        self._source = iter(batches)
        self._column = column
        self._chunk_rows = chunk_rows
        self._carry: pa.RecordBatch | None = None

    def _next(self) -> pa.RecordBatch | None:
        if self._carry is not None:
            batch, self._carry = self._carry, None
            return batch
        for batch in self._source:
            if batch.num_rows:
                return batch
        return None

    def has_more(self) -> bool:
        if self._carry is None:
            self._carry = self._next()
        return self._carry is not None

    def chunk(self) -> Iterator[pa.RecordBatch]:
        rows = 0
        boundary: pa.Scalar | None = None
        while (batch := self._next()) is not None:
            if boundary is None:
                if rows + batch.num_rows < self._chunk_rows:
                    rows += batch.num_rows
                    yield batch
                    continue
                take = self._chunk_rows - rows
                if self._column is None:
                    yield batch.slice(0, take)
                    if take < batch.num_rows:
                        self._carry = batch.slice(take)
                    return
                values = batch.column(self._column)
                boundary = values[take - 1]
                end = _first_different(values, take, boundary)
            else:
                end = _first_different(batch.column(self._column), 0, boundary)
            if end > 0:
                yield batch.slice(0, end)
            if end < batch.num_rows:
                self._carry = batch.slice(end)
                return
            rows += batch.num_rows


def _first_different(values: pa.Array, start: int, value: pa.Scalar) -> int:
    """The first index at or after `start` whose value differs from `value` (NULL equals NULL), or len(values)."""
    tail = values.slice(start)
    if len(tail) == 0:
        return len(values)
    if value.is_valid:
        differs = pc.fill_null(pc.not_equal(tail, value), True)
    else:
        differs = pc.is_valid(tail)
    found = pc.index(differs, True).as_py()
    return len(values) if found < 0 else start + found


_END = object()


class _Failure:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def _prefetched(batches: Iterator[pa.RecordBatch], *, depth: int) -> Iterator[pa.RecordBatch]:
    """Iterate `batches` in a worker thread, at most `depth` ahead; closing the result closes `batches` there."""
    if depth <= 0:
        return _closing(batches)
    return _prefetch_generator(batches, depth)


def _closing(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    try:
        yield from batches
    finally:
        close = getattr(batches, "close", None)
        if close is not None:
            close()


def _prefetch_generator(batches: Iterator[pa.RecordBatch], depth: int) -> Iterator[pa.RecordBatch]:
    handoff: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def offer(item: Any) -> bool:
        while not stop.is_set():
            try:
                handoff.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def pump() -> None:
        # The generator is created, advanced and closed in this thread only: generators are not thread-safe.
        try:
            for batch in batches:
                if not offer(batch):
                    break
            else:
                offer(_END)
        except BaseException as error:  # noqa: BLE001 - handed to the consumer, who raises it
            offer(_Failure(error))
        finally:
            close = getattr(batches, "close", None)
            if close is not None:
                close()

    worker = threading.Thread(target=pump, name="extract-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            item = handoff.get()
            if item is _END:
                return
            if isinstance(item, _Failure):
                raise item.error
            yield item
    finally:
        stop.set()
        worker.join()
