"""The lake: path escaping, durable deterministic chunk files, manifests as the only source of truth.

Oracles: the file system itself (os.listdir, file sizes) and pyarrow's Parquet metadata read from the files.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from crawlers.lake import (
    MANIFEST_NAME,
    MAX_SEGMENT_BYTES,
    Lake,
    RunManifest,
    check_run_id,
    escape_segment,
    unescape_segment,
    utc_now,
)
from tests.support.azurite import azurite, azurite_container  # noqa: F401  (fixtures)


def batch(ids: list[int], names: list[str | None] | None = None) -> pa.RecordBatch:
    names = names if names is not None else [f"n{i}" for i in ids]
    return pa.RecordBatch.from_pydict({"id": pa.array(ids, pa.int64()), "name": pa.array(names, pa.string())})


def commit(lake: Lake, where: tuple[str, str, str], run_id: str, chunks) -> None:
    lake.write_manifest(*where, RunManifest(run_id=run_id, chunks=tuple(chunks), strategy="key", column="id",
                                            watermark_from=None, watermark_to=chunks[-1].max if chunks else None,
                                            committed_at=utc_now()))


# -- names ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "segment"),
    [
        ("orders", "orders"),
        ("Kunden Übersicht", "Kunden Übersicht"),
        ("a/b", "a%2Fb"),
        ("100%", "100%25"),
        ("..", "%2E."),
        (".hidden", "%2Ehidden"),
        ("tab\there\n", "tab%09here%0A"),
        ("c:\\x", "c%3A%5Cx"),
        ("what?#", "what%3F%23"),
        ("glob*[x]{y}", "glob%2A%5Bx%5D%7By%7D"),
        ("a.b", "a.b"),
    ],
)
def test_names_become_one_reversible_segment(name, segment):
    assert escape_segment(name) == segment
    assert unescape_segment(segment) == name


def test_hostile_names_stay_inside_the_dataset_folder(tmp_path):
    lake = Lake(str(tmp_path / "lake"))
    where = ("..", "../..", "/etc/passwd")
    chunk = lake.write_chunk(*where, "r1", 0, [batch([1])])
    real = Path(chunk.path).resolve()
    assert real.is_relative_to((tmp_path / "lake").resolve())
    assert real.parent.parent == (tmp_path / "lake" / "%2E." / "%2E.%2F.." / "%2Fetc%2Fpasswd").resolve()


def test_overlong_names_are_shortened_deterministically_and_stay_distinct():
    long_a, long_b = "x" * 300 + "a", "x" * 300 + "b"
    a, b = escape_segment(long_a), escape_segment(long_b)
    assert a != b and a == escape_segment(long_a)
    assert len(a.encode()) <= MAX_SEGMENT_BYTES and len(escape_segment("/" * 200).encode()) <= MAX_SEGMENT_BYTES


def test_bad_names_and_ids_are_refused_with_the_field_named(tmp_path):
    lake = Lake(str(tmp_path))
    with pytest.raises(ValueError, match="table must be a non-empty string"):
        lake.dataset_path("s", "public", "")
    with pytest.raises(ValueError, match="run_id must be"):
        check_run_id("../x")
    with pytest.raises(ValueError, match="run_id must be"):
        lake.run_path("s", "public", "t", ".hidden")
    with pytest.raises(ValueError, match="chunk_no must be"):
        lake.chunk_name(-1)


# -- chunks -----------------------------------------------------------------------------------------------------


def test_chunk_names_are_deterministic_and_a_rewrite_overwrites(tmp_path):
    lake = Lake(str(tmp_path / "lake"))
    where = ("src", "public", "orders")
    first = lake.write_chunk(*where, "r1", 3, [batch([1, 2, 3])], plan_column="id")
    assert first.path == f"{tmp_path}/lake/src/public/orders/run=r1/part-00003.parquet"
    again = lake.write_chunk(*where, "r1", 3, [batch([7, 8]), batch([9])], plan_column="id")
    assert again.path == first.path
    assert os.listdir(Path(first.path).parent) == ["part-00003.parquet"]  # no temporary file left either
    assert pq.read_table(again.path).column("id").to_pylist() == [7, 8, 9]
    assert (again.rows, again.bytes) == (pq.read_metadata(again.path).num_rows, os.path.getsize(again.path))
    assert lake.chunk_metadata(again.path)["rows"] == 3


def test_min_max_are_the_first_and_last_non_null_values_in_row_order(tmp_path):
    lake = Lake(str(tmp_path))
    chunk = lake.write_chunk("s", "p", "t", "r", 0, [batch([1, 2], [None, "b"]), batch([3, 4], ["a", None])],
                             plan_column="name")
    assert (chunk.min, chunk.max) == ("b", "a")  # the source's order, not Python's
    nothing = lake.write_chunk("s", "p", "t", "r", 1, [batch([5], [None])], plan_column="name")
    assert (nothing.min, nothing.max) == (None, None)
    with pytest.raises(ValueError, match="plan column 'missing'"):
        lake.write_chunk("s", "p", "t", "r", 2, [batch([1])], plan_column="missing")


def test_a_failed_write_leaves_neither_a_half_file_nor_a_damaged_previous_one(tmp_path):
    lake = Lake(str(tmp_path))
    where = ("s", "p", "t")
    good = lake.write_chunk(*where, "r", 0, [batch(list(range(100)))])

    def breaks_midway():
        yield batch(list(range(300_000)))  # more than a row group: bytes reach the temporary file
        raise RuntimeError("source connection lost")

    with pytest.raises(RuntimeError, match="source connection lost"):
        lake.write_chunk(*where, "r", 0, breaks_midway())
    with pytest.raises(RuntimeError):
        lake.write_chunk(*where, "r", 1, breaks_midway())
    assert sorted(os.listdir(Path(good.path).parent)) == ["part-00000.parquet"]
    assert pq.read_table(good.path).num_rows == 100


def test_batches_with_another_schema_or_none_at_all_are_refused(tmp_path):
    lake = Lake(str(tmp_path))
    other = pa.RecordBatch.from_pydict({"id": pa.array(["x"])})
    with pytest.raises(ValueError, match="schema differs"):
        lake.write_chunk("s", "p", "t", "r", 0, [batch([1]), other])
    with pytest.raises(ValueError, match="has no batch"):
        lake.write_chunk("s", "p", "t", "r", 0, [])


# -- manifests --------------------------------------------------------------------------------------------------


def test_only_committed_runs_and_only_their_listed_files_are_read(tmp_path):
    lake = Lake(str(tmp_path))
    where = ("s", "p", "t")
    a0 = lake.write_chunk(*where, "a", 0, [batch([1, 2])], plan_column="id")
    a1 = lake.write_chunk(*where, "a", 1, [batch([3])], plan_column="id")
    lake.write_chunk(*where, "a", 2, [batch([99])], plan_column="id")  # stale: not in the manifest
    lake.write_chunk(*where, "b", 0, [batch([4])], plan_column="id")  # a run without manifest
    assert lake.read_dataset(*where).num_rows == 0
    commit(lake, where, "a", [a0, a1])
    assert lake.read_dataset(*where).column("id").to_pylist() == [1, 2, 3]
    assert [m.run_id for m in lake.committed_runs(*where)] == ["a"]
    assert lake.run_ids(*where) == ["a", "b"]
    manifest = lake.manifest(*where, "a")
    assert (manifest.rows, manifest.bytes, manifest.watermark_to) == (3, a0.bytes + a1.bytes, 3)
    assert [c.path for c in manifest.chunks] == [a0.path, a1.path]
    with pytest.raises(LookupError, match="not committed"):
        lake.read_run(*where, "b")
    assert sorted(os.listdir(Path(a0.path).parent)) == [
        MANIFEST_NAME, "part-00000.parquet", "part-00001.parquet", "part-00002.parquet"]


def test_runs_with_an_added_column_read_together(tmp_path):
    lake = Lake(str(tmp_path))
    where = ("s", "p", "t")
    old = lake.write_chunk(*where, "a", 0, [batch([1])])
    commit(lake, where, "a", [old])
    wider = pa.RecordBatch.from_pydict({"id": pa.array([2], pa.int64()), "name": ["x"], "extra": [True]})
    new = lake.write_chunk(*where, "b", 0, [wider])
    commit(lake, where, "b", [new])
    rows = lake.read_dataset(*where).to_pylist()
    assert rows == [{"id": 1, "name": "n1", "extra": None}, {"id": 2, "name": "x", "extra": True}]


def test_an_object_store_works_the_same(tmp_path):
    # fsspec's in-memory file system stands in for abfs://: not local, so chunks go straight to their final name.
    lake = Lake(f"memory://lake-{uuid.uuid4().hex}")
    assert not lake._local
    where = ("src", "dbo", "a/b")
    chunk = lake.write_chunk(*where, "r1", 0, [batch([1, 2, 3])], plan_column="id")
    assert chunk.path.endswith("/src/dbo/a%2Fb/run=r1/part-00000.parquet")
    assert (chunk.rows, chunk.bytes, chunk.max) == (3, lake.fs.size(chunk.path), 3)
    assert lake.read_dataset(*where).num_rows == 0
    commit(lake, where, "r1", [chunk])
    assert lake.read_dataset(*where).column("id").to_pylist() == [1, 2, 3]
    assert lake.chunk_metadata(chunk.path)["max"] == 3


def test_lake_url_forms(tmp_path):
    assert Lake(f"file://{tmp_path}/x").dataset_path("s", "p", "t") == f"{tmp_path}/x/s/p/t"
    assert Lake(str(tmp_path) + "/").dataset_path("s", "p", "t") == f"{tmp_path}/s/p/t"
    with pytest.raises(ValueError, match="lake url"):
        Lake("")


def test_azure_blob_storage_through_abfs(azurite, azurite_container, tmp_path):  # noqa: F811
    """The same lake on Azurite (the Azure Blob emulator) through adlfs: the production path, no local shortcut."""
    import sqlite3

    from crawlers.connectors.sqlite import SqliteConfig, SqliteConnector
    from crawlers.extract import extract_increment
    from crawlers.increment import IncrementPlan, IncrementRequest, IncrementStrategy

    lake = Lake(f"abfs://{azurite_container.container_name}/lake", connection_string=azurite.connection_string)
    assert not lake._local
    db = tmp_path / "src.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT)")
        conn.executemany("INSERT INTO items VALUES (?, ?)", [(i, f"item {i}") for i in range(1, 251)])
    connector = SqliteConnector(SqliteConfig(path=str(db)))
    items = connector.discover().table_map()[("main", "items")]
    plan = IncrementPlan(IncrementStrategy.KEY, "id")
    saved: list = []

    def fail_on_third(chunk, watermark):
        if chunk.chunk_no == 2:
            raise RuntimeError("catalog unavailable")
        saved.append(watermark)

    with pytest.raises(RuntimeError):
        extract_increment(connector, IncrementRequest(items, plan), lake, "lite", chunk_rows=50,
                          on_chunk_durable=fail_on_third)
    blobs = sorted(b.name for b in azurite_container.list_blobs())
    assert [b.rsplit("/", 1)[-1] for b in blobs] == [f"part-0000{i}.parquet" for i in range(3)]
    assert lake.read_dataset("lite", "main", "items").num_rows == 0

    result = extract_increment(connector, IncrementRequest(items, plan, saved[-1]), lake, "lite", chunk_rows=50)
    assert result.recovered_runs and result.rows == 150
    ids = lake.read_dataset("lite", "main", "items").column("id").to_pylist()
    assert sorted(ids) == list(range(1, 251))
    names = sorted(b.name for b in azurite_container.list_blobs())
    assert len([n for n in names if n.endswith(".parquet")]) == 2 + 3 and len(
        [n for n in names if n.endswith(MANIFEST_NAME)]) == 2
