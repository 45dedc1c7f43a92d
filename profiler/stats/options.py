"""The knobs of a profile run, checked when they are set."""

from __future__ import annotations

from dataclasses import dataclass

from profiler.errors import InvalidProfileInput
from profiler.partial.sketches import bottom_k_size


@dataclass(frozen=True, slots=True)
class ProfileOptions:
    """Knobs of a profile run; the defaults suit tables from thousands to hundreds of millions of rows."""

    top_k: int = 10
    histogram_bins: int = 20
    exact_distinct_threshold: int = 100_000
    """Columns with at most this many (estimated) distinct values get exact distinct counts and exact top-k, and
    tables with at most this many distinct rows an exact duplicate-row count."""
    distinct_rsd: float = 0.02
    """Relative standard error of the distinct estimates beyond `exact_distinct_threshold` (sets the size of the
    bottom-k sketches, see `profiler.partial.bottom_k_size`)."""
    duplicate_rsd: float = 0.01
    """Relative standard error of the distinct-row estimate that bounds `TableProfile.duplicate_rows` (sets the
    least size of the row sketch, see `row_sketch_size`)."""
    quantile_sketch_k: int = 1000
    """Size of the KLL quantile sketches: the normalized rank error is about 2.3 / k^0.97 with 99 % confidence
    (0.28 % at 1000, 1.3 % at Spark's default of 200)."""
    sample_rows: int = 10_000
    sample_seed: int = 42
    candidates_per_column: int = 0
    """Frequent values taken from the sample for high-cardinality columns; 0 means `2 * top_k`."""
    max_value_length: int = 1000
    """Strings longer than this (min, max, top values) are cut in the profile."""
    semantic_threshold: float = 0.9
    """Share of sampled non-null values a detector must match to set a semantic type and its PII tag."""

    def __post_init__(self) -> None:
        checks: list[tuple[str, bool, str]] = [
            ("top_k", self.top_k >= 0, "must be >= 0"),
            ("histogram_bins", self.histogram_bins >= 1, "must be >= 1"),
            ("exact_distinct_threshold", self.exact_distinct_threshold >= 0, "must be >= 0"),
            ("distinct_rsd", 0.0 < self.distinct_rsd <= 0.4, "must be in (0, 0.4]"),
            ("duplicate_rsd", 0.0 < self.duplicate_rsd <= 0.4, "must be in (0, 0.4]"),
            ("quantile_sketch_k", 8 <= self.quantile_sketch_k <= 65535, "must be in [8, 65535]"),
            ("sample_rows", self.sample_rows >= 0, "must be >= 0"),
            ("candidates_per_column", self.candidates_per_column >= 0, "must be >= 0"),
            ("max_value_length", self.max_value_length >= 1, "must be >= 1"),
            ("semantic_threshold", 0.0 < self.semantic_threshold <= 1.0, "must be in (0, 1]"),
        ]
        for name, ok, reason in checks:
            if not ok:
                raise InvalidProfileInput(f"{name} {reason}, got {getattr(self, name)!r}", field=name)

    @property
    def candidates(self) -> int:
        return self.candidates_per_column or 2 * self.top_k

    @property
    def row_sketch_size(self) -> int:
        """Distinct row hashes the duplicate-row sketch keeps: enough for `duplicate_rsd`, and one more than
        `exact_distinct_threshold` so that smaller tables are counted exactly."""
        return max(bottom_k_size(self.duplicate_rsd), self.exact_distinct_threshold + 1)
