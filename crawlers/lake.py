"""The lake: extracted table data as Parquet files under `<lake>/<source>/<schema>/<table>/`, through fsspec.

Layout of one table's dataset::

    <lake>/<source>/<schema>/<table>/
        run=<run_id>/part-00000.parquet     one file per chunk, named from the run id and the chunk number
        run=<run_id>/part-00001.parquet
        run=<run_id>/_SUCCESS.json          the run's manifest, written last: the run is *committed*

- **Names are deterministic**: writing chunk 3 of run `r` again replaces the file instead of adding one, so a
  retried extraction cannot duplicate what a crashed attempt already wrote.
- **No half files**: on a local folder a chunk is written to a hidden temporary name, flushed to disk (fsync),
  then renamed into place (atomic on POSIX); on an object store (`abfs://`, `s3://`, …) it is uploaded straight
  to its final name, since a blob only becomes visible, whole, when its upload is committed.
- **The manifest is the authority**: readers take only the runs that have a `_SUCCESS.json` and, in them, only the
  files it lists. Spark and Hadoop ignore `_`-prefixed files, so pointing Spark at a run folder reads just Parquet.

Each name (`source`, `schema`, `table`) becomes one path segment, escaped by `escape_segment`: reversible
percent-encoding of what would change a path's meaning (separators, `.`/`..`, URL and glob syntax, control
characters), everything else — Unicode included — kept as it is.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq
from fsspec.implementations.local import LocalFileSystem

from crawlers.increment import decode_watermark, encode_watermark

MANIFEST_NAME = "_SUCCESS.json"
"""A run's manifest; like Hadoop's `_SUCCESS` marker its presence means the run is complete."""

CHUNK_METADATA_KEY = b"catalog.chunk"
"""Parquet footer key holding a chunk's own description (JSON), so a chunk can be understood without its run."""

RUN_PREFIX = "run="
MAX_SEGMENT_BYTES = 255
"""Most file systems and Azure's hierarchical namespace limit one path segment to 255 bytes."""

_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_CHUNK_FILE = re.compile(r"^part-(\d{5,})\.parquet$")
# Escaped: '%' (the escape itself); '/' and '\' (separators); ':' (Hadoop's Path reads it as a URI scheme); '#' and
# '?' (fsspec and URL parsers cut there); '*', '[', ']', '{', '}' (glob syntax for fsspec and Spark); control
# characters (invisible, and some file systems refuse them).
_ESCAPED = frozenset("%/\\:#?*[]{}") | frozenset(chr(c) for c in range(0x20)) | {"\x7f"}


def escape_segment(name: str, *, what: str = "name") -> str:
    """A source, schema or table name as one safe path segment; `unescape_segment` reverses it.

    Percent-encodes (UTF-8, uppercase hex) the characters in `_ESCAPED` and a leading `.`, so `.` and `..` can
    never climb the tree and no segment is hidden. A segment longer than `MAX_SEGMENT_BYTES` after escaping is cut
    and suffixed with `~` and 16 hex digits of the SHA-256 of the name: still unique and deterministic, no longer
    reversible (names that long exist only in SQLite and files).
    """
    if not isinstance(name, str) or name == "":
        raise ValueError(f"{what} must be a non-empty string, got {name!r}")
    out = []
    for i, char in enumerate(name):
        if char in _ESCAPED or (i == 0 and char == "."):
            out.append("".join(f"%{b:02X}" for b in char.encode("utf-8")))
        else:
            out.append(char)
    segment = "".join(out)
    if len(segment.encode("utf-8")) > MAX_SEGMENT_BYTES:
        digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:16]
        head = segment.encode("utf-8")[: MAX_SEGMENT_BYTES - 17].decode("utf-8", errors="ignore")
        head = re.sub(r"%[0-9A-F]?$", "", head)  # never end on half an escape
        segment = f"{head}~{digest}"
    return segment


def unescape_segment(segment: str) -> str:
    """The name `escape_segment` encoded (for segments that were not shortened)."""
    from urllib.parse import unquote

    return unquote(segment, encoding="utf-8", errors="strict")


def check_run_id(run_id: str) -> str:
    """A run id becomes a folder name: 1-128 characters of `A-Z a-z 0-9 . _ -`, not starting with `.`, `_`, `-`."""
    if not isinstance(run_id, str) or not _RUN_ID.match(run_id):
        raise ValueError(
            f"run_id must be 1-128 characters of letters, digits, '.', '_' or '-' and start with a letter or "
            f"digit, got {run_id!r}"
        )
    return run_id


@dataclass(frozen=True, slots=True)
class ChunkInfo:
    """One durable chunk file of a run.

    `min`/`max` are the first and last non-null values of the plan column in the order the rows were written;
    a connector returns rows ordered by that column, so they are its smallest and largest value in the source's
    own ordering (None when there is no plan column or it held only NULLs).
    """

    path: str
    run_id: str
    chunk_no: int
    rows: int
    bytes: int
    min: Any = None
    max: Any = None

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.path.rsplit("/", 1)[-1],
            "chunk_no": self.chunk_no,
            "rows": self.rows,
            "bytes": self.bytes,
            "min": encode_watermark(self.min),
            "max": encode_watermark(self.max),
        }


@dataclass(frozen=True, slots=True)
class RunManifest:
    """What a committed run holds: its chunks, totals, and the watermark window it covers."""

    run_id: str
    chunks: tuple[ChunkInfo, ...]
    strategy: str
    column: str | None
    watermark_from: Any
    watermark_to: Any
    committed_at: datetime
    recovered: bool = False
    """True when the run crashed and was sealed afterwards with the chunks its saved watermark covers."""
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def rows(self) -> int:
        return sum(c.rows for c in self.chunks)

    @property
    def bytes(self) -> int:
        return sum(c.bytes for c in self.chunks)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": 1,
            "run_id": self.run_id,
            "strategy": self.strategy,
            "column": self.column,
            "watermark_from": encode_watermark(self.watermark_from),
            "watermark_to": encode_watermark(self.watermark_to),
            "rows": self.rows,
            "bytes": self.bytes,
            "committed_at": self.committed_at.isoformat(),
            "recovered": self.recovered,
            "chunks": [c.to_json() for c in self.chunks],
            **({"extra": self.extra} if self.extra else {}),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any], run_dir: str) -> RunManifest:
        chunks = tuple(
            ChunkInfo(
                path=f"{run_dir}/{c['file']}",
                run_id=data["run_id"],
                chunk_no=int(c["chunk_no"]),
                rows=int(c["rows"]),
                bytes=int(c["bytes"]),
                min=decode_watermark(c.get("min")),
                max=decode_watermark(c.get("max")),
            )
            for c in data["chunks"]
        )
        return cls(
            run_id=data["run_id"],
            chunks=chunks,
            strategy=data["strategy"],
            column=data.get("column"),
            watermark_from=decode_watermark(data.get("watermark_from")),
            watermark_to=decode_watermark(data.get("watermark_to")),
            committed_at=datetime.fromisoformat(data["committed_at"]),
            recovered=bool(data.get("recovered", False)),
            extra=dict(data.get("extra", {})),
        )


class Lake:
    """Extracted table data in a folder or object store, addressed by fsspec URL (`CATALOG_LAKE_URL`).

    `Lake("/var/lib/catalog/lake")`, `Lake("file:///…")` or `Lake("abfs://container/lake", account_name=…,
    credential=…)`: keyword arguments are fsspec storage options. One extraction per table at a time (the
    application's job lock): `crawlers.extract` repairs a table's crashed runs before writing, and would take a
    concurrent run's files for a crashed one's.
    """

    def __init__(self, url: str, **storage_options: Any) -> None:
        if not url:
            raise ValueError("lake url must be a folder path or an fsspec URL such as abfs://container/path")
        self.url = url
        self.fs, root = fsspec.core.url_to_fs(url, **storage_options)
        self.root = root.rstrip("/") or "/"
        self._local = isinstance(self.fs, LocalFileSystem)

    def __repr__(self) -> str:
        return f"Lake({self.url!r})"

    # -- paths ----------------------------------------------------------------------------------------------------

    def dataset_path(self, source: str, schema: str, table: str) -> str:
        """`<lake>/<source>/<schema>/<table>` with each name escaped by `escape_segment` (no trailing slash)."""
        parts = (
            escape_segment(source, what="source"),
            escape_segment(schema, what="schema"),
            escape_segment(table, what="table"),
        )
        return "/".join((self.root if self.root != "/" else "", *parts))

    def run_path(self, source: str, schema: str, table: str, run_id: str) -> str:
        return f"{self.dataset_path(source, schema, table)}/{RUN_PREFIX}{check_run_id(run_id)}"

    @staticmethod
    def chunk_name(chunk_no: int) -> str:
        if not isinstance(chunk_no, int) or chunk_no < 0:
            raise ValueError(f"chunk_no must be a non-negative integer, got {chunk_no!r}")
        return f"part-{chunk_no:05d}.parquet"

    # -- writing --------------------------------------------------------------------------------------------------

    def write_chunk(
        self,
        source: str,
        schema: str,
        table: str,
        run_id: str,
        chunk_no: int,
        batches: Iterable[pa.RecordBatch],
        *,
        plan_column: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        row_group_rows: int = 262_144,
        compression: str = "zstd",
    ) -> ChunkInfo:
        """Write `batches` as `run=<run_id>/part-<chunk_no:05d>.parquet`; return once the file is durable.

        Batches stream through: at most `row_group_rows` rows are held in memory. `metadata` (JSON-able) is stored
        in the Parquet footer under `catalog.chunk`, together with the chunk's own facts. A chunk without any batch
        cannot be written: there is no schema to give it.
        """
        run_dir = self.run_path(source, schema, table, run_id)
        final = f"{run_dir}/{self.chunk_name(chunk_no)}"
        self.fs.makedirs(run_dir, exist_ok=True)
        tracker = _ColumnTracker(plan_column)
        if self._local:
            tmp = f"{run_dir}/.{self.chunk_name(chunk_no)}.{uuid.uuid4().hex}.tmp"
            try:
                with open(tmp, "wb") as handle:
                    rows = _write_parquet(handle, batches, tracker, metadata, run_id, chunk_no, row_group_rows,
                                          compression)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(tmp, final)
            except BaseException:
                _remove_quietly(tmp)
                raise
            _fsync_dir(run_dir)
        else:
            with self.fs.open(final, "wb") as handle:
                rows = _write_parquet(handle, batches, tracker, metadata, run_id, chunk_no, row_group_rows,
                                      compression)
        size = int(self.fs.size(final))
        return ChunkInfo(path=final, run_id=run_id, chunk_no=chunk_no, rows=rows, bytes=size,
                         min=tracker.first, max=tracker.last)

    def write_manifest(self, source: str, schema: str, table: str, manifest: RunManifest) -> str:
        """Commit a run: write its manifest (atomically, last). Returns the manifest's path."""
        run_dir = self.run_path(source, schema, table, manifest.run_id)
        path = f"{run_dir}/{MANIFEST_NAME}"
        payload = json.dumps(manifest.to_json(), indent=1, sort_keys=True).encode("utf-8")
        self.fs.makedirs(run_dir, exist_ok=True)
        if self._local:
            tmp = f"{run_dir}/.{MANIFEST_NAME}.{uuid.uuid4().hex}.tmp"
            try:
                with open(tmp, "wb") as handle:
                    handle.write(payload)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(tmp, path)
            except BaseException:
                _remove_quietly(tmp)
                raise
            _fsync_dir(run_dir)
        else:
            with self.fs.open(path, "wb") as handle:
                handle.write(payload)
        return path

    # -- reading --------------------------------------------------------------------------------------------------

    def run_ids(self, source: str, schema: str, table: str) -> list[str]:
        """Every run folder of the table, committed or not, sorted by id."""
        base = self.dataset_path(source, schema, table)
        try:
            entries = self._ls(base, detail=True)
        except FileNotFoundError:
            return []
        ids = []
        for entry in entries:
            name = entry["name"].rstrip("/").rsplit("/", 1)[-1]
            if entry.get("type") == "directory" and name.startswith(RUN_PREFIX) and _RUN_ID.match(name[4:]):
                ids.append(name[len(RUN_PREFIX):])
        return sorted(ids)

    def manifest(self, source: str, schema: str, table: str, run_id: str) -> RunManifest | None:
        """The run's manifest, or None while the run is not committed."""
        run_dir = self.run_path(source, schema, table, run_id)
        try:
            with self.fs.open(f"{run_dir}/{MANIFEST_NAME}", "rb") as handle:
                data = json.loads(handle.read().decode("utf-8"))
        except FileNotFoundError:
            return None
        return RunManifest.from_json(data, run_dir)

    def committed_runs(self, source: str, schema: str, table: str) -> list[RunManifest]:
        """The committed runs of a table, oldest commit first."""
        manifests = [self.manifest(source, schema, table, r) for r in self.run_ids(source, schema, table)]
        return sorted((m for m in manifests if m is not None), key=lambda m: (m.committed_at, m.run_id))

    def chunk_files(self, source: str, schema: str, table: str, run_id: str) -> list[str]:
        """The chunk files present in a run folder (committed or not), by chunk number; temporary files excluded."""
        run_dir = self.run_path(source, schema, table, run_id)
        try:
            names = [p.rstrip("/").rsplit("/", 1)[-1] for p in self._ls(run_dir, detail=False)]
        except FileNotFoundError:
            return []
        numbered = sorted((int(m.group(1)), n) for n in names if (m := _CHUNK_FILE.match(n)))
        return [f"{run_dir}/{n}" for _, n in numbered]  # by number: part-100000 comes after part-99999

    def chunk_metadata(self, path: str) -> dict[str, Any]:
        """The `catalog.chunk` footer of a chunk file (empty when absent)."""
        with self.fs.open(path, "rb") as handle:
            meta = pq.read_metadata(handle).metadata or {}
        raw = meta.get(CHUNK_METADATA_KEY)
        return json.loads(raw.decode("utf-8")) if raw else {}

    def read_run(self, source: str, schema: str, table: str, run_id: str) -> pa.Table:
        """The rows of one committed run; a `LookupError` when it is not committed."""
        manifest = self.manifest(source, schema, table, run_id)
        if manifest is None:
            raise LookupError(f"run {run_id!r} of {source}/{schema}/{table} is not committed")
        return self._read_files([c.path for c in manifest.chunks])

    def read_dataset(
        self, source: str, schema: str, table: str, *, runs: Iterable[str] | None = None
    ) -> pa.Table:
        """The rows of every committed run (or of `runs`), oldest run first; uncommitted runs are left out.

        Runs written with different column sets are unified (missing columns read as nulls). A table with no
        committed run gives an empty table without columns.
        """
        wanted = None if runs is None else set(runs)
        files = [
            chunk.path
            for manifest in self.committed_runs(source, schema, table)
            if wanted is None or manifest.run_id in wanted
            for chunk in manifest.chunks
        ]
        return self._read_files(files)

    def _read_files(self, files: list[str]) -> pa.Table:
        if not files:
            return pa.table({})
        tables = []
        for path in files:
            with self.fs.open(path, "rb") as handle:
                tables.append(pq.read_table(handle))
        return pa.concat_tables(tables, promote_options="default")

    def _ls(self, path: str, *, detail: bool) -> list[Any]:
        # Object-store file systems (adlfs, s3fs) cache listings; another writer — or this process a moment ago —
        # may have added a run since, and a stale listing would hide it.
        self.fs.invalidate_cache(path)
        return self.fs.ls(path, detail=detail)

    # -- removing -------------------------------------------------------------------------------------------------

    def remove(self, path: str) -> None:
        """Delete one file of the lake if it exists."""
        try:
            self.fs.rm_file(path)
        except FileNotFoundError:
            pass

    def temporary_files(self, source: str, schema: str, table: str, run_id: str) -> list[str]:
        """Left-over temporary files of a run folder (a writer killed mid-chunk leaves one)."""
        run_dir = self.run_path(source, schema, table, run_id)
        try:
            names = [p.rstrip("/").rsplit("/", 1)[-1] for p in self._ls(run_dir, detail=False)]
        except FileNotFoundError:
            return []
        return [f"{run_dir}/{n}" for n in names if n.startswith(".") and n.endswith(".tmp")]


class _ColumnTracker:
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


def _write_parquet(
    handle: Any,
    batches: Iterable[pa.RecordBatch],
    tracker: _ColumnTracker,
    metadata: Mapping[str, Any] | None,
    run_id: str,
    chunk_no: int,
    row_group_rows: int,
    compression: str,
) -> int:
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


def _fsync_dir(path: str) -> None:
    # The rename is durable only once the directory entry is: fsync the folder (POSIX; a no-op where unsupported).
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _remove_quietly(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass


def utc_now() -> datetime:
    return datetime.now(UTC)
