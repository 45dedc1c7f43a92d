"""Pass 2, the values pass: exact value counts, counts of frequent-value candidates and histograms, in one Spark
job, and what they give a column's profile (top values, exact distinct counts, exact quantiles)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from profiler.model import QUANTILES, ColumnKind
from profiler.partial import ValueCounts, ValuesRequest, empty_values, merge_values, tracked, values_partial
from profiler.stats.checks import Work
from profiler.stats.columns import Col, profile_value
from profiler.stats.options import ProfileOptions
from profiler.stats.shares import Shares


def values_pass(shares: Shares, cols: list[Col], sample: pa.Table, opts: ProfileOptions,
                extra: Work | None = None) -> Any:
    """One Spark job: exact value counts (top-k, exact distinct, exact quantiles) of every column whose estimated
    distinct count is at most `exact_distinct_threshold`, exact counts of the sample's repeated values for the
    others, and equi-width histograms of numeric columns. Skipped when no column has values to count and there is
    no `extra` work (the checks' own, in the same job), whose result it returns."""
    requests: list[ValuesRequest] = []
    for c in cols:
        s = c.stats
        if not (c.kind.numeric or c.kind.temporal or c.kind is ColumnKind.STRING):
            continue
        if not s["count"]:  # nothing to count: exactly no values
            s.update(values_exact=True, exact_distinct=0, top=[])
            continue
        bounds = _histogram_range(c) if c.kind.numeric else None
        histogram = None
        if bounds is not None:
            s["histogram_range"] = bounds
            histogram = (*bounds, 1 if bounds[0] == bounds[1] else opts.histogram_bins)
        exact = s.get("distinct", 0) <= opts.exact_distinct_threshold
        # The estimate may fall short of the truth: a little headroom keeps such a column exact.
        limit = max(1, math.ceil(opts.exact_distinct_threshold * 1.1)) if exact else 0
        candidates = None if exact or not opts.top_k or not sample.num_rows else _candidates(c, sample, opts)
        s["values_exact"] = False
        if limit or candidates is not None or histogram is not None:
            requests.append(ValuesRequest(c.index, c.kind, limit, candidates, histogram))
    if not requests and extra is None:
        return None
    work = Work(lambda rows, share: values_partial(rows, requests), empty_values(requests),
                lambda a, b: merge_values(a, b, requests), frozenset(r.index for r in requests)).paired(extra)
    # The other columns are left unread (the checks' work names its own: their columns and sample keys).
    columns = None if work.reads is None else sorted(work.reads)
    found = shares.aggregate(work.work, work.zero, work.merge, columns=columns)
    extra_found = None
    if extra is not None:
        found, extra_found = found
    for request in requests:
        c, partial = cols[request.index], found[request.index]
        if partial.histogram is not None:
            c.stats["histogram_counts"] = partial.histogram
        if partial.counts is None:
            continue
        c.stats["top"] = _top(c, partial.counts, opts.top_k)
        if request.limit:
            c.stats.update(values_exact=True, exact_distinct=len(partial.counts.values))
            if c.kind.numeric and len(partial.counts.values):
                c.stats["quantiles"] = _exact_quantiles(partial.counts)
    return extra_found


def _histogram_range(c: Col) -> tuple[float, float] | None:
    low, high = c.stats.get("min"), c.stats.get("max")
    if low is None or high is None:
        return None
    low, high = float(low), float(high)
    if not (math.isfinite(low) and math.isfinite(high) and math.isfinite(high - low)):
        return None
    return low, high


def _candidates(c: Col, sample: pa.Table, opts: ProfileOptions) -> pa.Array | None:
    """The sample's repeated values of a high-cardinality column, the only ones that can be frequent; None when
    the sample repeats nothing."""
    values = tracked(sample.column(c.index), c.kind).drop_null()
    if len(values) == 0:
        return None
    counts = pc.value_counts(values).to_pylist()
    repeated = sorted((row for row in counts if row["counts"] >= 2), key=lambda row: -row["counts"])
    chosen = [row["values"] for row in repeated[: opts.candidates]]
    return pa.array(chosen, values.type) if chosen else None


def _exact_quantiles(counts: ValueCounts) -> list[Any]:
    """`QUANTILES` from exact value counts: the smallest value whose cumulative count reaches p of the total."""
    order = pc.sort_indices(counts.values).to_numpy()
    cumulative = np.cumsum(counts.counts[order])
    values = counts.values.take(pa.array(order)).to_pylist()
    total = int(cumulative[-1])
    return [values[int(np.searchsorted(cumulative, max(1, math.ceil(p * total)), side="left"))] for p in QUANTILES]


def _top(c: Col, counts: ValueCounts, k: int) -> list[tuple[int, Any]]:
    """The `k` most frequent values, ties broken by value so the same data always yields the same top-k."""
    if not len(counts.values) or not k:
        return []
    table = pa.table({"v": counts.values, "n": counts.counts})
    top = table.sort_by([("n", "descending"), ("v", "ascending")]).slice(0, k)
    return [(int(n), profile_value(c, v)) for v, n in zip(top.column("v").to_pylist(),
                                                          top.column("n").to_pylist(), strict=True)]
