"""Column statistics against independent oracles: DuckDB and pandas/numpy on the same data.

Exact statistics must agree to 1e-9 relative error, sketched distinct counts within 5 %, quantiles within 1 %
rank error.
"""

from __future__ import annotations

import bisect
import math
from decimal import Decimal, localcontext

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from profiler.model import QUANTILES, ColumnKind, quantile_key
from profiler.stats import profile_arrow
from tests.support.profiler_tables import mixed_table


def close(actual: object, expected: object, rel: float = 1e-9) -> None:
    assert actual is not None and expected is not None, (actual, expected)
    assert math.isclose(float(actual), float(expected), rel_tol=rel, abs_tol=1e-12), (actual, expected)


def one(db: duckdb.DuckDBPyConnection, sql: str) -> tuple:
    return db.execute(sql).fetchone()


@pytest.mark.parametrize("name", ["id", "qty", "big"])
def test_integer_statistics_match_duckdb(rich, name):
    c = rich["profile"].column(name)
    count, nulls, low, high, total, mean, std, zeros, negatives = one(rich["db"], f"""
        select count({name}), count(*) - count({name}), min({name}), max({name}), sum({name}), avg({name}),
               stddev_samp({name}), count(*) filter ({name} = 0), count(*) filter ({name} < 0) from t""")
    assert (c.kind, c.count, c.null_count, c.min, c.max) == (ColumnKind.INTEGER, count, nulls, low, high)
    assert c.sum == int(total)  # exact, not merely close: DuckDB sums into 128-bit integers
    close(c.mean, mean)
    close(c.stddev, std)
    assert (c.zero_count, c.negative_count) == (zeros, negatives)


def test_float_statistics_cover_finite_values_and_count_nan_and_infinities(rich):
    c = rich["profile"].column("price")
    values = rich["pandas"]["price"].to_numpy(dtype=float, na_value=np.nan)
    present = rich["table"].column("price").drop_null().to_numpy()
    assert c.nan_count == int(np.isnan(present).sum()) > 0
    assert c.infinite_count == int(np.isinf(present).sum()) > 0
    assert c.null_count == int(rich["table"].column("price").null_count)
    count, low, high, total, mean, std, zeros, negatives = one(rich["db"], """
        select count(price), min(price), max(price), sum(price), avg(price), stddev_samp(price),
               count(*) filter (price = 0), count(*) filter (price < 0) from t where isfinite(price)""")
    assert c.count == len(present)
    assert (c.min, c.max) == (low, high)
    close(c.sum, total)
    close(c.mean, mean)
    close(c.stddev, std)
    assert (c.zero_count, c.negative_count) == (zeros, negatives)
    assert math.isfinite(c.max) and c.max == np.nanmax(values[np.isfinite(values)])


def test_decimal_38_18_statistics_are_exact(rich):
    c = rich["profile"].column("amount")
    values = [v for v in rich["table"].column("amount").to_pylist() if v is not None]
    assert c.data_type == "decimal(38,18)"
    with localcontext() as exact:
        exact.prec = 80  # Python's default 28 digits would round the oracle, not the profile
        total = sum(values, Decimal(0))
        mean_oracle = total / len(values)
    assert c.sum == total  # every one of the 38 digits
    assert (c.min, c.max) == (min(values), max(values))
    assert isinstance(c.min, Decimal) and c.min.as_tuple().exponent == -18
    # Quantiles come from a sketch of doubles: decimals again at the column's scale, within 1 % rank error.
    ordered = sorted(values)
    for p in QUANTILES:
        value = c.quantiles[quantile_key(p)]
        assert isinstance(value, Decimal) and value.as_tuple().exponent == -18
        rank = bisect.bisect_left(ordered, value) / len(ordered)
        assert abs(rank - p) <= 0.01 + 1 / len(ordered), (p, value, rank)
    mean, std = one(rich["db"], "select avg(amount::double), stddev_samp(amount::double) from t")
    close(c.mean, mean_oracle)
    close(c.mean, mean)
    close(c.stddev, std)


def test_string_statistics_handle_unicode_long_empty_and_blank_values(rich):
    frame = rich["pandas"]
    for name in ("name", "long_text", "email"):
        c = rich["profile"].column(name)
        values = frame[name].dropna()
        lengths = values.str.len()  # code points, like Spark's length()
        assert (c.count, c.null_count) == (len(values), int(frame[name].isna().sum()))
        assert (c.min_length, c.max_length) == (lengths.min(), lengths.max())
        close(c.mean_length, lengths.mean())
        assert c.min == min(values)[:1000] and c.max == max(values)[:1000]  # code-point order, cut to 1,000
        assert c.empty_count == int((values == "").sum())
        assert c.blank_count == int(((values != "") & (values.str.strip() == "")).sum())
    assert rich["profile"].column("long_text").max_length == 10_000
    assert rich["profile"].column("long_text").min == "x" * 1000  # the 10,000 x's, cut
    name = rich["profile"].column("name")
    assert name.empty_count > 0 and name.blank_count > 0
    assert name.max == max(v for v in frame["name"].dropna())  # "日本語のテキスト" sorts above Latin and Cyrillic


@pytest.mark.parametrize("name", ["category", "qty", "name", "email", "day"])
def test_top_values_and_exact_distinct_match_group_by(rich, name):
    c = rich["profile"].column(name)
    counts = dict(rich["db"].execute(f"select {name}, count(*) from t where {name} is not null group by 1")
                  .fetchall())
    assert c.distinct_exact and c.distinct_count == len(counts)
    assert c.top_values_complete
    assert len(c.top_values) == 5
    for top in c.top_values:
        assert counts[top.value] == top.count
    # They are the five largest counts, in order.
    assert [t.count for t in c.top_values] == sorted(counts.values(), reverse=True)[:5]


def test_boolean_counts(rich):
    c = rich["profile"].column("flag")
    true, false, nulls = one(rich["db"], "select count(*) filter (flag), count(*) filter (not flag), "
                                         "count(*) filter (flag is null) from t")
    assert (c.true_count, c.false_count, c.null_count) == (true, false, nulls)
    assert c.distinct_count == 2 and c.distinct_exact
    assert {(t.value, t.count) for t in c.top_values} == {(True, true), (False, false)}


def test_zoned_timestamps_keep_their_instants_and_freshness(rich):
    profile = rich["profile"]
    c = profile.column("created_at")
    low, high = one(rich["db"], "select min(created_at), max(created_at) from t")
    assert c.kind is ColumnKind.TIMESTAMP
    assert c.min == low and c.max == high  # aware datetimes: equal instants whatever the zone
    assert c.max.tzinfo is not None and c.max.utcoffset().total_seconds() == 0
    assert c.freshness_seconds == (profile.started_at - c.max).total_seconds()
    day = profile.column("day")
    assert (day.min, day.max) == one(rich["db"], "select min(day), max(day) from t")


def test_all_null_column(rich):
    c = rich["profile"].column("nothing")
    rows = rich["profile"].row_count
    assert (c.count, c.null_count, c.null_rate) == (0, rows, 1.0)
    assert (c.min, c.max, c.sum, c.mean, c.stddev, c.histogram) == (None, None, None, None, None, None)
    assert c.distinct_count == 0 and c.top_values == ()


@pytest.mark.parametrize("name", ["qty", "price", "amount"])
def test_histograms_count_every_finite_value_in_its_bin(rich, name):
    c = rich["profile"].column(name)
    values = np.array([float(v) for v in rich["table"].column(name).drop_null().to_pylist()])
    values = values[np.isfinite(values)]
    low, high = float(c.min), float(c.max)
    bins = len(c.histogram.counts)
    assert bins == 20 and c.histogram.edges[0] == low and c.histogram.edges[-1] == high
    width = (high - low) / bins
    expected = np.bincount(np.clip(np.floor((values - low) / width), 0, bins - 1).astype(int), minlength=bins)
    assert list(c.histogram.counts) == expected.tolist()
    assert sum(c.histogram.counts) == len(values)


def test_semantic_types_tag_pii_columns(rich):
    email = rich["profile"].column("email")
    assert [s.name for s in email.semantic_types] == ["email"]
    assert email.tags == ("pii.email",)
    assert email.patterns[0].pattern == "a9@a9.a"
    assert rich["profile"].column("name").tags == ()
    assert rich["profile"].sample.rows == 3000  # the table is smaller than the sample bound


def test_quantiles_within_one_percent_rank_error_and_distinct_estimates_within_five_percent(spark):
    rng = np.random.default_rng(11)
    skewed = np.round(rng.lognormal(3.0, 1.2, 200_000), 2)
    keys = rng.permutation(np.concatenate([np.arange(150_000), rng.integers(0, 150_000, 50_000)]))
    table = pa.table({"skewed": skewed, "keys": keys})
    profile = profile_arrow(spark, table, exact_distinct_threshold=1000, sample_rows=2000)
    c = profile.column("skewed")
    ordered = np.sort(skewed)
    for p in QUANTILES:
        value = c.quantiles[quantile_key(p)]
        below = np.searchsorted(ordered, value, side="left") / len(ordered)
        at_or_below = np.searchsorted(ordered, value, side="right") / len(ordered)
        assert below - 0.01 <= p <= at_or_below + 0.01, (p, value, below, at_or_below)
    k = profile.column("keys")
    assert not k.distinct_exact
    assert abs(k.distinct_count - 150_000) <= 0.05 * 150_000
    assert not k.top_values_complete
    # Top values of a high-cardinality column are the sample's repeats, counted exactly on all rows.
    counts = pd.Series(keys).value_counts()
    for top in k.top_values:
        assert counts[top.value] == top.count


def test_wide_table_statistics_match_pandas_for_every_column(spark):
    # 47 columns of five types in uneven numbers: the aggregation stacks them three chunks deep, some slots empty.
    rng = np.random.default_rng(21)
    table = mixed_table(45, rows=700, seed=9)
    table = table.append_column("sparse", pa.array(rng.integers(-50, 50, 700), mask=rng.random(700) < 0.3))
    table = table.append_column("price", pa.array([Decimal(int(v)) / 100 for v in rng.integers(0, 10**6, 700)],
                                                  pa.decimal128(10, 2)))
    profile = profile_arrow(spark, table, sample_rows=200)
    frame = table.to_pandas()
    assert profile.row_count == 700 and len(profile.columns) == 47
    for name in table.column_names:
        c, values = profile.column(name), frame[name].dropna()
        assert (c.count, c.null_count) == (len(values), 700 - len(values)), name
        if values.dtype == bool:
            assert c.true_count == int(values.sum()), name
            continue
        assert (c.min, c.max) == (values.min(), values.max()), name
        if name.startswith(("int_", "float_", "sparse", "price")):
            close(c.sum, values.sum())
            close(c.mean, values.astype(float).mean())
        assert c.distinct_exact and c.distinct_count == values.nunique(), name

    # 25 columns of 25 different types would leave most stacked slots empty: aggregated side by side instead.
    mixed = pa.table({f"d{p}": pa.array([Decimal(int(v)) / 100 for v in rng.integers(0, 10**6, 50)],
                                        pa.decimal128(p, 2))
                      for p in range(10, 35)})
    by_type = profile_arrow(spark, mixed, sample_rows=50)
    for name in mixed.column_names:
        assert by_type.column(name).sum == sum(mixed.column(name).to_pylist()), name

    empty = profile_arrow(spark, table.slice(0, 0))
    assert empty.row_count == 0 and len(empty.columns) == 47
    assert all((c.count, c.null_count, c.min, c.max) == (0, 0, None, None) for c in empty.columns)
