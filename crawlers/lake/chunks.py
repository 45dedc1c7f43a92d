"""A chunk file: the Parquet a run writes for one chunk of batches, with its own description in the footer."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from crawlers.increment import encode_watermark

CHUNK_METADATA_KEY = b"catalog.chunk"
"""Parquet footer key holding a chunk's own description (JSON), so a chunk can be understood without its run."""


class ColumnTracker:
    """Keeps the first and last non-null value of one column across the batches of a chunk."""

    def __init__(self, column: str | None) -> None:
        self.column = column
        self.first: Any = None
        self.last: Any = None

    def see(self, batch: pa.RecordBatch) -> None:
        if self.column is None:
            return
        index = batch.schema.get_field_index(self.column)
        if index < 0:
            raise ValueError(f"plan column {self.column!r} is not among the batch's columns {batch.schema.names}")
        values = batch.column(index)
        if values.null_count == len(values):
            return
        valid = values.drop_null()
        if self.first is None:
            self.first = valid[0].as_py()
        self.last = valid[len(valid) - 1].as_py()


def write_parquet(
    handle: Any,
    batches: Iterable[pa.RecordBatch],
    tracker: ColumnTracker,
    metadata: Mapping[str, Any] | None,
    run_id: str,
    chunk_no: int,
    row_group_rows: int,
    compression: str,
) -> int:
    """Streams `batches` into one Parquet file on `handle`, in row groups of at most `row_group_rows` rows, with
    the chunk's description (and `metadata`) in the footer; returns the rows written. `tracker` sees every batch."""
    writer: pq.ParquetWriter | None = None
    pending: list[pa.RecordBatch] = []
    pending_rows = rows = 0
    schema: pa.Schema | None = None
    try:
        for batch in batches:
            if schema is None:
                schema = batch.schema
            elif not batch.schema.equals(schema):
                raise ValueError(f"chunk {chunk_no} of run {run_id}: a batch's schema differs from the first one's")
            tracker.see(batch)
            pending.append(batch)
            pending_rows += batch.num_rows
            rows += batch.num_rows
            if pending_rows >= row_group_rows:
                writer = writer or pq.ParquetWriter(handle, schema, compression=compression)
                writer.write_table(pa.Table.from_batches(pending), row_group_size=row_group_rows)
                pending, pending_rows = [], 0
        if schema is None:
            raise ValueError(f"chunk {chunk_no} of run {run_id} has no batch: nothing to write")
        footer = {
            "run_id": run_id,
            "chunk_no": chunk_no,
            "rows": rows,
            "plan_column": tracker.column,
            "min": encode_watermark(tracker.first),
            "max": encode_watermark(tracker.last),
            **dict(metadata or {}),
        }
        writer = writer or pq.ParquetWriter(handle, schema, compression=compression)
        if pending:
            writer.write_table(pa.Table.from_batches(pending), row_group_size=row_group_rows)
        writer.add_key_value_metadata({CHUNK_METADATA_KEY: json.dumps(footer, sort_keys=True).encode("utf-8")})
    finally:
        if writer is not None:
            writer.close()
    return rows
