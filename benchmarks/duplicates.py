"""Duplicate-row figures against pandas' exact count, and what the counting row sketch costs.

Generates TPC-H-like line items (unique (l_orderkey, l_linenumber), no single unique column) in memory and, without
Spark, runs the statistics pass's partials over shares of 100,000 rows merged as Spark merges them. For each case
(no duplicates; a share of rows repeated; a few rows repeated thousands of times, which a sample of distinct rows
can miss) it prints pandas' count, the profile's value, exact flag, method and 95 % interval. Then the time per
share of the row sketch (unique hashes with their counts, then merging) against a plain bottom-k of 10,002 hashes,
the sketch the profiler used before, and the bytes a task ships to Spark's tree aggregation for it.

Usage: python benchmarks/duplicates.py [--orders N] (default 250,000 orders, about 1,000,000 rows)
"""

from __future__ import annotations

import os
import sys

# Run as a script, this folder comes first on sys.path, and its `profile.py` hides the standard library's `profile`
# that PySpark's import of cProfile needs.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]

import argparse  # noqa: E402
import pickle  # noqa: E402
import time  # noqa: E402
from functools import reduce  # noqa: E402

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402


def lineitem(orders: int, seed: int = 1) -> pa.Table:
    rng = np.random.default_rng(seed)
    lines = rng.integers(1, 8, orders)
    orderkey = np.repeat(np.arange(1, orders + 1) * 4, lines)
    rows = len(orderkey)
    return pa.table({
        "l_orderkey": orderkey,
        "l_linenumber": (np.arange(rows) - np.repeat(np.cumsum(lines) - lines, lines) + 1).astype(np.int32),
        "l_quantity": rng.integers(1, 51, rows).astype(np.float64),
        "l_returnflag": np.array(["A", "N", "R"])[rng.integers(0, 3, rows)],
    })


def main() -> None:
    from pyspark.sql.pandas.types import from_arrow_schema

    from profiler.kinds import column_kind
    from profiler.model import ColumnKind
    from profiler.partial import ColumnSpec, PartialOptions, bottom_k_size, duplicate_rows, empty_partial, table_partial
    from profiler.partial.hashing import mix, new_row_hashes
    from profiler.partial.sketches import RowSketch, bottom_k, merge_bottom_k
    from profiler.stats import ProfileOptions

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=250_000)
    args = parser.parse_args()
    options = PartialOptions(bottom_k=bottom_k_size(0.02), row_bottom_k=ProfileOptions().row_sketch_size, kll_k=200,
                             sample_rows=0, seed=1)
    base = lineitem(args.orders)
    rng = np.random.default_rng(9)
    cases = {
        "no duplicates": base,
        "3 % of rows repeated": pa.concat_tables([base, base.take(rng.integers(0, base.num_rows,
                                                                              base.num_rows * 3 // 100))]),
        "5 rows x 4,000 copies": pa.concat_tables([base] + [base.slice(int(i), 1) for i in
                                                            rng.integers(0, base.num_rows, 5) for _ in range(4000)]),
    }
    print(f"{'case':<24}{'rows':>10}{'pandas':>9}{'value':>9}{'exact':>7}  {'method':<8}{'low':>8}{'high':>8}")
    for name, table in cases.items():
        kinds = [column_kind(f.dataType) for f in from_arrow_schema(table.schema).fields]
        specs = [ColumnSpec(k, hashed=k is not ColumnKind.OTHER) for k in kinds]
        parts = [table_partial(table.slice(start, 100_000), specs, options, i)
                 for i, start in enumerate(range(0, table.num_rows, 100_000))]
        total = reduce(lambda a, b: a.merge(b, options), parts, empty_partial(len(specs), table.schema))
        found = duplicate_rows(total, [], options.row_bottom_k)
        frame = table.to_pandas()
        truth = len(frame) - len(frame.drop_duplicates())
        print(f"{name:<24}{table.num_rows:>10,}{truth:>9,}{found.value:>9,}{found.exact!s:>7}  "
              f"{found.method.value:<8}{found.low:>8,}{found.high:>8,}")

    hashes = [mix(new_row_hashes(100_000) ^ rng.integers(0, 2**63, 100_000).astype(np.uint64)) for _ in range(10)]
    for label, build, merge in (
            (f"row sketch, k={options.row_bottom_k:,}", lambda h: RowSketch.of(h, options.row_bottom_k),
             lambda a, b: a.merge(b, options.row_bottom_k)),
            ("plain bottom-k, k=10,002", lambda h: bottom_k(h, 10_002), lambda a, b: merge_bottom_k(a, b, 10_002))):
        start = time.perf_counter()
        sketches = [build(h) for h in hashes]
        built = time.perf_counter()
        reduce(merge, sketches)
        merged = time.perf_counter()
        size = len(pickle.dumps(reduce(merge, sketches)))
        print(f"{label:<30} build {1000 * (built - start) / len(hashes):6.1f} ms per 100,000-row share, "
              f"merge {1000 * (merged - built) / (len(hashes) - 1):6.1f} ms per merge, "
              f"{size / 1e6:5.2f} MB shipped per task")


if __name__ == "__main__":
    main()
