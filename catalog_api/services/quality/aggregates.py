"""Aggregate rules, evaluated in the profile pass: not null, unique, accepted values, range, regex, length, type
conformance, row count and row count change.

A profile reads every row of its table anyway, so these rules ride on its two passes (`profiler.checks`): the
profile job asks `PROFILE_RULES` for each table's checks before reading it, hands them to the profiler with the
table (in-process or on Spark, the same partial statistics), and records the results with the table's profile.
Nothing here scans a table. The composition root wires `PROFILE_RULES` into the profile job
(`catalog_api.bootstrap`), since the profiling service does not import the quality service.

Each rule becomes a neutral `CheckSpec` carrying the rule's id; the table's primary key names failing rows, and a
`row_count_change` rule compares with the row count of the table's previous profile. A run's results are stored
through `record_results` under the profile job's id: PII masking and the failed/recovered events are the same as
for every rule.

A `quality` job run on request (`catalog rule run`, `POST /api/v1/quality/run`, `runQualityRules`) evaluates the
light rules itself and queues a profile of the requested tables that hold aggregate rules (`queue_profile`): the
one scan that evaluates them is the profile's, never a scan of their own.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from catalog_api.db.models import Table, TableProfileRow
from catalog_api.db.quality import QualityRule
from catalog_api.services.context import ServiceContext
from catalog_api.services.profiling.jobs import request_profile
from catalog_api.services.quality.results import MAX_SAMPLE_KEYS, RuleOutcome, record_results
from profiler.checks import CHECK_KINDS, CheckSpec, TableChecks
from profiler.model import TableProfile, to_json_value

AGGREGATE_KINDS = CHECK_KINDS
"""The kinds the profile pass evaluates."""


class AggregateRules:
    """What a profile job evaluates with each table's profile: the checks of the tables' aggregate rules, and where
    their results go."""

    def checks(self, ctx: ServiceContext, table_ids: Iterable[int]) -> dict[int, TableChecks]:
        """The checks of each table (by id) that has aggregate rules, read in one session."""
        wanted = list(table_ids)
        if not wanted:
            return {}
        with ctx.db.session() as session:
            rules = session.scalars(select(QualityRule).where(QualityRule.table_id.in_(wanted),
                                                              QualityRule.kind.in_(AGGREGATE_KINDS))
                                    .order_by(QualityRule.table_id, QualityRule.name)).all()
            tables = {t.id: t for t in session.scalars(select(Table).where(Table.id.in_({r.table_id for r in rules})))}
            latest = (select(TableProfileRow.table_id, func.max(TableProfileRow.id).label("id"))
                      .where(TableProfileRow.table_id.in_(list(tables))).group_by(TableProfileRow.table_id)
                      .subquery())
            previous = dict(session.execute(select(TableProfileRow.table_id, TableProfileRow.row_count)
                                            .join(latest, latest.c.id == TableProfileRow.id)).all())
            specs: dict[int, list[CheckSpec]] = {}
            for rule in rules:
                specs.setdefault(rule.table_id, []).append(CheckSpec(rule.id, rule.kind, rule.column,
                                                                     dict(rule.params)))
            return {table_id: TableChecks(tuple(found), key=_key(tables[table_id]),
                                          previous_row_count=previous.get(table_id),
                                          max_sample_keys=MAX_SAMPLE_KEYS)
                    for table_id, found in specs.items()}

    def record(self, ctx: ServiceContext, table_urn: str, run_id: str, profile: TableProfile) -> dict[str, int]:
        """Stores the results of a table's checks in `profile`; answers how many passed, failed and erred. A rule
        removed while its table was being profiled has no result."""
        with ctx.db.session() as session:
            live = set(session.scalars(select(QualityRule.id).join(Table, Table.id == QualityRule.table_id)
                                       .where(Table.urn == table_urn)))
        outcomes = [RuleOutcome(r.id, r.outcome, observed=_json(r.observed), failing_rows=r.failing_rows,
                                sample_keys=[{name: _json(v) for name, v in key.items()} for key in r.sample_keys],
                                message=r.message) for r in profile.checks if r.id in live]
        record_results(ctx, table_urn, run_id, outcomes)
        counts = {"passed": 0, "failed": 0, "error": 0}
        for outcome in outcomes:
            counts[outcome.outcome] += 1
        return counts


PROFILE_RULES = AggregateRules()


def _key(table: Table) -> tuple[str, ...]:
    return tuple((table.primary_key or {}).get("columns") or ())


def _json(value: Any) -> Any:
    """A value of the table as results store it: decimals as numbers, like custom SQL's samples."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict):
        return {name: _json(v) for name, v in value.items()}
    return to_json_value(value)


def queue_profile(ctx: ServiceContext, source_id: int, table_urns: Iterable[str]) -> str | None:
    """Queues a profile of the source's tables in `table_urns` (all of them when empty) that hold aggregate rules,
    or finds the source's active one; answers its job id, None when no table has such a rule."""
    wanted = set(table_urns)
    with ctx.db.session() as session:
        urns = sorted(set(session.scalars(
            select(Table.urn).join(QualityRule, QualityRule.table_id == Table.id)
            .where(Table.source_id == source_id, Table.deleted_at.is_(None),
                   QualityRule.kind.in_(AGGREGATE_KINDS)))))
    urns = [urn for urn in urns if not wanted or urn in wanted]
    return request_profile(ctx, source_id, urns).id if urns else None
