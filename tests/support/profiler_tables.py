"""Arrow tables the profiler tests profile: every kind of column (`rich_table`), wide tables (`mixed_table`) and
TPC-H-like line items (`lineitem_table`).

The `spark` fixture lives in `tests/conftest.py`: the catalog's profile jobs use the same session.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pyarrow as pa

UNICODE_WORDS = ["Ærøskøbing", "naïve café", "日本語のテキスト", "Привет мир", "emoji 🎉🚀", "ascii", "ß", "Ωmega"]


def rich_table(rows: int = 3000, seed: int = 7) -> pa.Table:
    """Every kind of column the profiler distinguishes, with the awkward cases: nulls, NaN and infinities,
    unicode, 10,000-character strings, empty and blank strings, decimal(38,18), zoned timestamps, an all-null
    column."""
    rng = np.random.default_rng(seed)

    def mask(share: float) -> np.ndarray:
        return rng.random(rows) < share

    price = rng.normal(100.0, 30.0, rows)
    special = rng.integers(0, 40, rows)
    price[special == 0] = np.nan
    price[special == 1] = np.inf
    price[special == 2] = -np.inf
    price[special == 3] = 0.0

    amounts = [
        None if m else Decimal(f"{int(rng.integers(-10**15, 10**15))}.{int(rng.integers(0, 10**18)):018d}")
        for m in mask(0.05)
    ]
    names = []
    for i, word in enumerate(rng.choice(UNICODE_WORDS, rows)):
        names.append("" if i % 97 == 0 else "  \t" if i % 89 == 0 else None if i % 83 == 0 else str(word))
    long_text = ["x" * 10_000 if i % 10 == 0 else "é" * (i % 500 + 1) for i in range(rows)]
    # Category k appears about (k+1)^2 times as often as category 0: distinct counts, few ties.
    weights = np.arange(1, 13) ** 2
    category = rng.choice([f"cat_{k:02d}" for k in range(12)], rows, p=weights / weights.sum())
    paris = dt.timezone(dt.timedelta(hours=1))
    start = dt.datetime(2024, 3, 30, 22, 0, tzinfo=paris)
    created = [None if m else start + dt.timedelta(minutes=int(k)) for m, k in
               zip(mask(0.03), rng.integers(0, 60 * 24 * 30, rows), strict=True)]
    return pa.table({
        "id": pa.array(rng.permutation(rows), pa.int64()),
        "qty": pa.array(rng.integers(-50, 51, rows), pa.int64(), mask=mask(0.1)),
        "big": pa.array(rng.integers(-10**15, 10**15, rows), pa.int64()),
        "price": pa.array(price, pa.float64(), mask=mask(0.05)),
        "amount": pa.array(amounts, pa.decimal128(38, 18)),
        "name": pa.array(names, pa.string()),
        "long_text": pa.array(long_text, pa.string()),
        "email": pa.array([f"user{i % 500}@example{i % 500 % 7}.com" for i in range(rows)], pa.string()),
        "category": pa.array(category, pa.string()),
        "created_at": pa.array(created, pa.timestamp("us", tz="Europe/Paris")),
        "day": pa.array([dt.date(2024, 1, 1) + dt.timedelta(days=int(d)) for d in rng.integers(0, 366, rows)],
                        pa.date32()),
        "flag": pa.array(rng.random(rows) < 0.3, pa.bool_(), mask=mask(0.1)),
        "nothing": pa.array([None] * rows, pa.int64()),
    })


def mixed_table(columns: int, rows: int = 500, seed: int = 3) -> pa.Table:
    """`columns` columns cycling through integer, float, string, timestamp and boolean."""
    rng = np.random.default_rng(seed)
    arrays = {}
    for i in range(columns):
        kind = i % 5
        if kind == 0:
            arrays[f"int_{i}"] = pa.array(rng.integers(0, 1000, rows))
        elif kind == 1:
            arrays[f"float_{i}"] = pa.array(rng.normal(0, 1, rows))
        elif kind == 2:
            arrays[f"str_{i}"] = pa.array([f"v{int(v)}" for v in rng.integers(0, 50, rows)])
        elif kind == 3:
            arrays[f"ts_{i}"] = pa.array(rng.integers(1_700_000_000, 1_710_000_000, rows) * 1_000_000,
                                         pa.timestamp("us", tz="UTC"))
        else:
            arrays[f"bool_{i}"] = pa.array(rng.random(rows) < 0.5)
    return pa.table(arrays)


def lineitem_table(orders: int, seed: int = 1) -> pa.Table:
    """Line items of `orders` orders (1 to 7 each, about 4 * `orders` rows), shaped like TPC-H's lineitem: no row
    repeats another, since (l_orderkey, l_linenumber) is unique, yet no single column is unique."""
    rng = np.random.default_rng(seed)
    lines = rng.integers(1, 8, orders)
    orderkey = np.repeat(np.arange(1, orders + 1) * 4, lines)
    linenumber = np.arange(len(orderkey)) - np.repeat(np.cumsum(lines) - lines, lines) + 1
    rows = len(orderkey)
    return pa.table({
        "l_orderkey": orderkey,
        "l_linenumber": linenumber.astype(np.int32),
        "l_quantity": rng.integers(1, 51, rows).astype(np.float64),
        "l_returnflag": np.array(["A", "N", "R"])[rng.integers(0, 3, rows)],
        "l_shipdate": pa.array(rng.integers(8000, 10500, rows).astype(np.int32)).cast(pa.date32()),
    })
