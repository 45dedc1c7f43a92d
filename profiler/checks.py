"""Aggregate checks evaluated in a profile's own passes: what a caller asks for, and what it gets back.

A caller (the catalog's quality rules) hands a profile run `TableChecks`: neutral check specs, one per rule, each
with an opaque `id` it gets back with the result. The checks ride on the passes the profile makes anyway (see
`profiler.stats.checks`), so adding checks adds no scan of the table:

| kind | fails a row when | observed |
| --- | --- | --- |
| `not_null` | the value is null (the count is the profile's null count) | null count |
| `unique` | its non-null value occurs more than once | duplicate count: non-null values minus distinct ones |
| `accepted_values` | its non-null value is not one of `values` | rows failing |
| `range` | its non-null value is below `min`, above `max`, or NaN | `{"failing", "min", "max"}` (the column's) |
| `regex` | its non-null text does not contain a match of `pattern` (searched, like SQL's `~`/`REGEXP`) | rows failing |
| `length` | its non-null value's length (characters; bytes for binary) is outside [`min`, `max`] | `{"failing", "min_length", "max_length"}` |
| `type_conformance` | its non-null text does not read as `type` | rows failing |
| `row_count` | (table) the profile's row count is outside [`min`, `max`] | row count |
| `row_count_change` | (table) it changed more than `max_increase_pct` / `max_decrease_pct` since `previous_row_count` | change in % |

Failing rows are sampled by `key` (the table's primary key columns, plus the checked column's value): the
`max_sample_keys` smallest in key order, whatever the order in which tasks merged, so a sample equals
`ORDER BY key LIMIT n` on the source. A check that cannot apply to its column (a range on text, a missing column)
comes back as `error` with the reason; the profile and the other checks are unaffected.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

MAX_SAMPLE_KEYS = 10

CHECK_KINDS = ("not_null", "unique", "accepted_values", "range", "regex", "length", "type_conformance", "row_count",
               "row_count_change")
"""The kinds a profile pass evaluates."""

Outcome = Literal["passed", "failed", "error"]


@dataclass(frozen=True, slots=True)
class CheckSpec:
    """One check: its caller's `id`, its `kind` (`CHECK_KINDS`), the column it checks (None for table checks) and the
    kind's parameters (`values`; `min`/`max`; `pattern`; `type`; `max_increase_pct`/`max_decrease_pct`)."""

    id: int
    kind: str
    column: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TableChecks:
    """The checks of one table's profile run, how to name a failing row, and what `row_count_change` compares to."""

    checks: tuple[CheckSpec, ...]
    key: tuple[str, ...] = ()
    """Columns that identify a row (the primary key); without them, a sample holds the checked column's values."""
    previous_row_count: int | None = None
    max_sample_keys: int = MAX_SAMPLE_KEYS


@dataclass(frozen=True, slots=True)
class CheckResult:
    """What the profile pass found for one check. `sample_keys` hold the key (and checked) columns' values of up to
    `max_sample_keys` failing rows, as Python values."""

    id: int
    outcome: Outcome
    observed: Any = None
    failing_rows: int | None = None
    sample_keys: tuple[dict[str, Any], ...] = ()
    message: str | None = None
