"""Aggregate checks in a profile's passes, in-process (the Spark path is compared with it in
tests/catalog_api/services/quality/test_aggregates.py): counts and sample keys checked against pandas, the same
results whatever the split into row groups, patterns RE2 does not take, checks that cannot apply, a table without
a key, and a profile whose stored form leaves the results out."""

from __future__ import annotations

import re
from decimal import Decimal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from profiler import profile_parquet_in_process
from profiler.checks import CheckSpec, TableChecks

ROWS = 3000


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    ids = range(ROWS)
    return pd.DataFrame({
        "id": [ROWS - i for i in ids],  # descending: the smallest keys sit in the last row group
        "name": [None if i % 40 == 0 else f"n{i % 700}{'x' * (i % 3)}" for i in ids],
        "amount": [float("nan") if i % 97 == 0 else (i % 300) - 20.5 for i in ids],
        "code": [f"{i % 10}{i % 10}" if i % 7 == 0 else f"{i % 10}{(i + 1) % 10}" for i in ids],
        "level": [i % 6 for i in ids],
    })


def write(frame: pd.DataFrame, path, row_group_size: int) -> str:
    # Column by column from Python values: NaN stays NaN (pandas' conversion would make it null).
    table = pa.table({name: pa.array(frame[name].tolist()) for name in frame.columns})
    pq.write_table(table, path, row_group_size=row_group_size)
    return str(path)


CHECKS = (
    CheckSpec(1, "unique", "name"),
    CheckSpec(2, "regex", "code", {"pattern": r"^(\d)\1$"}),  # a backreference: RE2 refuses it, Python's re decides
    CheckSpec(3, "range", "amount", {"min": 0, "max": 250}),
    CheckSpec(4, "accepted_values", "level", {"values": ["1", 2.0, 3, True]}),
    CheckSpec(5, "range", "name", {"min": 0}),
    CheckSpec(6, "not_null", "missing"),
    CheckSpec(7, "not_null", "name"),
)


def smallest(frame: pd.DataFrame, failing: pd.Series, columns: list[str]) -> list[dict]:
    rows = frame.loc[failing, columns].sort_values(columns, na_position="last").head(10)
    return [{c: (None if pd.isna(v) else v) for c, v in row.items()} for row in rows.to_dict("records")]


def test_counts_and_keys_agree_with_pandas_whatever_the_row_groups(frame, tmp_path):
    by_split = []
    for groups in (ROWS, 700, 128):
        profile = profile_parquet_in_process(write(frame, tmp_path / f"t{groups}.parquet", groups),
                                             checks=TableChecks(CHECKS, key=("id",)))
        by_split.append({r.id: r for r in profile.checks})
    assert by_split[0] == by_split[1] == by_split[2]
    got = by_split[0]

    names = frame["name"]
    repeated = names.notna() & names.duplicated(keep=False)
    assert (got[1].outcome, got[1].observed, got[1].failing_rows) == (
        "failed", int(names.count() - names.nunique()), int(repeated.sum()))
    assert list(got[1].sample_keys) == smallest(frame, repeated, ["id", "name"])

    mismatched = ~frame["code"].map(lambda v: re.search(r"^(\d)\1$", v) is not None)
    assert (got[2].failing_rows, list(got[2].sample_keys)) == (int(mismatched.sum()),
                                                               smallest(frame, mismatched, ["id", "code"]))
    amount = frame["amount"]
    outside = amount.isna() | (amount < 0) | (amount > 250)  # NaN is no number within bounds
    assert got[3].observed == {"failing": int(outside.sum()), "min": amount.min(), "max": amount.max()}
    unexpected = ~frame["level"].isin([1, 2, 3])  # "1" and 2.0 read as levels; True is no integer
    assert (got[4].failing_rows, list(got[4].sample_keys)) == (int(unexpected.sum()),
                                                               smallest(frame, unexpected, ["id", "level"]))
    assert (got[5].outcome, got[5].message) == ("error", "range cannot check 'name' (string): a range needs a "
                                                         "numeric column")
    assert (got[6].outcome, got[6].message) == ("error", "the profiled data has no column 'missing'")
    assert (got[7].observed, list(got[7].sample_keys)) == (int(names.isna().sum()),
                                                           smallest(frame, names.isna(), ["id"]))


def test_without_a_key_samples_hold_the_failing_values_and_the_stored_profile_leaves_results_out(frame, tmp_path):
    profile = profile_parquet_in_process(write(frame, tmp_path / "t.parquet", 1000),
                                         checks=TableChecks((CheckSpec(9, "accepted_values", "level",
                                                                       {"values": [0]}),), max_sample_keys=3))
    (result,) = profile.checks
    assert list(result.sample_keys) == [{"level": 1}, {"level": 1}, {"level": 1}]
    assert "checks" not in profile.to_dict()


def test_text_of_few_values_checked_on_its_distinct_values_agrees_with_pandas(tmp_path):
    # Enough rows that a share probes the column and checks its distinct values once (`few_values`), or hands over
    # its value hashes counted (`counted`); one row group of mixed values where the probe sees many, checked row by
    # row: both must agree with pandas.
    rows = 30_000
    frame = pd.DataFrame({
        "id": [rows - i for i in range(rows)],
        "status": [None if i % 50 == 0 else ["ok", " 12 ", "2024-02-30", "2024-02-29", "bad!", "x" * 9][i % 6]
                   for i in range(rows)],
    })
    frame.loc[rows // 2:, "status"] = [f"v{i}" for i in range(rows - rows // 2)]  # many values from here on
    checks = (
        CheckSpec(1, "accepted_values", "status", {"values": ["ok", "bad!"]}),
        CheckSpec(2, "regex", "status", {"pattern": "^[a-z]+$"}),
        CheckSpec(3, "length", "status", {"min": 2, "max": 4}),
        CheckSpec(4, "type_conformance", "status", {"type": "integer"}),
        CheckSpec(5, "type_conformance", "status", {"type": "date"}),
        CheckSpec(6, "unique", "status"),  # a share of few values hands over counted hashes, one of many its own
    )
    status = frame["status"]
    present = status.notna()
    expected = {
        1: present & ~status.isin(["ok", "bad!"]),
        2: present & ~status.fillna("").str.contains(r"^[a-z]+$"),
        3: present & ~status.fillna("").str.len().between(2, 4),
        4: present & ~status.fillna("").str.fullmatch(r"\s*[+-]?[0-9]+\s*"),
        6: present & status.duplicated(keep=False),
        5: present & (pd.to_datetime(status.where(status.fillna("").str.fullmatch(r"\d{4}-\d{2}-\d{2}")),
                                     format="%Y-%m-%d", errors="coerce").isna()),
    }
    for groups in (rows, rows // 2):
        profile = profile_parquet_in_process(write(frame, tmp_path / f"s{groups}.parquet", groups),
                                             checks=TableChecks(checks, key=("id",)))
        assert profile.checks[-1].observed == int(status.count() - status.nunique())
        for result in profile.checks:
            failing = expected[result.id]
            assert (result.failing_rows, list(result.sample_keys)) == (
                int(failing.sum()), smallest(frame, failing, ["id", "status"])), result.id


def test_unique_keys_of_columns_of_many_values_agree_with_pandas(tmp_path):
    # Shares of many values hand over their hashes as they are, beside their rows' first key, which bounds the rows
    # the values pass hashes again; a row group whose keys hold nulls hands over no keys, one big share (the whole
    # table) none either, and without a key the checked integers bound themselves. With a key without nulls (and
    # without a key, for the integers), the rows of each share's smallest keys decide the sample with no values
    # pass. All must agree with pandas.
    rows = 40_000
    rng = np.random.default_rng(8)
    ids = [None if 36_000 <= i < 36_050 else int(v) for i, v in enumerate(rng.permutation(rows) * 3 - 1000)]
    table = pa.table({
        "id": pa.array(ids, pa.int64()),
        "word": pa.array([None if i % 97 == 0 else f"w{v}" for i, v in enumerate(rng.integers(0, 300_000, rows))]),
        "number": pa.array(rng.integers(-100_000, 100_000, rows)),
        "serial": pa.array(rng.permutation(rows) // 2),  # no nulls, each twice
    })
    frame = table.to_pandas(types_mapper={pa.int64(): pd.Int64Dtype()}.get)
    checks = (CheckSpec(1, "unique", "word"), CheckSpec(2, "unique", "number"), CheckSpec(3, "unique", "serial"))
    for groups in (rows, 12_000):
        path = tmp_path / f"u{groups}.parquet"
        pq.write_table(table, path, row_group_size=groups)
        for key in (("id",), ("serial",), ()):
            got = {r.id: r for r in profile_parquet_in_process(str(path), checks=TableChecks(checks, key=key)).checks}
            for number, column in ((1, "word"), (2, "number"), (3, "serial")):
                values = frame[column]
                failing = values.notna() & values.duplicated(keep=False)
                assert failing.sum() > 1000
                sample = smallest(frame, failing, list(dict.fromkeys([*key, column])))
                assert (got[number].failing_rows, list(got[number].sample_keys)) == (int(failing.sum()), sample)


def test_ranges_lengths_and_accepted_integers_decided_in_numpy_agree_with_python(tmp_path):
    # Integers against fractional bounds, decimals (negative ones too) against bounds finer than their scale, bounds
    # beyond int64, nulls among them, text lengths, and accepted integers of a narrow span: exact, as Python says.
    rows = 20_000
    rng = np.random.default_rng(5)
    ints = [None if i % 31 == 0 else int(v) for i, v in enumerate(rng.integers(-50, 50, rows))]
    cents = [None if i % 29 == 0 else int(v) for i, v in enumerate(rng.integers(-100_000, 100_000, rows))]
    table = pa.table({
        "id": pa.array(np.arange(rows)),
        "n": pa.array(ints, pa.int32()),
        "d": pa.array([None if c is None else Decimal(c).scaleb(-2) for c in cents], pa.decimal128(12, 2)),
        "s": pa.array([None if i % 37 == 0 else "é" * (i % 9) for i in range(rows)]),
    })
    path = tmp_path / "n.parquet"
    pq.write_table(table, path, row_group_size=7_000)
    bounds = [(-10.5, 20.5), (None, -49), (3, None), (2**70, None), (None, -(2**70)), (-2.001, 2.009)]
    checks = [CheckSpec(i, "range", column, {"min": low, "max": high})
              for i, (column, (low, high)) in enumerate((c, b) for c in ("n", "d") for b in bounds)]
    checks += [CheckSpec(100, "length", "s", {"min": 2, "max": 5}),
               CheckSpec(101, "accepted_values", "n", {"values": [-3, 0, 7, 49, 1000]})]
    got = {r.id: r for r in profile_parquet_in_process(str(path), checks=TableChecks(tuple(checks), key=("id",))).checks}
    columns = {name: table.column(name).to_pylist() for name in table.column_names}

    def expected(number: int, fails) -> None:
        check = next(c for c in checks if c.id == number)
        failing = [i for i, v in enumerate(columns[check.column]) if v is not None and fails(v)]
        assert (got[number].failing_rows, [k["id"] for k in got[number].sample_keys]) == (len(failing), failing[:10])

    for spec in checks[:-2]:
        low, high = spec.params["min"], spec.params["max"]
        expected(spec.id, lambda v, low=low, high=high: (low is not None and v < Decimal(repr(low)))
                 or (high is not None and v > Decimal(repr(high))))
    expected(100, lambda v: not 2 <= len(v) <= 5)
    expected(101, lambda v: v not in (-3, 0, 7, 49, 1000))
