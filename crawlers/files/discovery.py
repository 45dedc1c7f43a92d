"""Discovery of a files source: list once, group into tables, read bounded samples in parallel, reconcile types.

Requests: one listing of the root, one recursive listing per first-level folder that may hold in-scope tables,
and per sampled file an open (plus, on Azure, one ranged read or two for a Parquet footer). A table's schema is
the union of its sampled files' schemas under `pyarrow.unify_schemas(promote_options="permissive")` (int64 and
double give double, a column missing from a file is nullable); a file whose schema cannot be merged is reported in
`properties["schema_conflicts"]` and left out, a file that cannot be parsed in `properties["file_errors"]`.

The definition hash covers columns and partition keys only; sizes, times and counts go to `properties`, which the
hash ignores, so a file that merely grows does not read as a change.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from crawlers.connector import ProgressCallback
from crawlers.errors import SourceNotFound
from crawlers.files.formats import (
    FileFormat,
    FileReadError,
    FileSchema,
    csv_dialect,
    read_file_schema,
)
from crawlers.files.layout import (
    DEFAULT_SCHEMA,
    DataFile,
    TablePlan,
    is_hidden,
    partition_segment,
    plan_tables,
)
from crawlers.files.storage import FileEntry, Storage
from crawlers.scope import Scope
from crawlers.snapshot import ColumnSnapshot, SchemaSnapshot, TableKind, TableSnapshot

_WORKERS_LOCAL = 4
_WORKERS_REMOTE = 8
_MAX_REPORTED = 100
"""At most this many file errors/conflicts are listed per table (the count is always given)."""


@dataclass(frozen=True, slots=True)
class DiscoveryOptions:
    """The parts of the configuration that shape discovery."""

    formats: frozenset[FileFormat] | None
    csv_delimiter: str | None
    sample_rows: int
    max_files_per_table: int


@dataclass(slots=True)
class TableRead:
    """A discovered table with what reading it needs: the files that agree with its schema, and that schema."""

    plan: TablePlan
    data_schema: pa.Schema
    partition_schema: pa.Schema
    files: list[DataFile]
    json_arrays: frozenset[str]
    snapshot: TableSnapshot
    schema_conflicts: list[dict[str, str]] = field(default_factory=list)

    @property
    def schema(self) -> pa.Schema:
        """Data columns, then partition columns: the schema of the rows `read_increment` returns."""
        return pa.schema(list(self.data_schema) + list(self.partition_schema))


def list_tables(storage: Storage, options: DiscoveryOptions, schema_wanted: Callable[[str], bool]) -> list[TablePlan]:
    """List the root and the first-level folders that may hold wanted schemas; group the files into tables."""
    location = storage.location
    storage.check_root()
    root_files, folders = storage.list_folder(location.root)
    entries: list[FileEntry] = list(root_files)
    for folder in sorted(folders):
        name = posixpath.basename(folder)
        if is_hidden(name):
            continue
        # A first-level folder is a schema, or a partitioned table of `default` when its children are `k=v`
        # folders; which one is known only after listing it, so list it if either may be wanted.
        if partition_segment(name) is not None:
            wanted = schema_wanted(DEFAULT_SCHEMA)
        else:
            wanted = schema_wanted(name) or schema_wanted(DEFAULT_SCHEMA)
        if wanted:
            entries.extend(storage.find(folder))
    return plan_tables(location, entries, options.formats)


def discover_tables(
    storage: Storage, options: DiscoveryOptions, scope: Scope, progress: ProgressCallback | None = None
) -> tuple[tuple[SchemaSnapshot, ...], list[TableRead]]:
    plans = list_tables(storage, options, scope.schema_in_scope)
    schema_names = sorted({p.schema for p in plans if scope.schema_in_scope(p.schema)})
    plans = [p for p in plans if scope.schema_in_scope(p.schema) and scope.table_in_scope(p.schema, p.name)]
    reads = describe(storage, plans, options, progress)
    return tuple(SchemaSnapshot(name=name) for name in schema_names), reads


def find_table(storage: Storage, options: DiscoveryOptions, schema: str, name: str) -> TableRead:
    """Rediscover one table as it is now (new files included), for reading."""
    plans = list_tables(storage, options, lambda s: s == schema)
    plan = next((p for p in plans if p.key == (schema, name)), None)
    if plan is None:
        raise SourceNotFound(
            f"the table {schema}.{name} no longer exists under {storage.location.url()}", field="table"
        )
    return describe(storage, [plan], options, None)[0]


def describe(
    storage: Storage, plans: list[TablePlan], options: DiscoveryOptions, progress: ProgressCallback | None
) -> list[TableRead]:
    """Sample the files of every plan (newest first, at most `max_files_per_table` each) and build snapshots."""
    sampled = {p.key: _files_to_sample(p, options.max_files_per_table) for p in plans}
    jobs = [f for files in sampled.values() for f in files]
    results: dict[str, FileSchema | str] = {}
    report = progress or (lambda done, total, message: None)
    if jobs:
        workers = min(len(jobs), _WORKERS_REMOTE if storage.location.is_azure else _WORKERS_LOCAL)
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="files-sample") as pool:
            futures = {pool.submit(_sample, storage, f, options): f for f in jobs}
            try:
                for done, future in enumerate(as_completed(futures), start=1):
                    results[futures[future].path] = future.result()
                    report(done, len(jobs), f"sampled {futures[future].path}")
            except BaseException:
                # A source-wide failure (refused credentials, lost network): stop instead of failing every file.
                for pending in futures:
                    pending.cancel()
                raise
    return [_table(storage, p, sampled[p.key], results, options) for p in plans]


def _files_to_sample(plan: TablePlan, limit: int) -> list[DataFile]:
    # The newest files first: a schema change shows up in new files, and old ones rarely change.
    newest = sorted(plan.files, key=lambda f: (-(f.entry.modified.timestamp() if f.entry.modified else 0), f.path))
    return sorted(newest[:limit], key=lambda f: f.path)


def _sample(storage: Storage, file: DataFile, options: DiscoveryOptions) -> FileSchema | str:
    """The file's schema, or the reason it could not be read. Failures of the whole source are raised."""
    try:
        return read_file_schema(
            lambda block_size: storage.open(file.path, block_size),
            file.format,
            options.sample_rows,
            options.csv_delimiter,
        )
    except FileReadError as error:
        return str(error)
    except Exception as error:
        translated = storage.translate(error, file.path)
        if translated is not None:
            raise translated from error
        if isinstance(error, FileNotFoundError):
            return "the file disappeared while the source was being read"
        if isinstance(error, PermissionError):
            return "permission denied"
        if isinstance(error, OSError):
            return f"cannot read the file: {error.strerror or error}"
        raise


def _table(
    storage: Storage,
    plan: TablePlan,
    sampled: list[DataFile],
    results: dict[str, FileSchema | str],
    options: DiscoveryOptions,
) -> TableRead:
    file_errors = list(plan.file_errors)
    conflicts: list[dict[str, str]] = []
    unified: pa.Schema | None = None
    unreadable: set[str] = {e["path"] for e in file_errors}
    rows, rows_bytes, json_arrays = 0, 0, set()
    for file in sampled:
        result = results[file.path]
        if isinstance(result, str):
            file_errors.append({"path": file.path, "error": result})
            unreadable.add(file.path)
            continue
        try:
            merged = result.schema if unified is None else pa.unify_schemas(
                [unified, result.schema], promote_options="permissive"
            )
        except (pa.ArrowTypeError, pa.ArrowInvalid) as error:
            conflicts.append({"path": file.path, "error": " ".join(str(error).split())})
            unreadable.add(file.path)
            continue
        unified = merged
        if result.rows is not None:
            rows += result.rows
            rows_bytes += file.entry.size
        if result.json_array:
            json_arrays.add(file.path)

    data_schema = unified if unified is not None else pa.schema([])
    partition_schema = plan.partition_schema()
    clashing = [f.name for f in partition_schema if f.name in data_schema.names]
    for name in clashing:
        conflicts.append(
            {"column": name, "error": f"the partition key {name} is also a column of the files; the files' column is kept"}
        )
    partition_schema = pa.schema([f for f in partition_schema if f.name not in clashing])
    readable = [f for f in plan.files if f.path not in unreadable]
    full = pa.schema(list(data_schema) + list(partition_schema))
    columns = tuple(
        ColumnSnapshot(name=f.name, ordinal=i, data_type=str(f.type), nullable=f.nullable)
        for i, f in enumerate(full, start=1)
    )

    row_estimate = None
    exact = False
    if plan.format is FileFormat.PARQUET and rows_bytes:
        all_read = len(sampled) == len(plan.files)
        readable_bytes = sum(f.entry.size for f in readable)
        exact = all_read
        row_estimate = rows if all_read else round(rows * readable_bytes / rows_bytes)

    snapshot = TableSnapshot(
        schema=plan.schema,
        name=plan.name,
        kind=TableKind.FILE,
        columns=columns,
        partition_key=", ".join(plan.partition_keys) or None,
        row_estimate=row_estimate,
        properties=_properties(storage, plan, sampled, readable, file_errors, conflicts, json_arrays, exact, options),
    )
    return TableRead(
        plan=plan,
        data_schema=data_schema,
        partition_schema=partition_schema,
        files=readable,
        json_arrays=frozenset(json_arrays),
        snapshot=snapshot,
        schema_conflicts=conflicts,
    )


def _properties(
    storage: Storage,
    plan: TablePlan,
    sampled: list[DataFile],
    readable: list[DataFile],
    file_errors: list[dict[str, str]],
    conflicts: list[dict[str, str]],
    json_arrays: set[str],
    exact_rows: bool,
    options: DiscoveryOptions,
) -> dict[str, Any]:
    location = storage.location
    modified = [f.entry.modified for f in plan.files if f.entry.modified is not None]
    properties: dict[str, Any] = {
        "format": plan.format.value if plan.format else None,
        "location": location.url(plan.path),
        "lineage_name": location.lineage_name(plan.path),
        "files": len(plan.files),
        "files_sampled": len(sampled),
        "files_readable": len(readable),
        "total_bytes": sum(f.entry.size for f in plan.files),
        "last_modified": max(modified).isoformat() if modified else None,
    }
    if plan.format in (FileFormat.CSV, FileFormat.TSV):
        properties["csv_delimiter"] = csv_dialect(plan.format, options.csv_delimiter).delimiter
    if plan.format is FileFormat.JSON:
        readable_paths = {f.path for f in readable}
        layouts = {"array" if f.path in json_arrays else "lines" for f in sampled if f.path in readable_paths}
        properties["json_layout"] = layouts.pop() if len(layouts) == 1 else ("mixed" if layouts else None)
    if plan.format is FileFormat.PARQUET:
        properties["row_estimate_exact"] = exact_rows
    if plan.partition_keys:
        properties["partitions"] = len({f.partition for f in plan.files})
    if plan.ignored_files:
        properties["ignored_files"] = plan.ignored_files
    if file_errors:
        properties["file_errors"] = file_errors[:_MAX_REPORTED]
        properties["file_error_count"] = len(file_errors)
    if conflicts:
        properties["schema_conflicts"] = conflicts[:_MAX_REPORTED]
        properties["schema_conflict_count"] = len(conflicts)
    return properties
