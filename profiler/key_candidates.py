"""Which keys are worth verifying, and the verdicts: the part of `profiler.keys` that reads profiles, not data.

The Spark checks (`profiler.keys`) and the in-process ones (`profiler.keys_in_process`) verify the same candidates
and turn their counts into the same `CandidateKey` and `CandidateForeignKey` values.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np

from profiler.errors import InvalidProfileInput
from profiler.key_names import key_named, name_evidence, words
from profiler.model import CandidateForeignKey, CandidateKey, ColumnKind, ColumnProfile, TableProfile

MAX_KEY_LENGTH = 64
"""Longest string a key-like column holds: codes and identifiers are short, free text is not."""

_TEMPORAL_TYPES = frozenset({"iso_date", "iso_time", "iso_datetime"})


def key_like(column: ColumnProfile) -> bool:
    """Whether a column's type and values can hold identifiers: integers, decimals without a fraction, and short
    strings without whitespace that are not dates or times (codes, UUIDs). Floats, booleans, binaries, dates,
    timestamps, nested values and free text never identify rows."""
    if column.kind is ColumnKind.INTEGER:
        return True
    if column.kind is ColumnKind.DECIMAL:
        return column.data_type.replace(" ", "").endswith(",0)")
    if column.kind is not ColumnKind.STRING or column.max_length is None or column.max_length > MAX_KEY_LENGTH:
        return False
    if any(" " in p.pattern for p in column.patterns):
        return False
    return not any(t.name in _TEMPORAL_TYPES for t in column.semantic_types)


def _looks_unique(column: ColumnProfile, row_count: int, slack: float) -> bool:
    if column.null_count or not row_count or column.distinct_count is None:
        return False
    if column.distinct_exact:
        return column.distinct_count == row_count
    return column.distinct_count >= row_count * (1 - slack)


def primary_key_candidates(columns: Sequence[str], profile: TableProfile, declared: Sequence[Sequence[str]],
                           estimate_slack: float) -> tuple[list[tuple[str, ...]], list[tuple[str, ...]]]:
    """The keys to check (declared first, then single columns the profile suggests) and the declared ones, of a
    table whose columns are `columns`.

    A column is suggested when the profile finds it unique and non-null, its type is key-like (`key_like`), and
    either its name says key (`id`, `*_id`, `*_key`, `*_code`, `*_no`...: `profiler.key_names.key_named`) or the
    table declares no key at all. So a table with a declared key gets no `created_at`, `name` or `email` proposed
    merely because their values happen to be unique.
    """
    if not 0 <= estimate_slack < 1:
        raise InvalidProfileInput("estimate_slack must be in [0, 1)", field="estimate_slack")
    declared_keys = [tuple(key) for key in declared]
    suggested = [(c.name,) for c in profile.columns
                 if key_like(c) and (key_named(c.name) or not declared_keys)
                 and _looks_unique(c, profile.row_count, estimate_slack)]
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
    """A (child column, parent key) pair whose containment the data must decide, with how strongly the child's
    name points at the parent (`profiler.key_names.name_evidence`)."""

    child_table: str
    child: ColumnProfile
    parent_table: str
    parent: ColumnProfile
    evidence: int


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
    """Kinds a child of a key-like parent can have: the parent's, or another numeric kind for a numeric one."""
    numeric = {ColumnKind.INTEGER, ColumnKind.DECIMAL}
    return child.kind == parent.kind or (child.kind in numeric and parent.kind in numeric)


def contained_in_sketch(child: ColumnProfile, parent: ColumnProfile) -> bool:
    """False when the bottom-k sketches prove a child value missing from the parent, True when they cannot.

    Every parent value whose hash is at most the largest hash the parent's sketch keeps is in that sketch, so a
    child hash in that range and not in the parent's sketch is a value the parent does not have. Values hash
    alike only within one kind (integers by their bits, decimals by theirs, strings by their bytes), so children
    of another kind than their parent are left to the exact check.
    """
    if child.kind != parent.kind or child.distinct_sketch is None or parent.distinct_sketch is None:
        return True
    child_hashes = np.frombuffer(child.distinct_sketch, "<u8")
    parent_hashes = np.frombuffer(parent.distinct_sketch, "<u8")
    if not len(parent_hashes):
        return not len(child_hashes)
    comparable = child_hashes[child_hashes <= parent_hashes[-1]]
    return bool(np.isin(comparable, parent_hashes, assume_unique=True).all())


def check_same_tables(tables: Iterable[str], profiles: Mapping[str, TableProfile]) -> None:
    missing = set(tables) ^ set(profiles)
    if missing:
        raise InvalidProfileInput(f"tables and profiles must name the same tables; {sorted(missing)[0]!r} is in "
                                  "only one", field="tables")


def foreign_key_pairs(profiles: Mapping[str, TableProfile], parent_keys: Mapping[str, Sequence[CandidateKey]], *,
                      min_child_distinct: int, estimate_slack: float,
                      names: Mapping[str, str] | None = None) -> list[KeyPair]:
    """The pairs worth an exact check, from the profiles alone, cheapest test first:

    1. the parent is a verified single-column key (declared or suggested) of a key-like type (`key_like`);
    2. the child has a compatible key-like type, and its name points at the parent's table and key
       (`name_evidence`): value containment alone cannot tell a foreign key from a quantity, a year or a line
       number that happens to fall inside an id range, nor one table's surrogate keys 1..n from another's;
    3. the child has at least `min_child_distinct` and no more distinct values than the parent, and its min/max
       lie inside the parent's;
    4. the child's bottom-k sketch shows no value missing from the parent (`contained_in_sketch`).

    `names` gives each table's own name where the mappings' keys are not names (URNs, paths).
    """
    names = names or {}
    parents: list[tuple[str, ColumnProfile]] = []
    for table, profile in profiles.items():
        for column in profile.columns:
            keyed = any(k.verified and k.columns == (column.name,) for k in parent_keys.get(table, ()))
            if keyed and key_like(column):
                parents.append((table, column))

    # Every name form ends with the parent key's words: index the children by their last word.
    children: dict[str, list[tuple[str, ColumnProfile]]] = {}
    for table, profile in profiles.items():
        for column in profile.columns:
            found = words(column.name)
            if found and key_like(column):
                children.setdefault(found[-1], []).append((table, column))
    pairs: list[KeyPair] = []
    for parent_table, parent in parents:
        key_words = words(parent.name)
        for child_table, child in children.get(key_words[-1], []) if key_words else ():
            if child_table == parent_table and child.name == parent.name:
                continue
            if not _compatible(child, parent):
                continue
            evidence = name_evidence(child.name, names.get(parent_table, parent_table), parent.name,
                                     same_table=child_table == parent_table)
            if not evidence or child.distinct_count is None or parent.distinct_count is None:
                continue
            if child.distinct_count < min_child_distinct:
                continue
            limit = parent.distinct_count * (1 + (0 if parent.distinct_exact else estimate_slack))
            if child.distinct_count > limit or not _contained_range(child, parent):
                continue
            if contained_in_sketch(child, parent):
                pairs.append(KeyPair(child_table, child, parent_table, parent, evidence))
    return pairs


def pairs_to_check(tables: Mapping[str, Any], profiles: Mapping[str, TableProfile],
                   parent_keys: Mapping[str, Sequence[CandidateKey]] | None,
                   primary_keys: Callable[..., list[CandidateKey]], *, min_child_distinct: int,
                   estimate_slack: float, names: Mapping[str, str] | None) -> list[KeyPair]:
    """What both engines do before their exact check: the same tables on both sides, the parents' keys
    (`primary_keys`, the engine's own `candidate_primary_keys`, on every table unless `parent_keys` gives them) and
    the pairs the profiles leave (`foreign_key_pairs`)."""
    check_same_tables(tables, profiles)
    if parent_keys is None:
        parent_keys = {name: primary_keys(tables[name], profile, estimate_slack=estimate_slack)
                       for name, profile in profiles.items()}
    return foreign_key_pairs(profiles, parent_keys, min_child_distinct=min_child_distinct,
                             estimate_slack=estimate_slack, names=names)


def foreign_key_verdicts(pairs: Sequence[KeyPair], counts: Sequence[tuple[int, int]], *,
                         include_rejected: bool) -> list[CandidateForeignKey]:
    """Confirmed pairs (and the rejected ones if asked), from each pair's (orphan values, child distinct values).

    Where one child column is contained in several parents, the data cannot choose, so the names and the other
    keys do: a parent that is itself a confirmed child of another of the child's parents gives way to that one
    (`invoice_lines.order_id` references `sales_orders.id`, not `invoices.order_id`, itself a reference to
    `sales_orders.id`), and among the rest only those the child's name points at most strongly stay.
    """
    contained = [pair for pair, (orphans, _) in zip(pairs, counts, strict=True) if orphans == 0]
    links = {(p.child_table, p.child.name, p.parent_table, p.parent.name) for p in contained}
    by_child: dict[tuple[str, str], list[KeyPair]] = {}
    for pair in contained:
        by_child.setdefault((pair.child_table, pair.child.name), []).append(pair)
    kept: set[int] = set()
    for found in by_child.values():
        roots = [p for p in found if not any((p.parent_table, p.parent.name, q.parent_table, q.parent.name) in links
                                             for q in found if q is not p)] or found  # or a cycle
        best = max(p.evidence for p in roots)
        kept.update(id(p) for p in roots if p.evidence == best)

    result: list[CandidateForeignKey] = []
    for pair, (orphans, distinct) in zip(pairs, counts, strict=True):
        if id(pair) in kept or (orphans and include_rejected):
            result.append(CandidateForeignKey(
                child_table=pair.child_table, child_columns=(pair.child.name,), parent_table=pair.parent_table,
                parent_columns=(pair.parent.name,), confirmed=orphans == 0, child_distinct=distinct,
                orphan_values=orphans))
    return result
