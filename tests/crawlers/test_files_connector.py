"""The files connector, on a local folder and on Azure Blob Storage (Azurite), with the same suite for both.

Every test gets a `lake`: fixture files written either into a temporary folder or into a fresh Azurite container
(and, for the oracles, into a local mirror with the same bytes). Oracles: pyarrow reading whole files, pandas, the
OpenLineage client's own naming classes.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import socket
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest
from azure.storage.blob import ContainerClient

from crawlers.connectors.files import FilesConnector
from crawlers.diff import ChangeType, diff
from crawlers.errors import AuthenticationFailed, ConnectorError, InvalidSourceConfig, SourceNotFound, SourceUnreachable
from crawlers.files.storage import open_storage
from crawlers.increment import IncrementPlan, IncrementRequest, IncrementStrategy, ValueRange
from crawlers.registry import get_connector_class
from crawlers.scope import Scope
from crawlers.snapshot import SourceSnapshot, TableKind, TableSnapshot
from tests.support.azurite import ACCOUNT_NAME, azurite, azurite_container, connection_string  # noqa: F401  (fixtures)

# -- fixture data factories -------------------------------------------------------------------------------------

START = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)


def order_rows(n: int, first_id: int = 1, *, amount_as_int: bool = False) -> list[dict]:
    """Orders with unique ids and unique, increasing update times (so an order by `updated_at` is well defined)."""
    rows = []
    for i in range(first_id, first_id + n):
        amount = i * 3 if amount_as_int else round(i * 1.25 + 0.5, 2)
        rows.append(
            {
                "id": i,
                "amount": amount,
                "customer": f"customer-{i % 7}",
                "updated_at": (START + timedelta(hours=i * 5)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
        )
    return rows


def csv_bytes(rows: list[dict], delimiter: str = ",") -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), delimiter=delimiter, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def json_array_bytes(rows: list[dict]) -> bytes:
    return json.dumps(rows, indent=1).encode()


def jsonl_bytes(rows: list[dict]) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in rows).encode()


def parquet_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def item_table(n: int, first_id: int = 1) -> pa.Table:
    """A Parquet-native table: a required id, a decimal, an aware timestamp."""
    schema = pa.schema(
        [
            pa.field("id", pa.int64(), nullable=False),
            pa.field("price", pa.decimal128(12, 2)),
            pa.field("sold_at", pa.timestamp("us", tz="UTC")),
            pa.field("name", pa.string()),
        ]
    )
    ids = list(range(first_id, first_id + n))
    return pa.table(
        {
            "id": ids,
            "price": [Decimal(f"{i}.{i % 100:02d}") for i in ids],
            "sold_at": [START + timedelta(minutes=i) for i in ids],
            "name": [f"item {i}" for i in ids],
        },
        schema=schema,
    )


# -- the two backends ---------------------------------------------------------------------------------------------


class Lake:
    """A source root holding fixture files; `mirror` keeps a local copy of every file for the oracles."""

    backend: str
    mirror: Path

    def write(self, relative: str, data: bytes) -> None:
        target = self.mirror / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)

    def config(self, **extra: object) -> dict:
        raise NotImplementedError

    def path(self, relative: str) -> str:
        """The file's path as the connector reports it (fsspec's spelling)."""
        raise NotImplementedError

    def connector(self, **extra: object) -> FilesConnector:
        return FilesConnector.from_mapping(self.config(**extra))

    def discover(self, **extra: object) -> SourceSnapshot:
        return self.connector(**extra).discover()


class LocalLake(Lake):
    backend = "local"

    def __init__(self, root: Path) -> None:
        self.mirror = root
        root.mkdir(parents=True)

    def config(self, subfolder: str = "", **extra: object) -> dict:
        return {"url": str(self.mirror / subfolder) if subfolder else str(self.mirror), **extra}

    def path(self, relative: str) -> str:
        return (self.mirror / relative).as_posix()


class AzuriteLake(Lake):
    backend = "azurite"

    def __init__(self, container: ContainerClient, conn_str: str, mirror: Path) -> None:
        self.container = container
        self.connection_string = conn_str
        self.mirror = mirror

    def write(self, relative: str, data: bytes) -> None:
        super().write(relative, data)
        self.container.upload_blob(f"lake/{relative}", data, overwrite=True)

    def config(self, subfolder: str = "", **extra: object) -> dict:
        url = f"abfs://{self.container.container_name}/lake" + (f"/{subfolder}" if subfolder else "")
        return {"url": url, "connection_string": self.connection_string, **extra}

    def path(self, relative: str) -> str:
        return f"{self.container.container_name}/lake/{relative}"


@pytest.fixture(params=["local", "azurite"])
def lake(request: pytest.FixtureRequest, tmp_path: Path) -> Lake:
    if request.param == "local":
        return LocalLake(tmp_path / "lake")
    container = request.getfixturevalue("azurite_container")
    return AzuriteLake(container, request.getfixturevalue("azurite").connection_string, tmp_path / "mirror")


def columns_of(table: TableSnapshot) -> list[tuple[str, str, bool]]:
    return [(c.name, c.data_type, c.nullable) for c in table.columns]


def read_all(connector: FilesConnector, table: TableSnapshot, plan: IncrementPlan, **kwargs: object) -> pa.Table:
    batches = list(connector.read_increment(IncrementRequest(table, plan, **kwargs)))
    return pa.Table.from_batches(batches) if batches else pa.table({})


# -- discovery ----------------------------------------------------------------------------------------------------


def test_every_format_is_a_table_typed_like_a_full_read(lake: Lake) -> None:
    rows = order_rows(25)
    items = item_table(40)
    lake.write("sales/orders.csv", csv_bytes(rows))
    lake.write("sales/customers.tsv", csv_bytes(rows, delimiter="\t"))
    lake.write("sales/items.parquet", parquet_bytes(items))
    lake.write("events/clicks.json", json_array_bytes(rows))
    lake.write("events/views.jsonl", jsonl_bytes(rows))

    snapshot = lake.discover()
    tables = snapshot.table_map()

    assert [s.name for s in snapshot.schemas] == ["events", "sales"]
    assert sorted(tables) == [
        ("events", "clicks"), ("events", "views"), ("sales", "customers"), ("sales", "items"), ("sales", "orders"),
    ]
    assert all(t.kind is TableKind.FILE for t in snapshot.tables)
    # Oracle for CSV/TSV/Parquet: pyarrow reading the whole file, not a sample.
    for name, options in (("orders.csv", {}), ("customers.tsv", {"parse_options": pa_csv.ParseOptions(delimiter="\t")})):
        full = pa_csv.read_csv(lake.mirror / "sales" / name, **options).schema
        table = tables[("sales", name.split(".")[0])]
        assert columns_of(table) == [(f.name, str(f.type), True) for f in full]
    assert columns_of(tables[("sales", "orders")]) == [
        ("id", "int64", True), ("amount", "double", True), ("customer", "string", True),
        ("updated_at", "timestamp[s, tz=UTC]", True),
    ]
    parquet_schema = pq.read_schema(lake.mirror / "sales/items.parquet")
    assert columns_of(tables[("sales", "items")]) == [(f.name, str(f.type), f.nullable) for f in parquet_schema]
    assert columns_of(tables[("sales", "items")]) == [
        ("id", "int64", False), ("price", "decimal128(12, 2)", True), ("sold_at", "timestamp[us, tz=UTC]", True),
        ("name", "string", True),
    ]
    # pyarrow's JSON reader keeps no time zone; both JSON layouts give the same types.
    json_columns = [("id", "int64", True), ("amount", "double", True), ("customer", "string", True),
                    ("updated_at", "timestamp[s]", True)]
    assert columns_of(tables[("events", "clicks")]) == json_columns
    assert columns_of(tables[("events", "views")]) == json_columns
    assert [c.ordinal for c in tables[("sales", "orders")].columns] == [1, 2, 3, 4]

    assert tables[("sales", "items")].row_estimate == pq.read_metadata(lake.mirror / "sales/items.parquet").num_rows
    assert tables[("sales", "orders")].row_estimate is None  # a CSV is never read in full
    orders = tables[("sales", "orders")].properties
    assert orders["format"] == "csv" and orders["files"] == 1
    assert orders["total_bytes"] == (lake.mirror / "sales/orders.csv").stat().st_size
    assert tables[("sales", "customers")].properties["csv_delimiter"] == "\t"
    assert tables[("events", "clicks")].properties["json_layout"] == "array"
    assert tables[("events", "views")].properties["format"] == "jsonl"


def test_hive_partitions_make_one_table_with_typed_partition_columns(lake: Lake) -> None:
    parts = {("2024-01-01", "eu"): 1, ("2024-01-01", "us"): 11, ("2024-01-02", "eu"): 21}
    for (day, region), first in parts.items():
        lake.write(f"sales/events/dt={day}/region={region}/part-0.parquet", parquet_bytes(item_table(5, first)))
    lake.write("sales/events/_SUCCESS", b"")
    lake.write("sales/events/dt=2024-01-01/region=eu/.part-0.parquet.crc", b"\x00\x01")
    for year, month in ((2023, 12), (2024, 1)):
        lake.write(f"ops/metrics/year={year}/month={month:02d}/data.csv", csv_bytes(order_rows(3, month)))

    snapshot = lake.discover()
    tables = snapshot.table_map()

    assert sorted(tables) == [("ops", "metrics"), ("sales", "events")]
    events = tables[("sales", "events")]
    assert events.partition_key == "dt, region"
    assert columns_of(events)[-2:] == [("dt", "date32[day]", False), ("region", "string", False)]
    assert [c.ordinal for c in events.columns] == [1, 2, 3, 4, 5, 6]
    assert events.properties["files"] == 3 and events.properties["partitions"] == 3
    assert events.row_estimate == 15
    metrics = tables[("ops", "metrics")]
    assert metrics.partition_key == "year, month"
    assert columns_of(metrics)[-2:] == [("year", "int64", False), ("month", "int64", False)]

    # Oracle: pandas reading each file, with the partition values taken from the path by hand.
    frames = []
    for day, region in parts:
        frame = pd.read_parquet(lake.mirror / f"sales/events/dt={day}/region={region}/part-0.parquet")
        frames.append(frame.assign(dt=date.fromisoformat(day), region=region))
    expected = pd.concat(frames).sort_values("id").reset_index(drop=True)
    got = read_all(lake.connector(), events, IncrementPlan(IncrementStrategy.FULL)).to_pandas()
    got = got.sort_values("id").reset_index(drop=True)
    assert got["id"].tolist() == expected["id"].tolist()
    assert got["dt"].tolist() == expected["dt"].tolist()
    assert got["region"].tolist() == expected["region"].tolist()
    assert got["price"].tolist() == expected["price"].tolist()


def test_a_folder_of_part_files_is_one_table_and_side_files_are_skipped(lake: Lake) -> None:
    for index in range(3):
        lake.write(f"sales/orders/part-{index:05d}.csv", csv_bytes(order_rows(4, index * 4 + 1)))
    lake.write("sales/orders/_SUCCESS", b"")
    lake.write("sales/orders/README.md", b"# exported nightly\n")
    lake.write("sales/orders.csv", csv_bytes(order_rows(2)))  # a file whose stem is taken by the folder
    lake.write("notes.txt", b"not data")
    lake.write("top.csv", csv_bytes(order_rows(1)))

    tables = lake.discover().table_map()

    assert sorted(tables) == [("default", "top"), ("sales", "orders"), ("sales", "orders.csv")]
    folder = tables[("sales", "orders")]
    assert folder.partition_key is None
    assert folder.properties["files"] == 3 and folder.properties["ignored_files"] == 1
    assert folder.properties["location"].endswith("/lake/sales/orders")
    rows = read_all(lake.connector(), folder, IncrementPlan(IncrementStrategy.FULL))
    assert sorted(rows.column("id").to_pylist()) == list(range(1, 13))


def test_types_are_reconciled_across_the_files_of_a_table(lake: Lake) -> None:
    lake.write("lab/readings/a.csv", csv_bytes(order_rows(3, 1, amount_as_int=True)))
    lake.write("lab/readings/b.csv", csv_bytes(order_rows(3, 4)))
    lake.write("lab/readings/c.csv", csv_bytes([{**r, "probe": "p1"} for r in order_rows(2, 7)]))

    readings = lake.discover().table_map()[("lab", "readings")]

    assert pa_csv.read_csv(lake.mirror / "lab/readings/a.csv").schema.field("amount").type == pa.int64()
    assert readings.column("amount").data_type == "double"
    assert readings.column("probe").data_type == "string"  # only in c.csv: present, nullable
    assert "schema_conflicts" not in readings.properties
    got = read_all(lake.connector(), readings, IncrementPlan(IncrementStrategy.FULL)).to_pandas().sort_values("id")
    expected = pd.concat(pd.read_csv(p) for p in sorted((lake.mirror / "lab/readings").iterdir())).sort_values("id")
    assert got["amount"].tolist() == expected["amount"].astype(float).tolist()
    assert got["probe"].isna().sum() == 6


def test_a_file_with_an_incompatible_type_is_reported_and_left_out(lake: Lake) -> None:
    lake.write("lab/samples/a.parquet", parquet_bytes(pa.table({"x": [1, 2], "y": ["a", "b"]})))
    lake.write("lab/samples/b.parquet", parquet_bytes(pa.table({"x": ["three"], "y": ["c"]})))
    lake.write("lab/samples/c.parquet", parquet_bytes(pa.table({"x": [4.5], "y": ["d"]})))

    samples = lake.discover().table_map()[("lab", "samples")]

    assert columns_of(samples) == [("x", "double", True), ("y", "string", True)]
    (conflict,) = samples.properties["schema_conflicts"]
    assert conflict["path"] == lake.path("lab/samples/b.parquet")
    assert "incompatible types" in conflict["error"] and "x" in conflict["error"]
    assert samples.properties["files_readable"] == 2
    assert samples.row_estimate == 3  # the rows of the files that are read
    rows = read_all(lake.connector(), samples, IncrementPlan(IncrementStrategy.FULL))
    assert sorted(rows.column("x").to_pylist()) == [1.0, 2.0, 4.5]


def test_malformed_files_get_clear_errors_and_everything_else_is_catalogued(lake: Lake) -> None:
    lake.write("raw/good.csv", csv_bytes(order_rows(5)))
    lake.write("raw/short_row.csv", b"a,b,c,d\n1,2,3,4\n5,SECRET-VALUE\n7,8,9,10\n")
    lake.write("raw/not_parquet.parquet", b"this is not parquet at all")
    lake.write("raw/broken.json", b'[\n {"a": 1},\n {"a": }\n]')
    lake.write("raw/empty.csv", b"")
    lake.write("raw/mixed/part-0.csv", csv_bytes(order_rows(3)))
    lake.write("raw/mixed/part-1.csv", b"id,amount,customer,updated_at\n1,2\n")

    tables = lake.discover().table_map()

    assert sorted(tables) == [
        ("raw", "broken"), ("raw", "empty"), ("raw", "good"), ("raw", "mixed"), ("raw", "not_parquet"),
        ("raw", "short_row"),
    ]
    assert [c.name for c in tables[("raw", "good")].columns] == ["id", "amount", "customer", "updated_at"]

    def only_error(key: tuple[str, str], relative: str) -> str:
        (error,) = tables[key].properties["file_errors"]
        assert error["path"] == lake.path(relative)
        return error["error"]

    short = only_error(("raw", "short_row"), "raw/short_row.csv")
    assert "CSV parse error" in short and "Row #3" in short and "Expected 4 columns, got 2" in short
    assert "SECRET" not in short  # the catalog never copies file content into its metadata
    assert tables[("raw", "short_row")].columns == ()
    assert "not a Parquet file" in only_error(("raw", "not_parquet"), "raw/not_parquet.parquet")
    assert only_error(("raw", "broken"), "raw/broken.json").startswith("JSON parse error on line 3")
    assert "Empty CSV file" in only_error(("raw", "empty"), "raw/empty.csv")
    # In a folder table the good part still defines the columns.
    assert "Expected 4 columns, got 2" in only_error(("raw", "mixed"), "raw/mixed/part-1.csv")
    assert [c.name for c in tables[("raw", "mixed")].columns] == ["id", "amount", "customer", "updated_at"]
    rows = read_all(lake.connector(), tables[("raw", "mixed")], IncrementPlan(IncrementStrategy.FULL))
    assert rows.num_rows == 3


def test_a_schema_change_between_discoveries_is_a_diff_but_new_rows_are_not(lake: Lake) -> None:
    lake.write("sales/orders.csv", csv_bytes(order_rows(5)))
    first = lake.discover()

    lake.write("sales/orders.csv", csv_bytes(order_rows(9)))  # more rows, same columns: bigger, newer
    grown = lake.discover()
    before, after = first.table_map()[("sales", "orders")], grown.table_map()[("sales", "orders")]
    assert after.properties["total_bytes"] > before.properties["total_bytes"]
    assert after.definition_hash() == before.definition_hash()
    assert diff(first, grown).empty

    lake.write("sales/orders.csv", csv_bytes([{**r, "discount": 0.1} for r in order_rows(9)]))
    changed = lake.discover()
    assert changed.table_map()[("sales", "orders")].definition_hash() != after.definition_hash()
    changes = diff(grown, changed).changes
    assert [(c.type, c.schema, c.table, c.column) for c in changes] == [
        (ChangeType.COLUMN_ADDED, "sales", "orders", "discount")
    ]
    assert changes[0].after["data_type"] == "double"


def test_scope_patterns_bound_discovery(lake: Lake) -> None:
    for path in ("sales/orders.csv", "sales/orders_old.csv", "events/clicks.jsonl", "tmp/scratch.csv", "top.csv"):
        data = jsonl_bytes(order_rows(2)) if path.endswith(".jsonl") else csv_bytes(order_rows(2))
        lake.write(path, data)

    scoped = lake.discover(include_schemas=["sales", "ev*"], exclude_tables=["*_old"])
    assert sorted(scoped.table_map()) == [("events", "clicks"), ("sales", "orders")]
    assert [s.name for s in scoped.schemas] == ["events", "sales"]

    everything = lake.discover()
    assert len(everything.tables) == 5
    assert scoped.queries < everything.queries  # out-of-scope folders are neither listed nor read

    one = lake.connector().discover(Scope(include_tables=("sales.orders",)))
    assert list(one.table_map()) == [("sales", "orders")]


def test_sampling_reads_a_bounded_prefix(lake: Lake) -> None:
    rows = "".join(f"{i},{i * 2}\n" for i in range(30_000))
    lake.write("raw/big.csv", f"n,m\n{rows}not-a-number,0\n".encode())

    big = lake.discover(sample_rows=100).table_map()[("raw", "big")]

    assert pa_csv.read_csv(lake.mirror / "raw/big.csv").schema.field("n").type == pa.string()  # a full read
    assert big.column("n").data_type == "int64"  # the sample did not reach the last row
    with pytest.raises(ConnectorError, match=r"cannot read raw\.big: .*conversion error to int64"):
        read_all(lake.connector(sample_rows=100), big, IncrementPlan(IncrementStrategy.FULL))


def test_only_the_newest_files_are_sampled_and_parquet_rows_are_extrapolated(lake: Lake) -> None:
    for index in range(5):
        lake.write(f"lake_data/items/part-{index}.parquet", parquet_bytes(item_table(200, index * 200 + 1)))

    items = lake.discover(max_files_per_table=2).table_map()[("lake_data", "items")]

    assert items.properties["files"] == 5 and items.properties["files_sampled"] == 2
    assert items.properties["row_estimate_exact"] is False
    assert abs(items.row_estimate - 1000) <= 50
    exact = lake.discover().table_map()[("lake_data", "items")]
    assert exact.row_estimate == 1000 and exact.properties["row_estimate_exact"] is True


# -- reading ------------------------------------------------------------------------------------------------------


def test_timestamp_increment_matches_pandas_and_is_ordered(lake: Lake) -> None:
    # Three files whose rows interleave in time, so ordering needs a real sort across files.
    all_rows = order_rows(30)
    for index in range(3):
        lake.write(f"sales/orders/part-{index}.csv", csv_bytes(all_rows[index::3]))
    connector = lake.connector()
    orders = connector.discover().table_map()[("sales", "orders")]
    watermark = datetime(2024, 3, 3, 12, 0, tzinfo=UTC)

    got = read_all(connector, orders, IncrementPlan(IncrementStrategy.TIMESTAMP, "updated_at"),
                   watermark=watermark, batch_rows=7)

    frame = pd.concat(pd.read_csv(p) for p in sorted((lake.mirror / "sales/orders").iterdir()))
    frame["updated_at"] = pd.to_datetime(frame["updated_at"], utc=True)
    expected = frame[frame["updated_at"] > pd.Timestamp(watermark)].sort_values("updated_at")
    assert len(expected) not in (0, len(frame))
    assert got.column("id").to_pylist() == expected["id"].tolist()
    assert got.column("amount").to_pylist() == expected["amount"].tolist()
    assert got.column("updated_at").to_pylist() == [t.to_pydatetime() for t in expected["updated_at"]]

    # A watermark given as an ISO string (as a job stores it) selects the same rows.
    again = read_all(connector, orders, IncrementPlan(IncrementStrategy.TIMESTAMP, "updated_at"),
                     watermark="2024-03-03T12:00:00+00:00")
    assert again.column("id").to_pylist() == got.column("id").to_pylist()


def test_key_increment_over_partitions_matches_pandas(lake: Lake) -> None:
    for day, first in (("2024-01-01", 31), ("2024-01-02", 1), ("2024-01-03", 61)):
        lake.write(f"shop/items/dt={day}/part-0.parquet", parquet_bytes(item_table(30, first)))
    connector = lake.connector()
    items = connector.discover().table_map()[("shop", "items")]

    got = read_all(connector, items, IncrementPlan(IncrementStrategy.KEY, "id"), watermark=45, batch_rows=10)

    frames = [pd.read_parquet(lake.mirror / f"shop/items/dt={d}/part-0.parquet").assign(dt=d)
              for d in ("2024-01-01", "2024-01-02", "2024-01-03")]
    frame = pd.concat(frames)
    expected = frame[frame["id"] > 45].sort_values("id")
    assert got.column("id").to_pylist() == expected["id"].tolist()
    assert [d.isoformat() for d in got.column("dt").to_pylist()] == expected["dt"].tolist()
    assert got.column("price").to_pylist() == expected["price"].tolist()


def test_a_backfill_range_over_partitions_matches_pandas(lake: Lake) -> None:
    for day, first in (("2024-01-01", 31), ("2024-01-02", 1), ("2024-01-03", 61)):
        lake.write(f"shop/items/dt={day}/part-0.parquet", parquet_bytes(item_table(30, first)))
    connector = lake.connector()
    items = connector.discover().table_map()[("shop", "items")]

    got = read_all(connector, items, IncrementPlan(IncrementStrategy.KEY, "id"), batch_rows=10,
                   range=ValueRange(low=20, high=70))

    frame = pd.concat(pd.read_parquet(lake.mirror / f"shop/items/dt={d}/part-0.parquet")
                      for d in ("2024-01-01", "2024-01-02", "2024-01-03"))
    assert got.column("id").to_pylist() == frame[(frame["id"] >= 20) & (frame["id"] < 70)].sort_values("id")[
        "id"].tolist()


def test_full_reads_of_json_match_pandas(lake: Lake) -> None:
    rows = order_rows(12)
    lake.write("events/clicks.json", json_array_bytes(rows))
    lake.write("events/views/a.jsonl", jsonl_bytes(rows[:5]))
    lake.write("events/views/b.jsonl", jsonl_bytes(rows[5:]))
    connector = lake.connector()
    tables = connector.discover().table_map()

    clicks = read_all(connector, tables[("events", "clicks")], IncrementPlan(IncrementStrategy.FULL), batch_rows=5)
    expected = pd.read_json(lake.mirror / "events/clicks.json")
    assert clicks.column("id").to_pylist() == expected["id"].tolist()
    assert clicks.column("amount").to_pylist() == expected["amount"].tolist()
    assert clicks.column("customer").to_pylist() == expected["customer"].tolist()

    views = read_all(connector, tables[("events", "views")], IncrementPlan(IncrementStrategy.KEY, "id"), watermark=3)
    expected = pd.concat(pd.read_json(lake.mirror / f"events/views/{n}.jsonl", lines=True) for n in "ab")
    assert views.column("id").to_pylist() == expected[expected["id"] > 3]["id"].tolist()


def test_read_increment_rejects_an_unknown_column_and_a_bad_watermark(lake: Lake) -> None:
    lake.write("sales/orders.csv", csv_bytes(order_rows(3)))
    connector = lake.connector()
    orders = connector.discover().table_map()[("sales", "orders")]

    # A request that knows the table only by name (its columns unknown to the caller) is checked by the connector.
    by_name = TableSnapshot(schema="sales", name="orders", kind=TableKind.FILE)
    with pytest.raises(InvalidSourceConfig) as unknown:
        connector.read_increment(IncrementRequest(by_name, IncrementPlan(IncrementStrategy.KEY, "nope")))
    assert unknown.value.field == "plan.column"
    rows = read_all(connector, by_name, IncrementPlan(IncrementStrategy.KEY, "id"), watermark=1)
    assert rows.column("id").to_pylist() == [2, 3]
    with pytest.raises(InvalidSourceConfig) as bad:
        connector.read_increment(IncrementRequest(orders, IncrementPlan(IncrementStrategy.KEY, "id"), watermark="x"))
    assert bad.value.field == "watermark" and "int64" in bad.value.message


# -- connection, errors, lineage ----------------------------------------------------------------------------------


def test_connection_and_lineage_naming_follow_openlineage(lake: Lake) -> None:
    from openlineage.client.naming.dataset import ABFSS, LocalFileSystem

    lake.write("sales/orders.csv", csv_bytes(order_rows(2)))
    connector = lake.connector()
    check = connector.test_connection()
    orders = connector.discover().table_map()[("sales", "orders")]

    lineage = connector.lineage_namespace()
    if lake.backend == "local":
        oracle = LocalFileSystem(path=lake.path("sales/orders.csv"))
        assert check.server.startswith("local filesystem")
        assert lineage.name_prefix == lake.mirror.as_posix() + "/"
    else:
        container = lake.path("x").split("/")[0]
        oracle = ABFSS(container=container, service=ACCOUNT_NAME, path="lake/sales/orders.csv")
        assert check.server == "Azure Blob Storage http://127.0.0.1:10000/devstoreaccount1"
        assert lineage.name_prefix == "lake/"
    assert lineage.namespace == oracle.get_namespace()
    assert connector.lineage_dataset_name(orders) == oracle.get_name()


def test_a_missing_root_or_a_file_as_root_is_refused(lake: Lake) -> None:
    lake.write("sales/orders.csv", csv_bytes(order_rows(2)))

    with pytest.raises(SourceNotFound) as missing:
        FilesConnector.from_mapping(lake.config(subfolder="nowhere")).discover()
    assert missing.value.field == "config.url" and "does not exist" in missing.value.message
    with pytest.raises(InvalidSourceConfig) as a_file:
        FilesConnector.from_mapping(lake.config(subfolder="sales/orders.csv")).test_connection()
    assert a_file.value.field == "config.url" and "is a file" in a_file.value.message


def test_azure_errors_name_the_field_to_fix(azurite_container: ContainerClient) -> None:  # noqa: F811
    azurite_container.upload_blob("lake/sales/orders.csv", csv_bytes(order_rows(2)))
    url = f"abfs://{azurite_container.container_name}/lake"

    wrong_key = connection_string(key=base64.b64encode(b"not the key" * 6).decode())  # well-formed, wrong
    with pytest.raises(AuthenticationFailed) as refused:
        FilesConnector.from_mapping({"url": url, "connection_string": wrong_key}).discover()
    assert refused.value.field == "secrets.connection_string"

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    unreachable = FilesConnector.from_mapping(
        {"url": url, "connection_string": connection_string(port=closed_port), "retries": 0, "timeout_s": 2}
    )
    with pytest.raises(SourceUnreachable) as down:
        unreachable.test_connection()
    assert down.value.field == "config.url" and down.value.transient

    with pytest.raises(SourceNotFound, match="the container 'cat-missing' does not exist"):
        FilesConnector.from_mapping({"url": "abfs://cat-missing/x", "connection_string": connection_string()}).discover()


@pytest.mark.parametrize(
    ("config", "field", "reason"),
    [
        ({"url": "s3://bucket/data"}, "config.url", "unsupported URL scheme 's3'"),
        ({"url": "https://example.com/data"}, "config.url", "unsupported URL scheme"),
        ({"url": "file://otherhost/data"}, "config.url", "not the host"),
        ({"url": "abfs://Bad_Container/x", "account_name": "acct01"}, "config.url", "not a valid container name"),
        ({"url": "abfs://data/x"}, "config.account_name", "needs its storage account"),
        ({"url": "abfss://data@other.dfs.core.windows.net/x", "account_name": "acct01"}, "config.account_name",
         "names the account 'other'"),
        ({"url": "/tmp/x", "account_key": "k"}, "secrets.account_key", "Azure URLs"),
    ],
)
def test_unusable_configurations_are_refused_before_any_io(config: dict, field: str, reason: str) -> None:
    with pytest.raises(InvalidSourceConfig) as refused:
        FilesConnector.from_mapping(config)
    assert refused.value.field == field
    assert reason in refused.value.message


def test_the_registry_builds_the_files_connector_and_secrets_are_declared() -> None:
    cls = get_connector_class("files")
    assert cls is FilesConnector
    assert cls.secret_fields == {"account_key", "connection_string", "sas_token"}
    connector = cls.from_mapping({"url": "az://data/lake", "account_name": "acct01", "account_key": "a2V5"})
    assert "a2V5" not in repr(connector.config)  # SecretStr keeps the key out of logs
    assert connector.lineage_namespace().namespace == "abfss://data@acct01.dfs.core.windows.net"


def test_without_secrets_azure_uses_default_azure_credential() -> None:
    # No Azure AD can exist here, so this checks the wiring only: the SDK's real credential object, no request.
    from azure.identity.aio import DefaultAzureCredential

    connector = FilesConnector.from_mapping({"url": "abfs://data/lake", "account_name": "acct01"})
    storage = connector._storage()
    assert isinstance(storage.fs.credential, DefaultAzureCredential)
    assert storage.fs.service_client.url.startswith("https://acct01.blob.core.windows.net")


@pytest.fixture(autouse=True)
def _no_azure_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # adlfs reads AZURE_STORAGE_* variables as defaults; a developer's own settings must not leak into the tests.
    for name in ("AZURE_STORAGE_ACCOUNT_NAME", "AZURE_STORAGE_ACCOUNT_KEY", "AZURE_STORAGE_CONNECTION_STRING",
                 "AZURE_STORAGE_SAS_TOKEN", "AZURE_STORAGE_ANON"):
        monkeypatch.delenv(name, raising=False)
    yield



def test_rows_without_a_value_come_first_and_only_while_there_is_no_watermark(lake: Lake) -> None:
    rows = order_rows(6)
    for row in rows[1::2]:
        row["updated_at"] = ""  # an empty CSV field is NULL
    lake.write("sales/orders.csv", csv_bytes(rows))
    connector = lake.connector()
    orders = connector.discover().table_map()[("sales", "orders")]
    plan = IncrementPlan(IncrementStrategy.TIMESTAMP, "updated_at")

    first_run = read_all(connector, orders, plan)
    assert first_run.column("id").to_pylist() == [2, 4, 6, 1, 3, 5]
    later = read_all(connector, orders, plan, watermark=datetime(2024, 3, 1, 13, 0, tzinfo=UTC))  # row 1's time
    assert later.column("id").to_pylist() == [3, 5]


def test_with_one_format_files_without_an_extension_are_read_as_it(lake: Lake) -> None:
    for index in range(2):
        lake.write(f"export/orders/part-{index:05d}", csv_bytes(order_rows(3, index * 3 + 1)))
    lake.write("export/orders.parquet", parquet_bytes(item_table(2)))

    default = lake.discover().table_map()
    only_csv = lake.discover(formats=["csv"]).table_map()

    assert list(default) == [("export", "orders")] and default[("export", "orders")].properties["format"] == "parquet"
    assert list(only_csv) == [("export", "orders")]
    orders = only_csv[("export", "orders")]
    assert orders.properties["format"] == "csv" and orders.properties["files"] == 2
    assert [c.name for c in orders.columns] == ["id", "amount", "customer", "updated_at"]


def test_links_that_lead_out_of_a_local_folder_are_left_out(tmp_path: Path) -> None:
    """A link in the data folder to a file or folder elsewhere would expose it to every crawl, profile and
    extraction: such entries are not part of the source. Links that stay inside the folder are followed."""
    lake = LocalLake(tmp_path / "lake")
    lake.write("sales/orders.csv", csv_bytes(order_rows(2)))
    private = tmp_path / "private"
    private.mkdir()
    (private / "salaries.csv").write_text("name,salary\nann,1\n")
    (lake.mirror / "sales" / "salaries.csv").symlink_to(private / "salaries.csv")
    (lake.mirror / "hr").symlink_to(private)
    (lake.mirror / "sales" / "people").symlink_to(private)
    (lake.mirror / "sales" / "orders_copy.csv").symlink_to(lake.mirror / "sales" / "orders.csv")

    connector = lake.connector()
    tables = connector.discover().table_map()
    assert sorted(tables) == [("sales", "orders"), ("sales", "orders_copy")]

    # a link swapped between the listing and the read is refused when the file is opened
    storage = open_storage(connector.location, None, retries=0, timeout_s=5)
    [copy] = [f for f in storage.find(lake.path("sales")) if f.name == "orders_copy.csv"]
    (lake.mirror / "sales" / "orders_copy.csv").unlink()
    (lake.mirror / "sales" / "orders_copy.csv").symlink_to(private / "salaries.csv")
    with pytest.raises(PermissionError, match="leads outside the source's folder"):
        storage.open(copy.path, 1024)
