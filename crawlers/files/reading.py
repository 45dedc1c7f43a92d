"""Reading a file table's rows as Arrow record batches, through `pyarrow.dataset` over the source's fsspec filesystem.

Every file is read with the table's reconciled schema (data columns, then partition columns typed as discovery
typed them), so batches from different files line up. CSV, TSV, JSON lines and Parquet files are scanned by
`pyarrow.dataset` (Parquet row groups and partitions are pruned by the watermark filter); JSON arrays, which
pyarrow cannot read, are parsed incrementally and joined to the scan as an in-memory dataset.

Ordering: a FULL read streams the files in their listing order, unsorted. A TIMESTAMP/KEY read sorts all rows
after the watermark by the plan's column, so a reader may stop after any batch and resume from the largest value
it has seen; rows whose column is NULL come first and only while there is no watermark (as `IncrementRequest`
asks). The sort holds the whole increment in memory (it is the new rows only).
"""

from __future__ import annotations

import io
import operator
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.json as pa_json
from pyarrow.fs import FSSpecHandler, PyFileSystem

from crawlers.errors import ConnectorError, InvalidSourceConfig
from crawlers.files.discovery import TableRead
from crawlers.files.formats import FileFormat, csv_dialect, iter_json_array, json_parse_options, objects_as_lines
from crawlers.files.layout import HIVE_NULL, DataFile
from crawlers.files.storage import Storage
from crawlers.increment import IncrementRequest, IncrementStrategy

_JSON_READ_BLOCK = 4 * 1024 * 1024
_COMPARE = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}


def read_rows(
    storage: Storage, table: TableRead, request: IncrementRequest, csv_delimiter: str | None
) -> Iterator[pa.RecordBatch]:
    """Check the request and return the batches (lazily): a bad column or watermark fails here, not mid-stream."""
    schema = table.schema
    plan = request.plan
    expression = None
    if plan.strategy is not IncrementStrategy.FULL:
        column = plan.column or ""
        if column not in schema.names:
            raise InvalidSourceConfig(
                f"the table {table.plan.schema}.{table.plan.name} has no column {column!r}", field="plan.column"
            )
        for op, value in request.conditions():
            condition = _COMPARE[op](ds.field(column), _bound(value, schema.field(column)))
            expression = condition if expression is None else expression & condition
        if expression is not None and request.reads_nulls:
            expression = expression | ds.field(column).is_null()
    if not table.files:
        return iter(())
    dataset = _dataset(storage, table, request.batch_rows, csv_delimiter)
    return _stream(storage, table, dataset, request, expression)


def _stream(
    storage: Storage, table: TableRead, dataset: ds.Dataset, request: IncrementRequest, expression: Any
) -> Iterator[pa.RecordBatch]:
    name = f"{table.plan.schema}.{table.plan.name}"
    with storage.translating(table.plan.path):
        try:
            if request.plan.strategy is IncrementStrategy.FULL:
                yield from dataset.to_batches(batch_size=request.batch_rows)
                return
            selected = dataset.filter(expression) if expression is not None else dataset
            # NULLs first: they are only read when there is no watermark yet (`col > x` drops them), as in SQL.
            ordered = selected.sort_by([(request.plan.column, "ascending", "at_start")])
            yield from ordered.to_batches(batch_size=request.batch_rows)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as error:
            # Typically a value beyond discovery's sample that does not fit the inferred type.
            raise ConnectorError(f"cannot read {name}: {' '.join(str(error).split())[:500]}") from None


def _dataset(storage: Storage, table: TableRead, batch_rows: int, csv_delimiter: str | None) -> ds.Dataset:
    schema = table.schema
    filesystem = PyFileSystem(FSSpecHandler(storage.fs))
    fmt = table.plan.format
    scanned = [f for f in table.files if f.path not in table.json_arrays]
    parts: list[ds.Dataset] = []
    if scanned:
        partitioning = None
        if len(table.partition_schema):
            partitioning = ds.partitioning(table.partition_schema, flavor="hive")
        parts.append(
            ds.dataset(
                [f.path for f in scanned],
                schema=schema,
                format=_file_format(fmt, csv_delimiter),
                filesystem=filesystem,
                partitioning=partitioning,
                partition_base_dir=table.plan.path if table.plan.is_folder else None,
            )
        )
    for file in table.files:
        if file.path in table.json_arrays:
            batches = _json_array_batches(storage, table, file, batch_rows)
            parts.append(ds.dataset(pa.RecordBatchReader.from_batches(schema, batches)))
    return parts[0] if len(parts) == 1 else ds.dataset(parts)


def _file_format(fmt: FileFormat | None, csv_delimiter: str | None) -> ds.FileFormat:
    if fmt in (FileFormat.CSV, FileFormat.TSV):
        return ds.CsvFileFormat(parse_options=csv_dialect(fmt, csv_delimiter).parse_options())
    if fmt in (FileFormat.JSON, FileFormat.JSONL):
        return ds.JsonFileFormat(parse_options=json_parse_options())
    return ds.ParquetFileFormat()


def _json_array_batches(storage: Storage, table: TableRead, file: DataFile, batch_rows: int) -> Iterator[pa.RecordBatch]:
    constants = dict(file.partition)
    with storage.open(file.path, _JSON_READ_BLOCK) as f:
        chunk: list[dict] = []
        for item in iter_json_array(f):
            chunk.append(item)
            if len(chunk) >= batch_rows:
                yield _json_batch(chunk, table, constants)
                chunk = []
        if chunk:
            yield _json_batch(chunk, table, constants)


def _json_batch(objects: list[dict], table: TableRead, partition: dict[str, str]) -> pa.RecordBatch:
    data = pa_json.read_json(
        io.BytesIO(objects_as_lines(objects)), parse_options=json_parse_options(table.data_schema)
    ).select(table.data_schema.names)
    columns = list(data.columns)
    for field in table.partition_schema:
        raw = partition.get(field.name)
        value = None if raw in (None, HIVE_NULL) else raw
        columns.append(pa.array([value] * data.num_rows, pa.string()).cast(field.type))
    return pa.Table.from_arrays(columns, schema=table.schema).combine_chunks().to_batches()[0]


def _bound(value: Any, field: pa.Field) -> pa.Scalar:
    """The watermark as a scalar of the column's type."""
    try:
        if isinstance(value, str) and (pa.types.is_timestamp(field.type) or pa.types.is_date(field.type)):
            value = _parse_time(value, field.type)
        scalar = value if isinstance(value, pa.Scalar) else pa.scalar(value)
        return scalar.cast(field.type)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, TypeError, ValueError) as error:
        raise InvalidSourceConfig(
            f"the watermark {value!r} cannot be compared with the column {field.name} ({field.type}): {error}",
            field="watermark",
        ) from None


def _parse_time(value: str, kind: pa.DataType) -> date | datetime:
    if pa.types.is_date(kind):
        return date.fromisoformat(value[:10])
    parsed = datetime.fromisoformat(value)
    if kind.tz is not None and parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)  # a naive watermark on an aware column is read as UTC
    return parsed
