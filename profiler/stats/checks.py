"""Aggregate checks riding on a profile's two passes: no scan of their own.

The statistics pass computes every check's partial next to the table's, on the same share and with the text
encodings the statistics made (`profiler.partial.checks`): failing counts and sample keys of the row-by-row checks,
the value hashes of `unique` checks and the rows of each share's smallest keys. Those usually prove which rows hold
a duplicated value first; when they do not, the values pass, which runs anyway, picks the keys of those rows. The results are assembled from the merged partials and
the finished profile, whose figures answer some checks exactly (null counts, row counts, a column's min and max).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from profiler.checks import CheckResult, CheckSpec, TableChecks
from profiler.model import ColumnKind, TableProfile
from profiler.partial.checks import (
    CheckPartial,
    checks_partial,
    compile_checks,
    duplicate_keys,
    duplicates,
    key_bound,
    keys_only_sample,
    merge_checks,
    merge_keys,
)
from profiler.partial.column import ColumnPartial


@dataclass(frozen=True, slots=True)
class Work:
    """What one pass computes over the shares: a task's work on its rows, the zero, and the merge."""

    work: Callable[[pa.Table, int], Any]
    zero: Any
    merge: Callable[[Any, Any], Any]
    reads: frozenset[int] | None = None
    """The columns (positions) the work reads; None: all of them."""

    def paired(self, other: Work | None) -> Work:
        """This work and `other` in the same pass, as pairs."""
        if other is None:
            return self
        first, second = self, other
        reads = None if first.reads is None or other.reads is None else first.reads | other.reads
        return Work(lambda rows, share: (first.work(rows, share), second.work(rows, share)),
                    (first.zero, second.zero),
                    lambda a, b: (first.merge(a[0], b[0]), second.merge(a[1], b[1])), reads)


class ProfileChecks:
    """The checks of one profile run, from compiling to results."""

    def __init__(self, checks: TableChecks, names: list[str], kinds: list[ColumnKind], schema: pa.Schema) -> None:
        self.checks = checks
        self.compiled = compile_checks(checks, names, kinds, schema)
        self.kinds, self.schema = kinds, schema
        self.kept = {c.column: c.sample[0] if c.sample and kinds[c.sample[0]] is ColumnKind.INTEGER else None
                     for c in self.compiled if c.hashes}
        self.k = checks.max_sample_keys
        self.partials: list[CheckPartial] = []
        self.repeated: dict[int, tuple[np.ndarray, int, int]] = {}
        self.bounds: dict[int, Any] = {}
        self.duplicate_keys: dict[int, pa.Table | None] = {}

    def statistics_work(self, statistics: Work) -> Work:
        """The statistics pass's `statistics` work (which takes a dict to fill with the text encodings it makes,
        `table_partial`'s) with the checks' partials of each share beside it, reusing those encodings."""
        compiled, k, table = self.compiled, self.k, statistics.work

        def work(rows: pa.Table, share: int) -> tuple[Any, list[CheckPartial]]:
            encodings: dict[int, pa.DictionaryArray] = {}
            return table(rows, share, encodings), checks_partial(rows, compiled, k, encodings)

        return Work(work, (statistics.zero, [CheckPartial() for _ in compiled]),
                    lambda a, b: (statistics.merge(a[0], b[0]), merge_checks(a[1], b[1], k)))

    def kept_columns(self) -> dict[int, int | None]:
        """The columns whose value hashes the statistics pass keeps for `unique` checks (it computes them anyway),
        each with its checks' first sample column when that one is of integers (kept beside hashes kept as they
        are: see `key_bound`)."""
        return self.kept

    def statistics_done(self, partials: list[CheckPartial], columns: list[ColumnPartial]) -> None:
        self.partials = partials
        for i, c in enumerate(self.compiled):
            if c.hashes:
                kept, prefix = columns[c.column].kept or [], partials[i].prefix
                self.repeated[i] = repeated = duplicates(kept)
                self.bounds[i] = None
                if not len(repeated[0]) or not c.sample:
                    continue
                # The sample may be known already, then needing no values pass: from the keys kept with the hashes
                # when it is the key alone, else from the shares' smallest keys, bounded by those alone.
                found = keys_only_sample(kept, repeated[0], self.k, self.schema.field(c.sample[0])) \
                    if len(c.sample) == 1 and c.sample[0] == self.kept.get(c.column) else None
                if found is None and prefix is not None:
                    found = prefix.sample(repeated[0], key_bound([], repeated[0], self.k, prefix), self.k)
                if found is None:
                    self.bounds[i] = key_bound(kept, repeated[0], self.k, prefix)
                else:
                    self.duplicate_keys[i] = found

    def values_work(self) -> Work | None:
        """The keys of rows holding a duplicated value, in the values pass; None when no value repeats."""
        lookups = [(i, self.compiled[i], found[0], self.bounds[i]) for i, found in self.repeated.items()
                   if len(found[0]) and self.compiled[i].sample and i not in self.duplicate_keys]
        if not lookups:
            return None
        k = self.k
        reads = frozenset(c for _, check, _, _ in lookups for c in (check.column, *check.sample))
        return Work(lambda rows, share: duplicate_keys(rows, lookups, k), {i: None for i, *_ in lookups},
                    lambda a, b: {i: merge_keys(a[i], b[i], k) for i in a}, reads)

    def values_done(self, keys: dict[int, pa.Table | None] | None) -> None:
        self.duplicate_keys.update(keys or {})

    def results(self, profile: TableProfile) -> tuple[CheckResult, ...]:
        return tuple(self._result(i, spec, profile) for i, spec in enumerate(self.checks.checks))

    def _result(self, i: int, spec: CheckSpec, profile: TableProfile) -> CheckResult:
        check = self.compiled[i]
        if check.error is not None:
            return CheckResult(spec.id, "error", message=check.error)
        if spec.kind == "row_count":
            return _row_count(spec, profile.row_count)
        if spec.kind == "row_count_change":
            return _row_count_change(spec, profile.row_count, self.checks.previous_row_count)
        partial = self.partials[i]
        column = profile.column(spec.column)
        keys = self.duplicate_keys.get(i) if spec.kind == "unique" else partial.keys
        if spec.kind == "not_null":
            failing = observed = column.null_count  # the profile counted them exactly
            what = f"{failing} null values"
        elif spec.kind == "unique":
            _, failing, observed = self.repeated[i]
            what = f"{observed} duplicate values, on {failing} rows"
        else:
            failing = observed = partial.failing
            what = f"{failing} failing rows"
            if spec.kind == "range":
                observed = {"failing": failing, "min": column.min, "max": column.max}
                what = f"{failing} values outside {_bounds(spec.params)}"
            elif spec.kind == "length":
                observed = {"failing": failing, "min_length": column.min_length, "max_length": column.max_length}
                what = f"{failing} values with a length outside {_bounds(spec.params)}"
        sample = tuple(keys.to_pylist()) if keys is not None else ()
        return CheckResult(spec.id, "passed" if failing == 0 else "failed", observed, failing, sample,
                           f"{what} (of {profile.row_count} rows)")


def _bounds(params: Any) -> str:
    low, high = params.get("min"), params.get("max")
    return f"[{'-inf' if low is None else low}, {'inf' if high is None else high}]"


def _row_count(spec: CheckSpec, rows: int) -> CheckResult:
    low, high = spec.params.get("min"), spec.params.get("max")
    ok = (low is None or rows >= low) and (high is None or rows <= high)
    return CheckResult(spec.id, "passed" if ok else "failed", rows, None, (),
                       f"{rows} rows (within {_bounds(spec.params)})" if ok
                       else f"{rows} rows, outside {_bounds(spec.params)}")


def _row_count_change(spec: CheckSpec, rows: int, previous: int | None) -> CheckResult:
    if previous is None:
        return CheckResult(spec.id, "passed", None, None, (), f"{rows} rows; no previous run to compare with")
    up, down = spec.params.get("max_increase_pct"), spec.params.get("max_decrease_pct")
    if previous == 0:
        change = 0.0 if rows == 0 else None  # from nothing: an unbounded increase
    else:
        change = round((rows - previous) * 100 / previous, 6)
    grew = rows > previous and up is not None and (change is None or change > up)
    shrank = rows < previous and down is not None and -change > down  # type: ignore[operator]
    shown = "+inf" if change is None else f"{change:+g}"
    return CheckResult(spec.id, "failed" if grew or shrank else "passed", change, None, (),
                       f"{previous} -> {rows} rows ({shown} %; at most +{up if up is not None else 'inf'} %, "
                       f"-{down if down is not None else '100'} %)")
