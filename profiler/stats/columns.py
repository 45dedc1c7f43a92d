"""From merged partials to a `ColumnProfile`: a column under profiling, the statistics the first pass gives it, and
the profile assembled from what both passes found."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Context, Decimal
from typing import Any

import pyarrow as pa
from pyspark.sql import types as T

from profiler.kinds import days_to_date, micros_to_datetime, truncate
from profiler.model import QUANTILES, ColumnKind, ColumnProfile, Histogram, TopValue, quantile_key
from profiler.partial import ColumnPartial, bottom_k_size, distinct_estimate, int64_or_none, kll_quantiles
from profiler.patterns import analyse_values
from profiler.stats.options import ProfileOptions

KEY_SKETCH_SIZE = 256
"""Hashes of a column's bottom-k sketch its profile keeps for the foreign-key search: the smallest of them are a
bottom-k sketch too, 2 KB a column where the whole one (2,502 at the default `distinct_rsd`) would hold a job's
profiles of thousands of tables at 20 KB a column until the search."""

_WIDE_DECIMALS = Context(prec=80)
"""Spark decimals hold up to 38 digits, beyond the default context's 28."""


@dataclass(slots=True)
class Col:
    """A column under profiling and what the passes found so far."""

    index: int
    name: str
    data_type: T.DataType
    kind: ColumnKind
    stats: dict[str, Any]


def profile_value(c: Col, value: Any) -> Any:
    """A value of the statistics domain (epoch days and microseconds for dates and timestamps) as profiles hold it."""
    if c.kind is ColumnKind.DATE:
        return days_to_date(value)
    if c.kind is ColumnKind.TIMESTAMP:
        return micros_to_datetime(value, aware=isinstance(c.data_type, T.TimestampType))
    return value


def special_floats(s: dict[str, Any]) -> int:
    """Distinct values a float column holds besides its finite ones: NaN, +inf and -inf, each when present."""
    return int(s["nan"] > 0) + int(s["pos_inf"] > 0) + int(s["neg_inf"] > 0)


# -- pass 1: every statistic from the merged partials ------------------------------------------------------------

def _decimal_sum(unscaled: int | None, data_type: T.DecimalType) -> Decimal | None:
    """The exact sum at the column's scale; null when it needs more digits than Spark's sum type has."""
    if unscaled is None or len(str(abs(unscaled))) > min(38, data_type.precision + 10):
        return None
    return Decimal(unscaled).scaleb(-data_type.scale, context=_WIDE_DECIMALS)


def column_stats(c: Col, p: ColumnPartial, opts: ProfileOptions) -> dict[str, Any]:
    """The first pass's statistics of a column, from its merged partial."""
    s: dict[str, Any] = {"count": p.count}
    if c.kind.numeric:
        s.update(finite=p.finite, nan=p.nan, pos_inf=p.pos_inf, neg_inf=p.neg_inf, min=p.min, max=p.max,
                 stddev=p.moments.stddev, zeros=p.zeros, negatives=p.negatives)
        if c.kind is ColumnKind.INTEGER:
            s["sum"] = int64_or_none(p.sum) if p.moments.n else None
        elif c.kind is ColumnKind.DECIMAL:
            s["sum"] = _decimal_sum(p.sum, c.data_type) if p.moments.n else None  # type: ignore[arg-type]
        else:
            s["sum"] = p.sum if p.moments.n else None
        if p.kll is not None:
            values = kll_quantiles(p.kll, QUANTILES)
            s["quantiles"] = [round(v) for v in values] if c.kind is ColumnKind.INTEGER else values
    elif c.kind in (ColumnKind.STRING, ColumnKind.BINARY):
        s.update(min=p.min, max=p.max, min_length=p.min_length, max_length=p.max_length, sum_length=p.sum_length,
                 empty=p.empty, blank=p.blank)
    elif c.kind is ColumnKind.BOOLEAN:
        s["true"] = p.true
    elif c.kind.temporal:
        s.update(min=p.min, max=p.max)
    if p.bottom is not None:
        s["distinct"] = distinct_estimate(p.bottom, bottom_k_size(opts.distinct_rsd))
        s["sketch"] = p.bottom[:KEY_SKETCH_SIZE].astype("<u8").tobytes()
        if c.kind is ColumnKind.FLOAT:  # the sketch holds finite values only
            s["distinct"] += special_floats(s)
    return s


# -- assembling a column profile ----------------------------------------------------------------------------------

def _mean(total: Any, count: int) -> float | None:
    if total is None or not count:
        return None
    if isinstance(total, Decimal):
        return float(total / Decimal(count))
    return total / count


def _as_decimal(value: float, data_type: T.DecimalType) -> Decimal:
    """A decimal quantile back from the sketch's double, at the column's scale (exact to 15 significant digits)."""
    return Decimal(repr(value)).quantize(Decimal(1).scaleb(-data_type.scale), context=_WIDE_DECIMALS)


def column_profile(c: Col, row_count: int, sample: pa.Table, started: datetime,
                   opts: ProfileOptions) -> ColumnProfile:
    """The profile of a column from what both passes found (`c.stats`) and the sample."""
    s = c.stats
    count = int(s.get("count") or 0)
    profile: dict[str, Any] = {
        "name": c.name,
        "data_type": c.data_type.simpleString(),
        "kind": c.kind,
        "count": count,
        "null_count": row_count - count,
    }
    if s.get("distinct") is not None:
        profile["distinct_count"] = int(s["distinct"])
        profile["distinct_exact"] = count == 0
        profile["distinct_sketch"] = s.get("sketch")
    if c.kind.numeric:
        profile.update(_numeric(c, count, opts))
    elif c.kind is ColumnKind.STRING:
        profile.update(
            min=truncate(s.get("min"), opts.max_value_length), max=truncate(s.get("max"), opts.max_value_length),
            min_length=s.get("min_length"), max_length=s.get("max_length"),
            mean_length=_mean(s.get("sum_length"), count), empty_count=int(s["empty"]), blank_count=int(s["blank"]),
        )
    elif c.kind is ColumnKind.BINARY:
        profile.update(min_length=s.get("min_length"), max_length=s.get("max_length"),
                       mean_length=_mean(s.get("sum_length"), count))
    elif c.kind is ColumnKind.BOOLEAN:
        true = int(s["true"])
        false = count - true
        profile.update(true_count=true, false_count=false, distinct_count=int(true > 0) + int(false > 0),
                       distinct_exact=True)
        top = sorted([(true, True), (false, False)], key=lambda item: -item[0])
        profile["top_values"] = tuple(TopValue(v, n) for n, v in top[: opts.top_k] if n > 0)
    elif c.kind.temporal:
        low, high = profile_value(c, s.get("min")), profile_value(c, s.get("max"))
        profile.update(min=low, max=high, freshness_seconds=_freshness(high, started))

    if s.get("values_exact"):
        distinct = int(s.get("exact_distinct", 0))
        if c.kind is ColumnKind.FLOAT:
            distinct += special_floats(s)
        profile.update(distinct_count=distinct, distinct_exact=True)
    if "values_exact" in s:
        top = sorted(s.get("top", []), key=lambda item: -item[0])
        profile["top_values"] = tuple(TopValue(truncate(v, opts.max_value_length), n) for n, v in top[: opts.top_k])
        profile["top_values_complete"] = bool(s["values_exact"])
    elif c.kind not in (ColumnKind.BOOLEAN,):
        profile["top_values_complete"] = count == 0

    if c.kind is ColumnKind.STRING and sample.num_rows:
        analysis = analyse_values(sample.column(c.index).drop_null().to_pylist(),
                                  threshold=opts.semantic_threshold, max_length=opts.max_value_length)
        profile.update(patterns=analysis.patterns, semantic_types=analysis.semantic_types, tags=analysis.tags)
    return ColumnProfile(**profile)


def _numeric(c: Col, count: int, opts: ProfileOptions) -> dict[str, Any]:
    """The numeric fields of a column's profile: finite-value statistics, quantiles and histogram."""
    s = c.stats
    finite = int(s["finite"]) if c.kind is ColumnKind.FLOAT else count
    profile: dict[str, Any] = {
        "min": s.get("min"), "max": s.get("max"), "sum": s.get("sum"), "mean": _mean(s.get("sum"), finite),
        "stddev": s.get("stddev"), "zero_count": int(s["zeros"]), "negative_count": int(s["negatives"]),
    }
    if c.kind is ColumnKind.FLOAT:
        profile.update(nan_count=int(s["nan"]), infinite_count=int(s["pos_inf"]) + int(s["neg_inf"]))
        if profile["stddev"] is not None and math.isnan(profile["stddev"]):
            profile["stddev"] = None
    if s.get("quantiles") is not None:
        values = s["quantiles"]
        if c.kind is ColumnKind.DECIMAL:  # from a sketch of doubles, back at the column's scale
            values = [_as_decimal(v, c.data_type) if isinstance(v, float) else v  # type: ignore[arg-type]
                      for v in values]
        profile["quantiles"] = {quantile_key(p): v for p, v in zip(QUANTILES, values, strict=True)}
    if "histogram_range" in s:
        low, high = s["histogram_range"]
        bins = 1 if high == low else opts.histogram_bins
        width = (high - low) / bins if bins else 0.0
        counts = s.get("histogram_counts")
        edges = tuple([low + k * width for k in range(bins)] + [high])
        profile["histogram"] = Histogram(edges, tuple(int(n) for n in counts) if counts is not None
                                         else (0,) * bins)
    return profile


def _freshness(latest: date | datetime | None, started: datetime) -> float | None:
    if latest is None:
        return None
    if isinstance(latest, datetime):
        moment = latest if latest.tzinfo else latest.replace(tzinfo=timezone.utc)
    else:
        moment = datetime(latest.year, latest.month, latest.day, tzinfo=timezone.utc)
    return (started - moment).total_seconds()
