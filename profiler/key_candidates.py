"""Which keys are worth verifying, and the verdicts: the part of `profiler.keys` that reads profiles, not data.

The Spark checks (`profiler.keys`) and the in-process ones (`profiler.keys_in_process`) verify the same candidates
and turn their counts into the same `CandidateKey` and `CandidateForeignKey` values.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from profiler.errors import InvalidProfileInput
from profiler.model import CandidateForeignKey, CandidateKey, ColumnKind, ColumnProfile, TableProfile

KEY_KINDS = frozenset({ColumnKind.INTEGER, ColumnKind.DECIMAL, ColumnKind.STRING, ColumnKind.DATE,
                       ColumnKind.TIMESTAMP})
"""Kinds that can hold identifiers; floats, booleans, binaries and nested values never do."""

FK_KINDS = frozenset({ColumnKind.INTEGER, ColumnKind.DECIMAL, ColumnKind.STRING})


def _looks_unique(column: ColumnProfile, row_count: int, slack: float) -> bool:
    if column.kind not in KEY_KINDS or column.null_count or not row_count or column.distinct_count is None:
        return False
    if column.distinct_exact:
        return column.distinct_count == row_count
    return column.distinct_count >= row_count * (1 - slack)


def primary_key_candidates(columns: Sequence[str], profile: TableProfile, declared: Sequence[Sequence[str]],
                           estimate_slack: float) -> tuple[list[tuple[str, ...]], list[tuple[str, ...]]]:
    """The keys to check (declared first, then single columns the profile suggests) and the declared ones, of a
    table whose columns are `columns`."""
    if not 0 <= estimate_slack < 1:
        raise InvalidProfileInput("estimate_slack must be in [0, 1)", field="estimate_slack")
    suggested = [(c.name,) for c in profile.columns if _looks_unique(c, profile.row_count, estimate_slack)]
    declared_keys = [tuple(key) for key in declared]
    for key in declared_keys:
        if not key:
            raise InvalidProfileInput("declared keys need at least one column", field="declared")
        missing = [c for c in key if c not in columns]
        if missing:
            raise InvalidProfileInput(f"declared: no column named {missing[0]!r}", field="declared")
    return list(dict.fromkeys(declared_keys + suggested)), declared_keys


def key_verdicts(keys: Sequence[tuple[str, ...]], declared_keys: Sequence[tuple[str, ...]], rows: int,
                 counts: Sequence[tuple[int, int]]) -> list[CandidateKey]:
    """Verified keys and every declared one, from each key's (distinct non-null values, rows with a null part)."""
    result: list[CandidateKey] = []
    for key, (distinct, nulls) in zip(keys, counts, strict=True):
        verified = rows > 0 and nulls == 0 and distinct == rows
        is_declared = key in declared_keys
        if verified or is_declared:
            result.append(CandidateKey(key, verified, is_declared, rows, distinct, nulls))
    return result


@dataclass(frozen=True, slots=True)
class KeyPair:
    """A (child column, parent key) pair whose containment the data must decide."""

    child_table: str
    child: ColumnProfile
    parent_table: str
    parent: ColumnProfile


def _comparable(value: Any) -> Any:
    return float(value) if isinstance(value, Decimal) else value


def _contained_range(child: ColumnProfile, parent: ColumnProfile) -> bool:
    if None in (child.min, child.max, parent.min, parent.max):
        return False
    try:
        return (_comparable(parent.min) <= _comparable(child.min)
                and _comparable(child.max) <= _comparable(parent.max))
    except TypeError:
        return False


def _compatible(child: ColumnProfile, parent: ColumnProfile) -> bool:
    if child.kind not in FK_KINDS or parent.kind not in FK_KINDS:
        return False
    numeric = {ColumnKind.INTEGER, ColumnKind.DECIMAL}
    return child.kind == parent.kind or (child.kind in numeric and parent.kind in numeric)


def check_same_tables(tables: Iterable[str], profiles: Mapping[str, TableProfile]) -> None:
    missing = set(tables) ^ set(profiles)
    if missing:
        raise InvalidProfileInput(f"tables and profiles must name the same tables; {sorted(missing)[0]!r} is in "
                                  "only one", field="tables")


def foreign_key_pairs(profiles: Mapping[str, TableProfile], parent_keys: Mapping[str, Sequence[CandidateKey]], *,
                      min_child_distinct: int, estimate_slack: float) -> list[KeyPair]:
    """The pairs the profiles allow: a verified single-column parent key, a child of compatible kind with at least
    `min_child_distinct` and no more distinct values than the parent, and min/max inside the parent's."""
    parents: list[tuple[str, ColumnProfile]] = []
    for table, profile in profiles.items():
        for column in profile.columns:
            keyed = any(k.verified and k.columns == (column.name,) for k in parent_keys.get(table, ()))
            if keyed and column.kind in FK_KINDS:
                parents.append((table, column))

    pairs: list[KeyPair] = []
    for parent_table, parent in parents:
        for child_table, profile in profiles.items():
            for child in profile.columns:
                if child_table == parent_table and child.name == parent.name:
                    continue
                if not _compatible(child, parent) or child.distinct_count is None or parent.distinct_count is None:
                    continue
                if child.distinct_count < min_child_distinct:
                    continue
                limit = parent.distinct_count * (1 + (0 if parent.distinct_exact else estimate_slack))
                if child.distinct_count > limit or not _contained_range(child, parent):
                    continue
                pairs.append(KeyPair(child_table, child, parent_table, parent))
    return pairs


def foreign_key_verdicts(pairs: Sequence[KeyPair], counts: Sequence[tuple[int, int]], *,
                         include_rejected: bool) -> list[CandidateForeignKey]:
    """Confirmed pairs (and the rejected ones if asked), from each pair's (orphan values, child distinct values)."""
    result: list[CandidateForeignKey] = []
    for pair, (orphans, distinct) in zip(pairs, counts, strict=True):
        if orphans == 0 or include_rejected:
            result.append(CandidateForeignKey(
                child_table=pair.child_table, child_columns=(pair.child.name,), parent_table=pair.parent_table,
                parent_columns=(pair.parent.name,), confirmed=orphans == 0, child_distinct=distinct,
                orphan_values=orphans))
    return result
