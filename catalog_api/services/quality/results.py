"""Results of quality rules: one row per rule and evaluation run, and the history of each rule (a table's
health, which reads them, is `health`).

An evaluator (the `quality` job, the profile pass) hands `record_results` the outcome of each rule of one table in one
run: `passed`, `failed` or `error`, the observed value, the failing-row count and up to `MAX_SAMPLE_KEYS` sample keys
of failing rows (each a mapping of key column to value). In the same transaction it publishes
`catalog.quality.failed` when a rule starts failing (its previous result was not a failure, or it had none) and
`catalog.quality.recovered` when a failing rule passes again; a rule that keeps failing raises no new event.

Sample keys and observed values are values of the table: a caller without `pii:read` gets those of columns tagged
`pii.*` as null, named in the view's `masked` (events are always built that way: they carry no caller).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalog_api.db.models import Table, utcnow
from catalog_api.db.quality import QualityResult, QualityRule
from catalog_api.errors import InvalidInput
from catalog_api.security.identity import current_identity
from catalog_api.services.browse import entity_by_urn
from catalog_api.services.context import ServiceContext
from catalog_api.services.events.outbox import record_event
from catalog_api.services.profiling.masking import pii_column_names
from catalog_api.services.quality.rules import rule_and_table
from catalog_api.services.text import free_text
from catalog_api.urns import EntityType
from events.data import QualityFailed, QualityRecovered

MAX_SAMPLE_KEYS = 10
MAX_RESULTS = 1000
MAX_MESSAGE = 2000
VALUE_KINDS = frozenset({"range", "accepted_values", "regex", "type_conformance", "freshness"})
"""Kinds whose observed value is a value of their column (a minimum, an unexpected value, the newest timestamp)."""

Outcome = Literal["passed", "failed", "error"]


@dataclass(frozen=True, slots=True)
class RuleOutcome:
    """What an evaluator found for one rule in one run."""

    rule_id: int
    outcome: Outcome
    observed: Any = None
    failing_rows: int | None = None
    sample_keys: Sequence[dict[str, Any]] = ()
    message: str | None = None


@dataclass(frozen=True, slots=True)
class QualityResultView:
    """One rule's outcome in one run; `masked` names what was withheld (`observed`, `sample_keys.<column>`)."""

    id: int
    rule_id: int
    rule_name: str
    rule_version: int
    table_urn: str
    run_id: str
    evaluated_at: datetime
    outcome: str
    observed: Any
    failing_rows: int | None
    sample_keys: list[dict[str, Any]]
    message: str | None
    masked: list[str] = field(default_factory=list)


def failing_rows_outcome(rule_id: int, allowed: int, count: int, columns: Sequence[str],
                         rows: Sequence[Sequence[Any]]) -> RuleOutcome:
    """The outcome of a custom-SQL rule whose query returned `count` failing rows, the first ones `rows`."""
    keys = [{name: json_value(value) for name, value in zip(columns, row, strict=True)}
            for row in rows[:MAX_SAMPLE_KEYS]]
    return RuleOutcome(rule_id, "passed" if count <= allowed else "failed", observed=count, failing_rows=count,
                       sample_keys=keys, message=f"{count} failing rows (at most {allowed})")


def json_value(value: Any) -> Any:
    """A sample value as the results store (JSON) holds it: decimals as numbers, times as ISO 8601, bytes as hex."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    return str(value)


def record_results(ctx: ServiceContext, table_urn: str, run_id: str,
                   outcomes: Sequence[RuleOutcome]) -> list[QualityResultView]:
    """Stores one run's outcomes of a table's rules, with the failed/recovered events they cause."""
    free_text("run_id", run_id, max_length=64, noun="a run id")
    with ctx.db.session() as session:
        table = entity_by_urn(session, table_urn, field="table", expected=EntityType.DATASET)
        rules = {r.id: r for r in session.scalars(select(QualityRule).where(QualityRule.table_id == table.id))}
        previous = _latest(session, list(rules))
        now, rows = utcnow(), []
        for index, found in enumerate(outcomes):
            rule = rules.get(found.rule_id)
            if rule is None:
                raise InvalidInput(f"outcomes.{index}.rule_id", f"{table_urn} has no rule {found.rule_id}")
            row = QualityResult(rule_id=rule.id, table_id=table.id, rule_version=rule.version, run_id=run_id,
                                evaluated_at=now, outcome=found.outcome, observed=found.observed,
                                failing_rows=found.failing_rows, sample_keys=list(found.sample_keys)[:MAX_SAMPLE_KEYS],
                                message=free_text(f"outcomes.{index}.message", found.message,
                                                  max_length=MAX_MESSAGE, noun="a message"))
            session.add(row)
            rows.append((rule, row))
        session.flush()
        hidden = pii_column_names(session, table.id)
        for rule, row in rows:
            _publish(session, table, rule, row, previous.get(rule.id), hidden)
        reveal = current_identity().reveals_pii
        return [_view(row, rule, table.urn, set() if reveal else hidden) for rule, row in rows]


def rule_results(session: Session, rule_id: int, *, limit: int = 100) -> list[QualityResultView]:
    """A rule's results, newest first."""
    _check_limit(limit)
    rule, table = rule_and_table(session, rule_id)
    rows = session.scalars(select(QualityResult).where(QualityResult.rule_id == rule_id)
                           .order_by(QualityResult.id.desc()).limit(limit))
    hidden = _hidden(session, table)
    return [_view(row, rule, table.urn, hidden) for row in rows]


def latest_results(session: Session, table_urn: str) -> list[QualityResultView]:
    """The newest result of each of a table's rules, by rule name (a rule never evaluated has none), in a fixed
    number of queries however many rules: what a table's page shows next to each rule."""
    table = entity_by_urn(session, table_urn, field="table", expected=EntityType.DATASET)
    rules = {rule.id: rule for rule in session.scalars(select(QualityRule).where(QualityRule.table_id == table.id))}
    latest = _latest(session, list(rules))
    hidden = _hidden(session, table)
    return [_view(latest[rule.id], rule, table.urn, hidden)
            for rule in sorted(rules.values(), key=lambda rule: rule.name) if rule.id in latest]


def _latest(session: Session, rule_ids: list[int]) -> dict[int, QualityResult]:
    """Each rule's newest result (one query)."""
    if not rule_ids:
        return {}
    newest = (select(func.max(QualityResult.id)).where(QualityResult.rule_id.in_(rule_ids))
              .group_by(QualityResult.rule_id))
    return {row.rule_id: row for row in session.scalars(select(QualityResult).where(QualityResult.id.in_(newest)))}


def _publish(session: Session, table: Table, rule: QualityRule, row: QualityResult, before: QualityResult | None,
             hidden: set[str]) -> None:
    """The failed/recovered event of `row`, as a caller without `pii:read` would see it (events carry no caller)."""
    was_failing = before is not None and before.outcome == "failed"
    common = {"rule": rule.name, "kind": rule.kind, "column": rule.column, "severity": rule.severity,
              "run_id": row.run_id}
    if row.outcome == "failed" and not was_failing:
        if _masks_observed(rule, hidden):  # the observed value and a message quoting it are the column's values
            observed, message = None, f"{rule.kind} of {rule.column}: the figures are withheld (tagged pii.*)"
        else:
            observed, message = _number(row.observed), row.message
        record_event(session, QualityFailed(**common, observed=observed, failing_rows=row.failing_rows,
                                            message=message), table.urn)
    elif row.outcome == "passed" and was_failing:
        record_event(session, QualityRecovered(**common, failed_since=before.evaluated_at), table.urn)


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _masks_observed(rule: QualityRule, hidden: set[str]) -> bool:
    return rule.column in hidden and rule.kind in VALUE_KINDS


def _hidden(session: Session, table: Table) -> set[str]:
    return set() if current_identity().reveals_pii else pii_column_names(session, table.id)


def _view(row: QualityResult, rule: QualityRule, table_urn: str, hidden: set[str]) -> QualityResultView:
    masked: list[str] = []
    observed, keys = row.observed, list(row.sample_keys or [])
    if _masks_observed(rule, hidden) and observed is not None:
        observed = None
        masked.append("observed")
    withheld = sorted({name for key in keys for name in key if name in hidden})
    if withheld:
        keys = [{name: None if name in hidden else value for name, value in key.items()} for key in keys]
        masked.extend(f"sample_keys.{name}" for name in withheld)
    return QualityResultView(id=row.id, rule_id=rule.id, rule_name=rule.name, rule_version=row.rule_version,
                             table_urn=table_urn, run_id=row.run_id, evaluated_at=row.evaluated_at,
                             outcome=row.outcome, observed=observed, failing_rows=row.failing_rows, sample_keys=keys,
                             message=row.message, masked=masked)


def _check_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_RESULTS:
        raise InvalidInput("limit", f"between 1 and {MAX_RESULTS}")
