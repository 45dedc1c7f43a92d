"""`Lake`: one table's runs and chunks in a folder or object store, written durably and read through manifests."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq
from fsspec.implementations.local import LocalFileSystem

from crawlers.lake.chunks import CHUNK_METADATA_KEY, ColumnTracker, write_parquet
from crawlers.lake.durable import write_durably
from crawlers.lake.manifest import MANIFEST_NAME, ChunkInfo, RunManifest
from crawlers.lake.names import (
    RUN_PREFIX,
    check_run_id,
    chunk_name,
    chunk_number,
    escape_segment,
    is_temporary,
    run_id_of,
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

    chunk_name = staticmethod(chunk_name)  # `part-<chunk_no:05d>.parquet` (`crawlers.lake.names.chunk_name`)

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
        name = chunk_name(chunk_no)
        self.fs.makedirs(run_dir, exist_ok=True)
        tracker = ColumnTracker(plan_column)
        rows = write_durably(self.fs, self._local, run_dir, name, lambda handle: write_parquet(
            handle, batches, tracker, metadata, run_id, chunk_no, row_group_rows, compression))
        final = f"{run_dir}/{name}"
        size = int(self.fs.size(final))
        return ChunkInfo(path=final, run_id=run_id, chunk_no=chunk_no, rows=rows, bytes=size,
                         min=tracker.first, max=tracker.last)

    def write_manifest(self, source: str, schema: str, table: str, manifest: RunManifest) -> str:
        """Commit a run: write its manifest (atomically, last). Returns the manifest's path."""
        run_dir = self.run_path(source, schema, table, manifest.run_id)
        payload = json.dumps(manifest.to_json(), indent=1, sort_keys=True).encode("utf-8")
        self.fs.makedirs(run_dir, exist_ok=True)
        write_durably(self.fs, self._local, run_dir, MANIFEST_NAME, lambda handle: handle.write(payload))
        return f"{run_dir}/{MANIFEST_NAME}"

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
            run_id = run_id_of(entry["name"].rstrip("/").rsplit("/", 1)[-1])
            if entry.get("type") == "directory" and run_id is not None:
                ids.append(run_id)
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

    def committed_runs(self, source: str, schema: str, table: str, *, superseded: bool = False) -> list[RunManifest]:
        """The committed runs of a table, oldest commit first, without the chunks a later backfill replaced
        (`RunManifest.supersedes`), so their chunks hold each row once; `superseded=True` keeps every chunk listed."""
        manifests = [self.manifest(source, schema, table, r) for r in self.run_ids(source, schema, table)]
        runs = sorted((m for m in manifests if m is not None), key=lambda m: (m.committed_at, m.run_id))
        gone = {ref for run in runs for ref in run.supersedes}
        if superseded or not gone:
            return runs
        return [replace(run, chunks=tuple(c for c in run.chunks if c.ref not in gone)) for run in runs]

    def chunk_files(self, source: str, schema: str, table: str, run_id: str) -> list[str]:
        """The chunk files present in a run folder (committed or not), by chunk number; temporary files excluded."""
        run_dir = self.run_path(source, schema, table, run_id)
        numbered = sorted((n, name) for name in self._file_names(run_dir) if (n := chunk_number(name)) is not None)
        return [f"{run_dir}/{name}" for _, name in numbered]  # by number: part-100000 comes after part-99999

    def chunk_metadata(self, path: str) -> dict[str, Any]:
        """The `catalog.chunk` footer of a chunk file (empty when absent)."""
        with self.fs.open(path, "rb") as handle:
            meta = pq.read_metadata(handle).metadata or {}
        raw = meta.get(CHUNK_METADATA_KEY)
        return json.loads(raw.decode("utf-8")) if raw else {}

    def read_run(self, source: str, schema: str, table: str, run_id: str) -> pa.Table:
        """The rows of one committed run still in force (see `committed_runs`); a `LookupError` when it is not
        committed."""
        manifest = next((m for m in self.committed_runs(source, schema, table) if m.run_id == run_id), None)
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

    def _file_names(self, folder: str) -> list[str]:
        """The names of the entries of `folder` (none when it does not exist)."""
        try:
            return [p.rstrip("/").rsplit("/", 1)[-1] for p in self._ls(folder, detail=False)]
        except FileNotFoundError:
            return []

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
        return [f"{run_dir}/{name}" for name in self._file_names(run_dir) if is_temporary(name)]
