"""Plain, immutable profile values: what a profile run measured, plus keys and anomalies derived from it.

Every value converts to JSON-ready dicts with `to_dict()` (decimals as strings, dates and times in ISO 8601) and
`TableProfile.from_dict` restores the typed values, so the application can store a profile as JSON and hand the
history back to `detect_anomalies` later.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from profiler.checks import CheckResult


class ColumnKind(StrEnum):
    """The family of a column's type, which decides the statistics computed for it."""

    INTEGER = "integer"
    FLOAT = "float"
    DECIMAL = "decimal"
    STRING = "string"
    BOOLEAN = "boolean"
    DATE = "date"
    TIMESTAMP = "timestamp"
    BINARY = "binary"
    OTHER = "other"

    @property
    def numeric(self) -> bool:
        return self in (ColumnKind.INTEGER, ColumnKind.FLOAT, ColumnKind.DECIMAL)

    @property
    def temporal(self) -> bool:
        return self in (ColumnKind.DATE, ColumnKind.TIMESTAMP)


QUANTILES: tuple[float, ...] = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
"""Quantiles computed for numeric columns; keys in `ColumnProfile.quantiles` are `p1`, `p5`, ... `p99`."""


def quantile_key(p: float) -> str:
    return f"p{round(p * 100):d}"


# -- JSON conversion --------------------------------------------------------------------------------------------

def to_json_value(value: Any) -> Any:
    """A statistic as JSON: decimals as strings (exact), dates/times in ISO 8601, non-finite floats as None."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, (list, tuple)):
        return [to_json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_json_value(v) for k, v in value.items()}
    return str(value)


def from_json_value(value: Any, kind: ColumnKind) -> Any:
    """The inverse of `to_json_value` for a value of a column of `kind`."""
    if value is None or not isinstance(value, str):
        return value
    if kind is ColumnKind.DECIMAL:
        return Decimal(value)
    if kind is ColumnKind.DATE:
        return date.fromisoformat(value)
    if kind is ColumnKind.TIMESTAMP:
        return datetime.fromisoformat(value)
    return value


def _plain(obj: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in fields(obj):
        value = getattr(obj, f.name)
        if hasattr(value, "to_dict"):
            value = value.to_dict()
        elif isinstance(value, tuple) and value and hasattr(value[0], "to_dict"):
            value = [v.to_dict() for v in value]
        else:
            value = to_json_value(value)
        out[f.name] = value
    return out


class _Plain:
    """Gives a frozen dataclass of plain values its `to_dict()`: every field as JSON (`to_json_value`), nested
    values through their own `to_dict()`."""

    __slots__ = ()

    def to_dict(self) -> dict[str, Any]:
        return _plain(self)


# -- column statistics ------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Histogram:
    """Equi-width histogram over the finite values: `counts[i]` counts values in `[edges[i], edges[i+1])`, the
    last bin also holding the maximum."""

    edges: tuple[float, ...]
    counts: tuple[int, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"edges": list(self.edges), "counts": list(self.counts)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Histogram:
        return cls(tuple(float(e) for e in data["edges"]), tuple(int(c) for c in data["counts"]))


@dataclass(frozen=True, slots=True)
class TopValue:
    """A frequent value and its exact number of occurrences."""

    value: Any
    count: int

    def to_dict(self) -> dict[str, Any]:
        return {"value": to_json_value(self.value), "count": self.count}


@dataclass(frozen=True, slots=True)
class PatternCount(_Plain):
    """A character-class shape (`Aa9` classes, runs collapsed) and how many sampled values have it."""

    pattern: str
    count: int
    ratio: float


@dataclass(frozen=True, slots=True)
class SemanticType(_Plain):
    """A detected meaning of a column's values (email, uuid, ...), with the share of sampled non-null values that
    matched and the PII tag it implies, if any."""

    name: str
    match_ratio: float
    sample_size: int
    pii_tag: str | None = None


@dataclass(frozen=True, slots=True)
class ColumnProfile:
    """Everything measured about one column. Fields that do not apply to the column's kind are None.

    Numeric statistics (min, max, sum, mean, stddev, quantiles, histogram, zeros, negatives) cover finite values
    only; NaN and infinities of floating columns are counted in `nan_count` and `infinite_count`.
    """

    name: str
    data_type: str
    kind: ColumnKind
    count: int
    """Non-null values."""
    null_count: int
    distinct_count: int | None = None
    distinct_exact: bool = False
    """True when `distinct_count` was counted exactly, False for a bottom-k sketch estimate."""
    min: Any = None
    max: Any = None
    sum: Any = None
    mean: float | None = None
    stddev: float | None = None
    """Sample standard deviation."""
    zero_count: int | None = None
    negative_count: int | None = None
    nan_count: int | None = None
    infinite_count: int | None = None
    quantiles: dict[str, Any] | None = None
    histogram: Histogram | None = None
    min_length: int | None = None
    max_length: int | None = None
    mean_length: float | None = None
    empty_count: int | None = None
    blank_count: int | None = None
    """Non-empty strings made only of whitespace."""
    true_count: int | None = None
    false_count: int | None = None
    freshness_seconds: float | None = None
    """Seconds from the latest value (`max`) to the start of the profile run."""
    top_values: tuple[TopValue, ...] = ()
    top_values_complete: bool = True
    """False when the column has more distinct values than the exact threshold: its top values are the sample's
    frequent values, counted exactly on the whole table, and a value absent from the sample may be missing."""
    patterns: tuple[PatternCount, ...] = ()
    semantic_types: tuple[SemanticType, ...] = ()
    tags: tuple[str, ...] = ()
    """Classification tags such as `pii.email`."""
    distinct_sketch: bytes | None = field(default=None, compare=False, repr=False)
    """The smallest 64-bit hashes of the distinct non-null values (`profiler.partial.hashing`; at most
    `profiler.stats.columns.KEY_SKETCH_SIZE` of those behind `distinct_count`), sorted, as little-endian uint64
    bytes. The foreign-key search tests inclusion on it; it lives only as long as the profile value (`to_dict`
    leaves it out, as the catalog need not store it)."""

    @property
    def null_rate(self) -> float | None:
        total = self.count + self.null_count
        return self.null_count / total if total else None

    @property
    def distinct_ratio(self) -> float | None:
        if self.distinct_count is None or not self.count:
            return None
        return self.distinct_count / self.count

    def to_dict(self) -> dict[str, Any]:
        out = _plain(self)
        del out["distinct_sketch"]
        out["kind"] = self.kind.value
        out["quantiles"] = None if self.quantiles is None else {k: to_json_value(v) for k, v in self.quantiles.items()}
        out["tags"] = list(self.tags)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ColumnProfile:
        kind = ColumnKind(data["kind"])
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name not in data:
                continue
            value = data[f.name]
            if f.name in ("min", "max", "sum"):
                value = from_json_value(value, kind)
            elif f.name == "quantiles" and value is not None:
                value = {k: from_json_value(v, kind) for k, v in value.items()}
            elif f.name == "histogram" and value is not None:
                value = Histogram.from_dict(value)
            elif f.name == "top_values":
                value = tuple(TopValue(from_json_value(v["value"], kind), int(v["count"])) for v in value)
            elif f.name == "patterns":
                value = tuple(PatternCount(**v) for v in value)
            elif f.name == "semantic_types":
                value = tuple(SemanticType(**v) for v in value)
            elif f.name == "tags":
                value = tuple(value)
            elif f.name == "kind":
                value = kind
            values[f.name] = value
        return cls(**values)


@dataclass(frozen=True, slots=True)
class SampleInfo(_Plain):
    """The bounded sample behind patterns, semantic types, heavy-hitter candidates and the HTML report: a uniform
    sample without replacement of `rows` rows, `fraction` of the table, drawn with `seed`."""

    rows: int
    fraction: float
    seed: int


class DuplicateMethod(StrEnum):
    """How a duplicate-row figure was obtained."""

    UNIQUE_COLUMN = "unique_column"
    """A column's values were counted exactly and are all distinct and non-null: no row can repeat another."""
    COUNTED = "counted"
    """Every distinct row's 64-bit hash was kept and counted: exact but for hash collisions (two distinct rows
    sharing a hash, of probability below d² / 2^65 for d distinct rows: 3e-10 for 100,000)."""
    SKETCH = "sketch"
    """Estimated from the multiplicities of a uniform sample of distinct rows (a bottom-k sketch of row hashes)."""
    LEGACY = "legacy"
    """Stored by an older profiler as rows minus a distinct-row estimate; the bounds come from its stated error."""


@dataclass(frozen=True, slots=True)
class DuplicateRows:
    """Rows equal in every column to another row, beyond the first of each (pandas'
    `len(df) - len(df.drop_duplicates())`), and how sure the figure is.

    When `exact` is False, `value` is an estimate and the true count lies in `[low, high]` with probability
    `confidence` (normal approximations; conservative). A table whose sampled distinct rows all occur once gets
    `value` 0, so a table without duplicates is never said to have some; duplicates concentrated in a few rows
    repeated many times can escape the sample, and `high` allows for them.
    """

    value: int
    exact: bool
    low: int
    high: int
    method: DuplicateMethod
    confidence: float | None = None
    """Of `[low, high]`; None when the count is exact."""

    @classmethod
    def counted(cls, value: int, method: DuplicateMethod) -> DuplicateRows:
        return cls(value, True, value, value, method)

    def to_dict(self) -> dict[str, Any]:
        out = _plain(self)
        out["method"] = self.method.value
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DuplicateRows:
        return cls(**{**data, "method": DuplicateMethod(data["method"])})

    @classmethod
    def legacy(cls, estimate: int, rsd: float | None, rows: int) -> DuplicateRows:
        """An older profile's `duplicate_rows_estimate`, bounded by 1.96 of its relative error `rsd` of the rows."""
        spread = math.ceil(1.96 * (rsd or 0.0) * rows)
        return cls(estimate, False, max(0, estimate - spread), max(0, min(rows - 1, estimate + spread)),
                   DuplicateMethod.LEGACY, 0.95)


@dataclass(frozen=True, slots=True)
class TableProfile(_Plain):
    """One profile run of one table."""

    row_count: int
    columns: tuple[ColumnProfile, ...]
    started_at: datetime
    finished_at: datetime
    size_bytes: int | None = None
    duplicate_rows: DuplicateRows | None = None
    """None when some column's values cannot be compared (arrays, structs, maps, intervals)."""
    spark_jobs: int | None = None
    """Spark jobs this run started, read from Spark's status tracker: two (the statistics and the values pass),
    one when no column has values to count, plus Spark's schema-merging read when the files must be read by Spark
    itself (see `profiler.stats`)."""
    sample: SampleInfo | None = None
    source: str | None = None
    checks: tuple[CheckResult, ...] = field(default=(), compare=False, repr=False)
    """The results of the checks the run was given (`profiler.checks`): the caller stores them apart, so they are
    no part of `to_dict()`."""

    def to_dict(self) -> dict[str, Any]:
        out = _plain(self)
        out.pop("checks", None)
        return out

    def column(self, name: str) -> ColumnProfile:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)

    @property
    def duration_seconds(self) -> float:
        return (self.finished_at - self.started_at).total_seconds()

    @property
    def duplicate_rows_estimate(self) -> int | None:
        """`duplicate_rows.value`, under the name older callers read."""
        return None if self.duplicate_rows is None else self.duplicate_rows.value

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TableProfile:
        sample = data.get("sample")
        duplicates = data.get("duplicate_rows")
        if duplicates is None and data.get("duplicate_rows_estimate") is not None:
            legacy = DuplicateRows.legacy(int(data["duplicate_rows_estimate"]), data.get("duplicate_rows_rsd"),
                                          int(data["row_count"]))
        else:
            legacy = None
        return cls(
            row_count=int(data["row_count"]),
            columns=tuple(ColumnProfile.from_dict(c) for c in data.get("columns", ())),
            started_at=datetime.fromisoformat(data["started_at"]),
            finished_at=datetime.fromisoformat(data["finished_at"]),
            size_bytes=data.get("size_bytes"),
            duplicate_rows=DuplicateRows.from_dict(duplicates) if duplicates else legacy,
            spark_jobs=data.get("spark_jobs"),
            sample=SampleInfo(**sample) if sample else None,
            source=data.get("source"),
        )


# -- keys ---------------------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class CandidateKey(_Plain):
    """Columns whose values are unique and non-null in the data (`verified`: checked exactly on the data)."""

    columns: tuple[str, ...]
    verified: bool
    declared: bool = False
    row_count: int = 0
    distinct_count: int = 0
    null_rows: int = 0
    """Rows where at least one key column is null."""


@dataclass(frozen=True, slots=True)
class CandidateForeignKey(_Plain):
    """Child columns whose distinct non-null values are all contained in a unique parent column.

    `confirmed` is True only when a left-anti join on the data found no orphan value; rejected candidates keep
    their orphan count so a user can see how close they came.
    """

    child_table: str
    child_columns: tuple[str, ...]
    parent_table: str
    parent_columns: tuple[str, ...]
    confirmed: bool
    child_distinct: int
    orphan_values: int


# -- anomalies ----------------------------------------------------------------------------------------------------

class AnomalyKind(StrEnum):
    """What an anomaly is about."""

    VOLUME = "volume"
    NULL_RATE = "null_rate"
    DISTINCT_RATIO = "distinct_ratio"
    MEAN_SHIFT = "mean_shift"
    MIN_SHIFT = "min_shift"
    MAX_SHIFT = "max_shift"
    FRESHNESS_STALL = "freshness_stall"
    FRESHNESS_AGE = "freshness_age"
    SCHEMA_DRIFT = "schema_drift"


@dataclass(frozen=True, slots=True)
class Anomaly:
    """One finding of `detect_anomalies`: what was observed, what was expected, and how the call was made.

    `method` is `robust_z` (median/MAD over the history), `percentage` (change against the previous run while the
    history is short), or `rule` (freshness and schema drift).
    """

    kind: AnomalyKind
    message: str
    column: str | None = None
    observed: Any = None
    expected: Any = None
    score: float | None = None
    method: str = "rule"
    severity: str = "warning"
    expected_min: float | None = None
    """Lower edge of the range the observed value was judged against (None: unbounded or not numeric)."""
    expected_max: float | None = None
    """Upper edge of that range."""

    def to_dict(self) -> dict[str, Any]:
        out = _plain(self)
        out["kind"] = self.kind.value
        return out


__all__ = [
    "QUANTILES",
    "Anomaly",
    "AnomalyKind",
    "CandidateForeignKey",
    "CandidateKey",
    "ColumnKind",
    "ColumnProfile",
    "DuplicateMethod",
    "DuplicateRows",
    "Histogram",
    "PatternCount",
    "SampleInfo",
    "SemanticType",
    "TableProfile",
    "TopValue",
    "from_json_value",
    "quantile_key",
    "to_json_value",
]
