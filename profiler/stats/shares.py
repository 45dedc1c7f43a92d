"""How Spark hands a table to its tasks: shares of rows that tasks receive as Arrow tables, and the tree
aggregation of what the tasks compute from them.

Three ways in: Parquet row groups read by the tasks themselves with pyarrow (`ParquetShares`), slices of an
in-memory Arrow table (`ArrowShares`), and the partitions of any DataFrame handed over by `mapInArrow`
(`FrameShares`), the fallback for what pyarrow cannot read the way Spark does. Small tables skip Spark:
`InProcessShares` runs the very tasks of `ParquetShares` in this process.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import reduce
from typing import TYPE_CHECKING, Any

import pyarrow as pa
from pyspark.errors import AnalysisException
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import types as T

from profiler.errors import InvalidProfileInput

if TYPE_CHECKING:
    from pyspark import RDD

SHARE_ROWS = 100_000
"""Rows one task profiles at a time: enough for the vectorised kernels to amortise their calls, small enough for
a few hundred columns to fit in a worker's memory."""

DRIVER_MERGED_TASKS = 32
"""Up to this many tasks, their results go straight to the driver, which merges them; more are first merged on the
executors (Spark's tree aggregation), so that the driver never holds many results at once."""

SHARES_PER_TASK = 1_000_003
"""Numbers shares within a task (`task * SHARES_PER_TASK + part`), so every share draws its own sample keys."""


class Shares:
    """A table split into shares that Spark tasks receive as Arrow tables, and the tree aggregation over them."""

    def __init__(self, spark: SparkSession | None, schema: T.StructType, arrow_schema: pa.Schema) -> None:
        self.spark = spark
        """None for shares profiled in-process (`InProcessShares`)."""
        self.schema = schema
        self.arrow_schema = arrow_schema
        """The Arrow types the tasks see (those of the files, the table or Spark's conversion)."""

    def rdd(self, work: Callable[[pa.Table, int], Any], merge: Callable[[Any, Any], Any],
            columns: Sequence[int] | None = None) -> RDD[Any]:
        """One result of `work` per task, from its share of the rows (given with a number unique to the share).
        `columns`: the only columns `work` looks at (by position), None for all; shares that read files leave the
        others unread, as columns of nulls."""
        raise NotImplementedError

    def files(self) -> list[str]:
        return []

    def aggregate(self, work: Callable[[pa.Table, int], Any], zero: Any, merge: Callable[[Any, Any], Any],
                  columns: Sequence[int] | None = None) -> Any:
        """`work` applied to every share, the results merged: one Spark job. Up to `DRIVER_MERGED_TASKS` tasks, the
        driver folds their results in task order (as `InProcessShares` does); more are merged in a tree on the
        executors first, whose shuffle spills large results (the `unique` checks' hashes) past
        `spark.python.worker.memory`."""
        rdd = self.rdd(work, merge, columns)
        depth = 1 if rdd.getNumPartitions() <= DRIVER_MERGED_TASKS else 2
        return rdd.treeAggregate(zero, merge, merge, depth=depth)


class ParquetShares(Shares):
    """Parquet files read by the tasks themselves with pyarrow, one row group per task, in batches of at most
    `SHARE_ROWS` rows.

    Through `mapInArrow`, Spark's reader turns its columnar batches into rows and the rows back into Arrow:
    handing 1M rows x 200 columns to Python that way cost 29-41 s on two cores, where pyarrow reads the same row
    groups in under 5 s.
    """

    def __init__(self, spark: SparkSession, files: ParquetFiles) -> None:
        super().__init__(spark, files.schema, files.arrow_schema)
        self.parquet = files

    def files(self) -> list[str]:
        return list(self.parquet.files)

    def rdd(self, work: Callable[[pa.Table, int], Any], merge: Callable[[Any, Any], Any],
            columns: Sequence[int] | None = None) -> RDD[Any]:
        task = self.parquet.task(work, merge, columns)
        tasks = list(enumerate(self.parquet.groups))
        return self.spark.sparkContext.parallelize(tasks, max(1, len(tasks))).map(task)


class InProcessShares(Shares):
    """The row groups of Parquet files profiled in this process, without Spark: the same tasks `ParquetShares`
    gives Spark, run one after the other, their results merged the way Spark's tree aggregation merges them.

    Spark's `treeAggregate` merges each task's result into the zero, then (up to `DRIVER_MERGED_TASKS` tasks, on
    the driver) folds them from the left in task order; doing exactly that here makes every statistic identical to
    the Spark path, floating-point sums and moments included. With more tasks Spark merges in a tree whose shape
    depends on its shuffle, so float sums may differ there in the last bits.
    """

    def __init__(self, files: ParquetFiles) -> None:
        super().__init__(None, files.schema, files.arrow_schema)
        self.parquet = files

    def files(self) -> list[str]:
        return list(self.parquet.files)

    def aggregate(self, work: Callable[[pa.Table, int], Any], zero: Any, merge: Callable[[Any, Any], Any],
                  columns: Sequence[int] | None = None) -> Any:
        task = self.parquet.task(work, merge, columns)
        results = [merge(zero, task(item)) for item in enumerate(self.parquet.groups)]
        return reduce(merge, results) if results else zero


@dataclass(frozen=True)
class ParquetFiles:
    """Parquet files pyarrow reads the way Spark does: their row groups, merged Arrow schema and Spark types."""

    files: tuple[str, ...]
    groups: tuple[tuple[str, int], ...]
    arrow_schema: pa.Schema
    schema: T.StructType
    rows: int

    @property
    def cells(self) -> int:
        """Rows times columns: the size that decides whether a table is profiled in-process."""
        return self.rows * len(self.arrow_schema)

    def task(self, work: Callable[[pa.Table, int], Any], merge: Callable[[Any, Any], Any],
             columns: Sequence[int] | None = None) -> Callable[[tuple[int, tuple[str, int]]], Any]:
        """What one task does with its row group: `work` on every batch of it, the results merged in order.
        Only `columns` (positions; None: all) are read, the others handed over as nulls."""
        schema = self.arrow_schema
        names = None if columns is None else {schema.field(i).name for i in columns}

        def run(item: tuple[int, tuple[str, int]]) -> Any:
            share, (path, group) = item
            results = (work(rows, share * SHARES_PER_TASK + part)
                       for part, rows in enumerate(_read_row_group(path, group, schema, names)))
            return reduce(merge, results)

        return run

    def read(self, columns: Sequence[str]) -> pa.Table:
        """The named columns of every file, in the merged schema (a file's missing columns as nulls)."""
        import fsspec
        import pyarrow.parquet as pq

        schema = pa.schema([self.arrow_schema.field(name) for name in columns])
        parts = []
        for path in self.files:
            fs, local = fsspec.core.url_to_fs(path)
            with fs.open(local, "rb") as handle:
                reader = pq.ParquetFile(handle)
                present = [name for name in columns if name in reader.schema_arrow.names]
                parts.append(_conformed(reader.read(columns=present), schema))
        return pa.concat_tables(parts) if parts else schema.empty_table()


def _read_row_group(path: str, group: int, schema: pa.Schema, names: set[str] | None = None) -> Iterator[pa.Table]:
    """One row group in batches, in the table's (merged) schema: columns a file lacks, or not among `names` (None:
    all), come back as nulls."""
    import fsspec
    import pyarrow.parquet as pq

    fs, local = fsspec.core.url_to_fs(path)
    with fs.open(local, "rb") as handle:
        reader = pq.ParquetFile(handle)
        empty = True
        # Reading no column would lose the row count: one column at least.
        read = None if names is None else [n for n in reader.schema_arrow.names if n in names] or \
            reader.schema_arrow.names[:1]
        for batch in reader.iter_batches(batch_size=SHARE_ROWS, row_groups=[group], columns=read):
            empty = False
            yield _conformed(pa.Table.from_batches([batch]), schema)
        if empty:
            yield _conformed(reader.schema_arrow.empty_table(), schema)


def _conformed(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """`table` in the merged schema: its types widened where another file needs it (int32 next to int64, decimal
    scales), so that values hash and count alike in every file."""
    columns = [table.column(f.name).cast(f.type) if f.name in table.column_names else pa.nulls(table.num_rows, f.type)
               for f in schema]
    return pa.Table.from_arrays(columns, schema=schema)


class ArrowShares(Shares):
    """An in-memory Arrow table, shipped to the tasks in slices."""

    def __init__(self, spark: SparkSession, schema: T.StructType, table: pa.Table) -> None:
        super().__init__(spark, schema, table.schema)
        self.table = table

    def rdd(self, work: Callable[[pa.Table, int], Any], merge: Callable[[Any, Any], Any],
            columns: Sequence[int] | None = None) -> RDD[Any]:
        parallelism = self.spark.sparkContext.defaultParallelism
        size = max(1, min(SHARE_ROWS, math.ceil(self.table.num_rows / parallelism)))
        slices = [self.table.slice(start, size) for start in range(0, self.table.num_rows, size)]
        tasks = list(enumerate(slices))
        return self.spark.sparkContext.parallelize(tasks, max(1, len(tasks))).map(lambda item: work(item[1], item[0]))


class FrameShares(Shares):
    """Any Spark DataFrame, its partitions handed over as Arrow batches by `mapInArrow`."""

    def __init__(self, spark: SparkSession, frame: DataFrame) -> None:
        from pyspark.sql.pandas.types import to_arrow_schema

        zone = spark.conf.get("spark.sql.session.timeZone")
        super().__init__(spark, frame.schema, to_arrow_schema(frame.schema, timezone=zone))
        self.frame = frame

    def files(self) -> list[str]:
        return list(self.frame.inputFiles())

    def rdd(self, work: Callable[[pa.Table, int], Any], merge: Callable[[Any, Any], Any],
            columns: Sequence[int] | None = None) -> RDD[Any]:
        import pickle

        schema = self.arrow_schema

        def task(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
            from pyspark import TaskContext

            partition = TaskContext.get().partitionId()  # type: ignore[union-attr]
            pending: list[pa.RecordBatch] = []
            rows = part = 0
            result = None
            for batch in batches:
                pending.append(batch)
                rows += batch.num_rows
                if rows >= SHARE_ROWS:
                    share = work(pa.Table.from_batches(pending), partition * SHARES_PER_TASK + part)
                    result = share if result is None else merge(result, share)
                    pending, rows, part = [], 0, part + 1
            if pending or result is None:
                share = work(pa.Table.from_batches(pending, schema=schema), partition * SHARES_PER_TASK + part)
                result = share if result is None else merge(result, share)
            yield pa.RecordBatch.from_pydict({"partial": [pickle.dumps(result)]},
                                             schema=pa.schema([("partial", pa.binary())]))

        return self.frame.mapInArrow(task, "partial binary").rdd.map(lambda row: pickle.loads(row.partial))


# -- choosing the shares of an input ----------------------------------------------------------------------------

_AS_SPARK_READS = {
    pa.uint8(): pa.int16(), pa.uint16(): pa.int32(), pa.uint32(): pa.int64(), pa.uint64(): pa.decimal128(20, 0),
    pa.string_view(): pa.string(), pa.binary_view(): pa.binary(),
}
"""Arrow types of Parquet columns that Spark has no type for, and the types Spark's own Parquet reader gives those
columns (unsigned integers widened, decimal(20, 0) for 64 bits; view types, as DataFusion and Polars write them,
as plain strings and binaries)."""


def _as_spark_reads(schema: pa.Schema) -> pa.Schema:
    """`schema` with its top-level types as Spark reads them, so that the tasks read such files with pyarrow rather
    than fall back to Spark's reader (and its schema-merging job)."""
    return pa.schema([f.with_type(_AS_SPARK_READS.get(f.type, f.type)) for f in schema], metadata=schema.metadata)


def _spark_schema(schema: pa.Schema) -> T.StructType | None:
    """The Spark types of an Arrow schema, None when Spark has no type for one of its columns."""
    from pyspark.sql.pandas.types import from_arrow_schema

    try:
        return from_arrow_schema(schema)
    except Exception:  # an Arrow type Spark does not map (unsigned 64-bit, durations...): read through Spark
        return None


def arrow_shares(spark: SparkSession, table: pa.Table) -> Shares:
    """Slices of an Arrow table; one with a type Spark does not map goes through a DataFrame (Spark converts it)."""
    if (schema := _spark_schema(table.schema)) is not None:
        return ArrowShares(spark, schema, table)
    return FrameShares(spark, spark.createDataFrame(table))


def parquet_shares(spark: SparkSession, paths: Sequence[str]) -> Shares:
    """Row groups of the Parquet files under `paths`; a layout pyarrow cannot read the way Spark does (Hive
    partition folders, types Spark maps differently) is read by Spark itself."""
    files = parquet_files(paths)
    return ParquetShares(spark, files) if files is not None else _frame_shares(spark, paths)


def parquet_files(paths: Sequence[str]) -> ParquetFiles | None:
    """The Parquet files under `paths`, read from their footers only; None when pyarrow cannot read them the way
    Spark does (Hive partition folders, schemas that do not merge, types Spark maps differently), so that only
    Spark's own reader can. Starts no Spark."""
    import fsspec
    import pyarrow.parquet as pq

    files: list[str] = []
    for path in paths:
        fs, local = fsspec.core.url_to_fs(path)
        if not fs.exists(local):
            raise InvalidProfileInput(f"cannot read Parquet at {path!r}: no such file or folder", field="path")
        if fs.isdir(local):
            found = sorted(p for p in fs.find(local) if not any(part.startswith(("_", "."))
                                                                for part in p[len(local):].split("/") if part))
            if any("=" in p[len(local):] for p in found):
                return None
            files += [fs.unstrip_protocol(p) if "://" in path else p for p in found]
        else:
            files.append(path)
    groups: list[tuple[str, int]] = []
    schemas = []
    rows = 0
    for file in files:
        fs, local = fsspec.core.url_to_fs(file)
        try:
            with fs.open(local, "rb") as handle:
                meta = pq.ParquetFile(handle).metadata
                schemas.append(meta.schema.to_arrow_schema())
        except Exception as error:
            raise InvalidProfileInput(f"cannot read Parquet at {file!r}: {error}", field="path") from error
        groups += [(file, g) for g in range(meta.num_row_groups)]
        rows += meta.num_rows
    if not files:
        raise InvalidProfileInput(f"no Parquet files under {', '.join(paths)!r}", field="path")
    try:
        merged = _as_spark_reads(pa.unify_schemas(schemas, promote_options="permissive"))
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    schema = _spark_schema(merged)
    if schema is None or len(set(merged.names)) != len(merged.names):
        return None
    return ParquetFiles(tuple(files), tuple(groups), merged, schema, rows)


def _frame_shares(spark: SparkSession, paths: Sequence[str]) -> Shares:
    """The files read by Spark, which infers and merges their schemas in a Spark job of its own: a profile that
    takes this way runs three jobs."""
    try:
        frame = spark.read.option("mergeSchema", "true").parquet(*paths)
    except AnalysisException as error:
        raise InvalidProfileInput(f"cannot read Parquet at {', '.join(paths)!r}: {error.getMessage()}",
                                  field="path") from error
    return FrameShares(spark, frame)


def files_size(files: Sequence[str]) -> int | None:
    """The total size of `files`; None when a store fsspec cannot reach holds one of them."""
    import fsspec

    total = 0
    try:
        for file in files:
            fs, path = fsspec.core.url_to_fs(file)
            total += int(fs.size(path))
    except Exception:  # a store fsspec cannot reach (credentials live in Spark's config) has no size
        return None
    return total
