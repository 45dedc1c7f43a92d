"""`detect_anomalies(history, current)`: a pure function from profile history to a list of anomalies.

Checks: volume (row count), null rate, distinct ratio, mean/min/max shift of numeric columns, freshness (the
latest timestamp stalls while rows keep arriving, or grows older than a limit) and schema drift (change-log
entries handed in by the caller).

How a metric is judged depends on how much history there is:

- **Short history** (fewer than `min_history` earlier profiles): a percentage rule against the previous run -
  the symmetric relative change `|x - prev| / max(|x|, |prev|)` for counts (for a column's mean/min/max the
  denominator also includes its standard deviation or range), the absolute difference for rates.
- **Enough history**: a robust trend - Theil-Sen (the median of pairwise slopes over profile time, so a growing
  table is normal and one earlier outlier does not bend the line) - and a robust z-score of the current value
  against it, scaled by the MAD of the history's residuals (times 1.4826). The scale never drops below a floor
  (`rate_scale_floor` for rates; `relative_scale_floor` times the predicted level, and for a column's mean, min
  and max `spread_scale_floor` times its standard deviation), so a perfectly constant history does not turn
  noise into alarms.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

from profiler.errors import InvalidProfileInput
from profiler.model import Anomaly, AnomalyKind, ColumnProfile, TableProfile

MAD_SCALE = 1.4826
"""Makes the MAD a consistent estimator of the standard deviation for normal data."""

DEFAULT_SCHEMA_CHANGES = frozenset({
    "column_added", "column_removed", "column_type_changed", "column_nullability_changed", "primary_key_changed",
    "table_deleted",
})
_BREAKING = frozenset({"column_removed", "column_type_changed", "table_deleted", "primary_key_changed"})


@dataclass(frozen=True, slots=True)
class AnomalyThresholds:
    """Per-table settings of `detect_anomalies`; build from stored JSON with `AnomalyThresholds.from_mapping`."""

    min_history: int = 5
    """Earlier profiles needed before robust statistics replace the percentage rules."""
    max_history: int = 60
    """Most recent earlier profiles the robust trend looks at."""
    z_threshold: float = 4.0
    volume_change: float = 0.3
    """Short history: relative row-count change that is an anomaly."""
    null_rate_change: float = 0.1
    """Short history: absolute null-rate change (0.1 = ten percentage points)."""
    distinct_ratio_change: float = 0.2
    shift_change: float = 0.5
    """Short history: relative change of a numeric column's mean, min or max."""
    rate_scale_floor: float = 0.01
    """Robust scale floor of rates (null rate, distinct ratio), in absolute terms."""
    relative_scale_floor: float = 0.02
    """Robust scale floor of counts and values, relative to the expected value."""
    spread_scale_floor: float = 0.25
    """Robust scale floor of a column's mean/min/max, relative to its standard deviation (else range)."""
    freshness_max_age_seconds: float | None = None
    """Latest timestamp older than this at profile time is an anomaly; None disables the check."""
    freshness_columns: frozenset[str] | None = None
    """Temporal columns the freshness checks look at; None means all."""
    schema_change_types: frozenset[str] = DEFAULT_SCHEMA_CHANGES
    checks: frozenset[AnomalyKind] = frozenset(AnomalyKind)
    ignore_columns: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        positive = ("z_threshold", "volume_change", "null_rate_change", "distinct_ratio_change", "shift_change",
                    "rate_scale_floor", "relative_scale_floor", "spread_scale_floor")
        for name in positive:
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not value > 0:
                raise InvalidProfileInput(f"{name} must be a positive number, got {value!r}", field=name)
        if not isinstance(self.min_history, int) or self.min_history < 2:
            raise InvalidProfileInput(f"min_history must be an integer >= 2, got {self.min_history!r}",
                                      field="min_history")
        if not isinstance(self.max_history, int) or self.max_history < self.min_history:
            raise InvalidProfileInput(f"max_history must be an integer >= min_history, got {self.max_history!r}",
                                      field="max_history")
        age = self.freshness_max_age_seconds
        if age is not None and (not isinstance(age, (int, float)) or age <= 0):
            raise InvalidProfileInput(f"freshness_max_age_seconds must be positive or null, got {age!r}",
                                      field="freshness_max_age_seconds")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> AnomalyThresholds:
        """Thresholds from JSON-like settings; unknown keys and bad values raise `InvalidProfileInput`."""
        known = {f.name for f in fields(cls)}
        values: dict[str, Any] = {}
        for key, value in data.items():
            if key not in known:
                raise InvalidProfileInput(f"unknown anomaly threshold {key!r}", field=key)
            if key in ("freshness_columns", "schema_change_types", "ignore_columns") and value is not None:
                value = frozenset(str(v) for v in value)
            elif key == "checks":
                try:
                    value = frozenset(AnomalyKind(v) for v in value)
                except ValueError as error:
                    raise InvalidProfileInput(f"checks: {error}", field="checks") from error
            values[key] = value
        return cls(**values)


def detect_anomalies(history: Sequence[TableProfile | Mapping[str, Any]], current: TableProfile | Mapping[str, Any],
                     *, schema_changes: Iterable[Any] = (),
                     thresholds: AnomalyThresholds | None = None) -> list[Anomaly]:
    """Anomalies of `current` against earlier profiles of the same table (any order; dicts from `to_dict` work).

    `schema_changes` are the change-log entries detected since the previous profile: objects or mappings with a
    `change_type` (or `type`) and optionally `column`/`entity_urn`, `before` and `after`.
    """
    t = thresholds or AnomalyThresholds()
    now = _as_profile(current)
    past = sorted((_as_profile(p) for p in history), key=lambda p: p.started_at)
    found: list[Anomaly] = []
    origin = past[0].started_at if past else now.started_at
    moments = [(p.started_at - origin).total_seconds() for p in past]
    moment = (now.started_at - origin).total_seconds()
    if AnomalyKind.VOLUME in t.checks:
        found += _judge(AnomalyKind.VOLUME, None, list(zip(moments, (p.row_count for p in past), strict=True)),
                        moment, now.row_count, t, rate=False, what="row count", threshold=t.volume_change)
    for column in now.columns:
        if column.name in t.ignore_columns:
            continue
        earlier = [(m, _column(p, column.name)) for m, p in zip(moments, past, strict=True)]
        found += _column_anomalies(column, earlier, moment, t)
    found += _freshness(now, past, t)
    if AnomalyKind.SCHEMA_DRIFT in t.checks:
        found += _schema_drift(schema_changes, t)
    return found


def _as_profile(value: TableProfile | Mapping[str, Any]) -> TableProfile:
    return value if isinstance(value, TableProfile) else TableProfile.from_dict(dict(value))


def _column(profile: TableProfile, name: str) -> ColumnProfile | None:
    for column in profile.columns:
        if column.name == name:
            return column
    return None


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float, Decimal)):
        number = float(value)
        return number if math.isfinite(number) else None
    return None


def _column_anomalies(column: ColumnProfile, earlier: list[tuple[float, ColumnProfile | None]], moment: float,
                      t: AnomalyThresholds) -> list[Anomaly]:
    found: list[Anomaly] = []
    # A column whose type family changed starts a new history (the schema drift check reports the change).
    present = [(m, c) for m, c in earlier if c is not None and c.kind == column.kind]
    metrics: list[tuple[AnomalyKind, str, Callable[[ColumnProfile], float | None], bool, float]] = [
        (AnomalyKind.NULL_RATE, "null rate", lambda c: c.null_rate, True, t.null_rate_change),
        (AnomalyKind.DISTINCT_RATIO, "distinct ratio", lambda c: c.distinct_ratio, True, t.distinct_ratio_change),
    ]
    if column.kind.numeric:
        metrics += [
            (AnomalyKind.MEAN_SHIFT, "mean", lambda c: _number(c.mean), False, t.shift_change),
            (AnomalyKind.MIN_SHIFT, "min", lambda c: _number(c.min), False, t.shift_change),
            (AnomalyKind.MAX_SHIFT, "max", lambda c: _number(c.max), False, t.shift_change),
        ]
    spread = _spread(present[-1][1]) if present else 0.0
    for kind, what, metric, rate, threshold in metrics:
        if kind not in t.checks:
            continue
        value = metric(column)
        if value is None:
            continue
        series = [(m, v) for m, v in ((m, metric(c)) for m, c in present) if v is not None]
        found += _judge(kind, column.name, series, moment, value, t, rate=rate, what=what, threshold=threshold,
                        spread=0.0 if rate else spread)
    return found


def _spread(column: ColumnProfile) -> float:
    """A numeric column's standard deviation, else its range, else 0."""
    stddev = _number(column.stddev)
    if stddev:
        return stddev
    low, high = _number(column.min), _number(column.max)
    return high - low if low is not None and high is not None else 0.0


def _theil_sen(points: Sequence[tuple[float, float]]) -> tuple[float, float, float]:
    """Slope, intercept and median absolute residual of a robust line through `(time, value)` points."""
    slopes = [(vb - va) / (tb - ta) for i, (ta, va) in enumerate(points) for tb, vb in points[i + 1:] if tb != ta]
    slope = statistics.median(slopes) if slopes else 0.0
    intercept = statistics.median(v - slope * t for t, v in points)
    residual = statistics.median(abs(v - intercept - slope * t) for t, v in points)
    return slope, intercept, residual


def _judge(kind: AnomalyKind, column: str | None, series: Sequence[tuple[float, float]], moment: float,
           value: float, t: AnomalyThresholds, *, rate: bool, what: str, threshold: float,
           spread: float = 0.0) -> list[Anomaly]:
    """`series` holds `(seconds, value)` of earlier runs, oldest first; `moment` is the current run's time.

    `spread` is the column's own spread (standard deviation, else range) for shifts of its values: a minimum
    moving from 4 to 505 is 99 % of itself but nothing for keys spread over a billion.
    """
    if not series:
        return []
    subject = f"{what} of {column}" if column else what
    if len(series) < t.min_history:
        previous = series[-1][1]
        if rate:
            change = abs(value - previous)
        else:
            largest = max(abs(value), abs(previous), spread)
            change = abs(value - previous) / largest if largest else 0.0
        if change <= threshold:
            return []
        low, high = _percentage_range(previous, threshold, rate=rate, spread=spread)
        return [Anomaly(kind, f"{subject} changed from {previous:g} to {value:g} ({change:.0%} > {threshold:.0%})"
                        if not rate else
                        f"{subject} changed from {previous:.4g} to {value:.4g} (by {change:.4g} > {threshold:g})",
                        column=column, observed=value, expected=previous, score=change, method="percentage",
                        severity=_severity(kind, value, previous, change / threshold),
                        expected_min=low, expected_max=high)]

    # Recent history only: a table's behaviour from a year ago says little about today, and Theil-Sen is O(n^2).
    points = series[-t.max_history:]
    slope, intercept, residual = _theil_sen(points)
    expected = intercept + slope * moment
    floor = t.rate_scale_floor if rate else max(t.relative_scale_floor * abs(expected),
                                                 t.spread_scale_floor * spread, 1e-12)
    scale = max(MAD_SCALE * residual, floor)
    score = (value - expected) / scale
    if abs(score) <= t.z_threshold:
        return []
    direction = "above" if score > 0 else "below"
    return [Anomaly(kind, f"{subject} is {value:.6g}, {abs(score):.1f} robust deviations {direction} the expected "
                          f"{expected:.6g}",
                    column=column, observed=value, expected=expected, score=score, method="robust_z",
                    severity=_severity(kind, value, expected, abs(score) / t.z_threshold),
                    expected_min=expected - t.z_threshold * scale, expected_max=expected + t.z_threshold * scale)]


def _percentage_range(previous: float, threshold: float, *, rate: bool, spread: float) -> tuple[float, float | None]:
    """The values a percentage rule would have accepted around `previous` (the upper edge None when unbounded).

    For counts the rule divides by the larger of the two values (and the spread), so the accepted range is
    asymmetric: from `previous * (1 - t)` up to `previous / (1 - t)` for a non-negative previous value.
    """
    if rate:
        return max(0.0, previous - threshold), min(1.0, previous + threshold)
    reach = threshold * max(abs(previous), spread)
    if threshold >= 1:
        return previous - reach, None
    if previous >= 0:
        return previous - reach, max(previous + threshold * spread, previous / (1 - threshold))
    return min(previous - threshold * spread, previous / (1 - threshold)), previous + reach


def _severity(kind: AnomalyKind, value: float, expected: float, excess: float) -> str:
    if kind is AnomalyKind.VOLUME and value == 0 and expected > 0:
        return "critical"
    return "critical" if excess >= 2 else "warning"


def _moment(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
    return None


def _freshness(now: TableProfile, past: Sequence[TableProfile], t: AnomalyThresholds) -> list[Anomaly]:
    found: list[Anomaly] = []
    for column in now.columns:
        if not column.kind.temporal or column.name in t.ignore_columns:
            continue
        if t.freshness_columns is not None and column.name not in t.freshness_columns:
            continue
        latest = _moment(column.max)
        if (AnomalyKind.FRESHNESS_AGE in t.checks and t.freshness_max_age_seconds is not None
                and column.freshness_seconds is not None and column.freshness_seconds > t.freshness_max_age_seconds):
            found.append(Anomaly(
                AnomalyKind.FRESHNESS_AGE,
                f"latest {column.name} is {column.freshness_seconds / 3600:.1f} h old "
                f"(limit {t.freshness_max_age_seconds / 3600:.1f} h)",
                column=column.name, observed=column.freshness_seconds, expected=t.freshness_max_age_seconds,
                score=column.freshness_seconds / t.freshness_max_age_seconds))
        if AnomalyKind.FRESHNESS_STALL not in t.checks or not past or latest is None:
            continue
        series = [(p.row_count, _moment(c.max) if (c := _column(p, column.name)) else None) for p in past]
        previous_rows, previous_latest = series[-1]
        if previous_latest is None or now.row_count <= previous_rows or latest > previous_latest:
            continue
        # Only a column that normally advances when rows arrive can stall (not a birth date, say).
        growth = [(a, b) for a, b in zip(series, series[1:], strict=False)
                  if b[0] > a[0] and a[1] is not None and b[1] is not None]
        advanced = sum(1 for a, b in growth if b[1] > a[1])
        if not growth or advanced * 2 < len(growth):
            continue
        found.append(Anomaly(
            AnomalyKind.FRESHNESS_STALL,
            f"latest {column.name} stayed at {previous_latest.isoformat()} while rows grew from {previous_rows} "
            f"to {now.row_count}",
            column=column.name, observed=latest.isoformat(), expected=f"> {previous_latest.isoformat()}"))
    return found


def _field(change: Any, *names: str) -> Any:
    for name in names:
        if isinstance(change, Mapping):
            if name in change:
                return change[name]
        elif hasattr(change, name):
            return getattr(change, name)
    return None


def _schema_drift(changes: Iterable[Any], t: AnomalyThresholds) -> list[Anomaly]:
    found: list[Anomaly] = []
    for change in changes:
        kind = _field(change, "change_type", "type")
        kind = getattr(kind, "value", kind)
        if kind is None or str(kind) not in t.schema_change_types:
            continue
        kind = str(kind)
        column = _field(change, "column", "entity_urn")
        before, after = _field(change, "before"), _field(change, "after")
        detail = f" ({before!r} → {after!r})" if before is not None or after is not None else ""
        found.append(Anomaly(
            AnomalyKind.SCHEMA_DRIFT, f"{kind.replace('_', ' ')}{' on ' + str(column) if column else ''}{detail}",
            column=None if column is None else str(column), observed=after, expected=before,
            severity="critical" if kind in _BREAKING else "warning"))
    return found
