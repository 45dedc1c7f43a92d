"""How the files under a source's root group into schemas and tables. Pure: a listing in, table plans out.

For a file at `<root>/<p0>/<p1>/…/<file>`:

| path | schema | table |
| --- | --- | --- |
| `<file>` | `default` | the file's stem |
| `<p0>/<file>` | `p0` | the file's stem |
| `<p0>/<p1>/…/<file>` | `p0` | `p1`, a folder table: every data file under it, at any depth |
| `<p0>/<k=v>/…/<file>` | `default` | `p0`, a partitioned folder table |
| `<k=v>/…/<file>` | `default` | the root folder's name, a partitioned folder table |

Inside a folder table, path segments `key=value` (Hive style) are partition columns; other segments are ignored.
Files and folders whose name starts with `.` or `_` (`_SUCCESS`, `_temporary`, `.crc` files) are skipped, as Spark
and pyarrow do. When a file's stem collides with another table of its schema, the table takes the full file name.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from urllib.parse import unquote

import pyarrow as pa

from crawlers.files.formats import FileFormat, format_of, stem_of
from crawlers.files.location import Location
from crawlers.files.storage import FileEntry

DEFAULT_SCHEMA = "default"
"""The schema of tables whose files (or folders) lie directly in the root folder."""

HIVE_NULL = "__HIVE_DEFAULT_PARTITION__"
_FORMAT_ORDER = list(FileFormat)


def is_hidden(segment: str) -> bool:
    return segment.startswith((".", "_"))


def partition_segment(segment: str) -> tuple[str, str] | None:
    """(`key`, `value`) for a Hive-style `key=value` folder name, else None."""
    key, eq, value = segment.partition("=")
    if not eq or not key:
        return None
    return unquote(key), unquote(value)


@dataclass(frozen=True, slots=True)
class DataFile:
    """A data file of a table, with the partition values its path holds."""

    entry: FileEntry
    format: FileFormat
    partition: tuple[tuple[str, str], ...] = ()

    @property
    def path(self) -> str:
        return self.entry.path


@dataclass(slots=True)
class TablePlan:
    """The files of one table, before any of them is read."""

    schema: str
    name: str
    path: str
    """The table's file, or its folder."""
    is_folder: bool
    files: list[DataFile] = field(default_factory=list)
    format: FileFormat | None = None
    partition_keys: tuple[str, ...] = ()
    file_errors: list[dict[str, str]] = field(default_factory=list)
    ignored_files: int = 0

    @property
    def key(self) -> tuple[str, str]:
        return (self.schema, self.name)

    def partition_schema(self) -> pa.Schema:
        """Partition columns typed from their values: int64 if all are integers, date32 if all are ISO dates,
        else string. Hive's null partition makes the column nullable."""
        fields = []
        for index, key in enumerate(self.partition_keys):
            values = [f.partition[index][1] for f in self.files]
            present = [v for v in values if v != HIVE_NULL]
            fields.append(pa.field(key, partition_type(present), nullable=len(present) < len(values)))
        return pa.schema(fields)


def partition_type(values: list[str]) -> pa.DataType:
    if values and all(_is_int(v) for v in values):
        return pa.int64()
    if values and all(_is_date(v) for v in values):
        return pa.date32()
    return pa.string()


def _is_int(value: str) -> bool:
    digits = value[1:] if value[:1] in "+-" else value
    return digits.isascii() and digits.isdigit() and -(2**63) <= int(value) < 2**63


def _is_date(value: str) -> bool:
    if len(value) != 10 or value[4] != "-" or value[7] != "-":
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class _Unit:
    schema: str
    name: str
    path: str
    is_folder: bool


def plan_tables(
    location: Location, entries: list[FileEntry], formats: frozenset[FileFormat] | None
) -> list[TablePlan]:
    """Group a listing of files under `location.root` into tables, sorted by (schema, name)."""
    units: dict[_Unit, list[tuple[FileEntry, tuple[str, ...]]]] = {}
    for entry in entries:
        parts = location.relative(entry.path).split("/")
        if any(is_hidden(p) for p in parts) or not parts[-1]:
            continue
        unit, partition_segments = _unit_of(location, parts)
        units.setdefault(unit, []).append((entry, partition_segments))

    plans: list[TablePlan] = []
    for unit, files in units.items():
        plan = TablePlan(schema=unit.schema, name=unit.name, path=unit.path, is_folder=unit.is_folder)
        if unit.is_folder:
            _fill_folder(plan, files, formats)
        else:
            entry = files[0][0]
            fmt = format_of(entry.name, formats)
            if fmt is None:
                continue  # not a data file: a README, an image, …
            plan.format = fmt
            plan.files.append(DataFile(entry, fmt))
        if plan.files or plan.file_errors:
            plans.append(plan)
    _rename_collisions(plans)
    return sorted(plans, key=lambda p: p.key)


def _unit_of(location: Location, parts: list[str]) -> tuple[_Unit, tuple[str, ...]]:
    """The table a file belongs to, and the folder segments that may hold its partition values."""
    root = location.root
    if len(parts) == 1:
        return _Unit(DEFAULT_SCHEMA, parts[0], location.join(parts[0]), False), ()
    if partition_segment(parts[0]):
        return _Unit(DEFAULT_SCHEMA, location.root_name, root, True), tuple(parts[:-1])
    if len(parts) == 2:
        return _Unit(parts[0], parts[1], location.join(parts[0], parts[1]), False), ()
    if partition_segment(parts[1]):
        return _Unit(DEFAULT_SCHEMA, parts[0], location.join(parts[0]), True), tuple(parts[1:-1])
    return _Unit(parts[0], parts[1], location.join(parts[0], parts[1]), True), tuple(parts[2:-1])


def _fill_folder(
    plan: TablePlan, files: list[tuple[FileEntry, tuple[str, ...]]], formats: frozenset[FileFormat] | None
) -> None:
    typed: list[tuple[FileEntry, FileFormat, tuple[tuple[str, str], ...] | None]] = []
    for entry, segments in sorted(files, key=lambda f: f[0].path):
        fmt = format_of(entry.name, formats)
        if fmt is None:
            plan.ignored_files += 1
            continue
        pairs = tuple(p for p in (partition_segment(s) for s in segments) if p is not None)
        keys = [k for k, _ in pairs]
        typed.append((entry, fmt, pairs if len(set(keys)) == len(keys) else None))
    if not typed:
        return

    # One format per table: the most common one (ties: the order of FileFormat).
    counts = Counter(fmt for _, fmt, _ in typed)
    plan.format = min(counts, key=lambda f: (-counts[f], _FORMAT_ORDER.index(f)))
    key_counts = Counter(tuple(k for k, _ in pairs) for _, fmt, pairs in typed if pairs is not None)
    if key_counts:
        plan.partition_keys = min(key_counts, key=lambda keys: (-key_counts[keys], keys))
    shown_keys = ", ".join(plan.partition_keys) or "none"
    for entry, fmt, pairs in typed:
        if fmt is not plan.format:
            plan.file_errors.append(
                {"path": entry.path, "error": f"a {fmt} file among the table's {plan.format} files; not read"}
            )
        elif pairs is None:
            plan.file_errors.append({"path": entry.path, "error": "a partition key appears twice in the path"})
        elif tuple(k for k, _ in pairs) != plan.partition_keys:
            found = ", ".join(k for k, _ in pairs) or "none"
            plan.file_errors.append(
                {"path": entry.path, "error": f"partition keys ({found}) differ from the table's ({shown_keys})"}
            )
        else:
            plan.files.append(DataFile(entry, fmt, pairs))


def _rename_collisions(plans: list[TablePlan]) -> None:
    # File tables start with the file name and take its stem unless another table of the schema has that name.
    taken = Counter((p.schema, p.name if p.is_folder else stem_of(p.name)) for p in plans)
    for plan in plans:
        if not plan.is_folder:
            stem = stem_of(plan.name)
            if taken[(plan.schema, stem)] == 1:
                plan.name = stem
