"""The light half of evaluating rules: freshness and custom SQL, each a few cheap read-only queries of its own, run
as a `quality` job (on request, or queued by the scheduler for freshness between profiles).

Aggregate rules (not null, unique, range, …) are evaluated in the profile pass, which reads every row anyway: a job
run on request queues a profile of its tables that hold any (`aggregates.queue_profile`) and names it in its result
(`profile_job`). The rules here need no scan of their own:

* `freshness` with a column reads `max(column)` from the source; without one it reads the table's last successful
  extraction from the catalog. The rule fails when that is older than its `max_age` (or there is none).
* `custom_sql` (`run_against: source`) runs the rule's query wrapped twice, in one read-only transaction under the
  source's statement timeout: a count of its rows (the failing rows) and up to `MAX_SAMPLE_KEYS` of them.
* `custom_sql` (`run_against: lake`) runs the rule's Spark SQL over the tables' lake data on the profiler's Spark
  session, started on the job's first lake rule (`lake`).

A query the source refuses or cancels (the statement timeout) makes that rule's result an `error` naming the cause;
the job goes on with the other rules and succeeds. Results go through `record_results`, which publishes the
failed/recovered events and masks PII.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlglot
from sqlalchemy import exists, select
from sqlalchemy.orm import Session
from sqlglot import exp

from catalog_api.db.models import DataSource, ExtractionState, Schema, Table, utcnow
from catalog_api.db.quality import QualityResult, QualityRule
from catalog_api.services.context import ServiceContext
from catalog_api.services.jobs.running import JobControl, job_source
from catalog_api.services.quality.aggregates import queue_profile
from catalog_api.services.quality.kinds import FreshnessParams
from catalog_api.services.quality.lake import LakeQueries
from catalog_api.services.quality.results import MAX_SAMPLE_KEYS, RuleOutcome, failing_rows_outcome, record_results
from catalog_api.services.sources import build_connector, enqueue_source_job
from catalog_api.services.views import JobView
from crawlers.connector import Connector
from crawlers.errors import ConnectorError
from crawlers.lineage import DIALECTS

QUALITY = "quality"
LIGHT_KINDS = ("freshness", "custom_sql")
"""The kinds a quality job evaluates; the others belong to the profile pass."""


@dataclass(frozen=True, slots=True)
class _Check:
    """One rule to evaluate, read from the catalog before the source is queried."""

    rule_id: int
    kind: str
    column: str | None
    params: dict[str, Any]
    last_extracted_at: datetime | None


@dataclass(frozen=True, slots=True)
class _TableChecks:
    urn: str
    schema: str
    name: str
    checks: list[_Check]


def request_quality_run(ctx: ServiceContext, source_ref: int | str, table_urns: list[str] | None = None) -> JobView:
    """Queues a quality job for the source's freshness and custom-SQL rules (of `table_urns`, or of every table), or
    returns the one already queued or running."""
    return enqueue_source_job(ctx, QUALITY, source_ref, table_urns)


def run_quality_job(ctx: ServiceContext, job: JobControl) -> dict[str, Any]:
    with ctx.db.session() as session:
        record, source = job_source(session, job.job_id)
        params = record.params or {}
        tables = _rules_to_check(session, source, set(params.get("tables") or []),
                                 tuple(params.get("kinds") or LIGHT_KINDS))
        connector = build_connector(ctx, session, source) if _reads_source(tables) else None
        dialect = DIALECTS.get(source.kind)
        lake_queries = LakeQueries(ctx, source.id, source.name)
        source_id = source.id
    counts = {"passed": 0, "failed": 0, "error": 0}
    with lake_queries:
        for index, table in enumerate(tables):
            job.progress(index, len(tables), f"checking {table.schema}.{table.name}")
            outcomes = [lake_queries.evaluate(check.rule_id, table.schema, check.params) if _on_lake(check)
                        else _evaluate(connector, dialect, table, check) for check in table.checks]
            record_results(ctx, table.urn, job.job_id, outcomes)
            for outcome in outcomes:
                counts[outcome.outcome] += 1
    job.progress(len(tables), len(tables), "done")
    profile_job = None if "kinds" in params else queue_profile(ctx, source_id, params.get("tables") or [])
    return {"tables": len(tables), **counts, **({"profile_job": profile_job} if profile_job else {})}


def _rules_to_check(session: Session, source: DataSource, wanted: set[str], kinds: tuple[str, ...]
                    ) -> list[_TableChecks]:
    query = (select(QualityRule, Table, Schema.name, ExtractionState.last_extracted_at)
             .join(Table, Table.id == QualityRule.table_id).join(Schema, Schema.id == Table.schema_id)
             .outerjoin(ExtractionState, ExtractionState.table_id == Table.id)
             .where(Table.source_id == source.id, Table.deleted_at.is_(None), QualityRule.kind.in_(kinds))
             .order_by(Schema.name, Table.name, QualityRule.name))
    found: dict[str, _TableChecks] = {}
    for rule, table, schema, extracted in session.execute(query).all():
        if wanted and table.urn not in wanted:
            continue
        entry = found.setdefault(table.urn, _TableChecks(table.urn, schema, table.name, []))
        entry.checks.append(_Check(rule.id, rule.kind, rule.column, dict(rule.params), extracted))
    return list(found.values())


def _on_lake(check: _Check) -> bool:
    return check.kind == "custom_sql" and check.params.get("run_against") == "lake"


def _reads_source(tables: list[_TableChecks]) -> bool:
    return any((c.kind == "custom_sql" and not _on_lake(c)) or c.column is not None for t in tables for c in t.checks)


def _evaluate(connector: Connector | None, dialect: str | None, table: _TableChecks, check: _Check) -> RuleOutcome:
    try:
        if check.kind == "freshness":
            return _freshness(connector, dialect, table, check)
        return _custom_sql(connector, dialect, check)
    except ConnectorError as error:  # the rule could not be evaluated; the job and the other rules go on
        return RuleOutcome(check.rule_id, "error", message=f"{error.message} ({error.field})" if error.field
                           else error.message)


def _freshness(connector: Connector | None, dialect: str | None, table: _TableChecks, check: _Check) -> RuleOutcome:
    max_age_s = FreshnessParams(kind="freshness", **check.params).max_age_s
    if check.column is None:
        newest, what = check.last_extracted_at, "the last successful extraction"
    else:
        column = exp.column(check.column, quoted=True)
        statement = exp.select(exp.Max(this=column)).from_(exp.table_(table.name, db=table.schema, quoted=True))
        newest, what = connector.read_query([statement.sql(dialect=dialect)])[0].rows[0][0], f"max({check.column})"
    if newest is None:
        return RuleOutcome(check.rule_id, "failed", message=f"{what}: none yet")
    newest = _as_utc(newest)
    age_s = (utcnow() - newest).total_seconds()
    outcome = "passed" if age_s <= max_age_s else "failed"
    return RuleOutcome(check.rule_id, outcome, observed=newest.isoformat(),
                       message=f"{what} is {_duration(age_s)} old (at most {check.params['max_age']})")


def _custom_sql(connector: Connector | None, dialect: str | None, check: _Check) -> RuleOutcome:
    failing = sqlglot.parse_one(check.params["sql"], read=dialect).subquery("failing")
    count = exp.select(exp.Count(this=exp.Star())).from_(failing)
    sample = exp.select("*").from_(failing).limit(MAX_SAMPLE_KEYS)
    counted, sampled = connector.read_query([count.sql(dialect=dialect), sample.sql(dialect=dialect)])
    return failing_rows_outcome(check.rule_id, int(check.params.get("max_failing_rows", 0)),
                                int(counted.rows[0][0]), sampled.columns, sampled.rows)


def _as_utc(value: Any) -> datetime:
    """A newest value as an aware UTC time: a naive timestamp is taken as UTC, a date as its midnight, text (SQLite
    keeps times as text) as ISO 8601."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise ConnectorError(f"the newest value, {value[:40]!r}, is not an ISO 8601 timestamp") from None
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, date):
        return datetime.combine(value, time(), tzinfo=UTC)
    raise ConnectorError(f"the newest value is a {type(value).__name__}, not a timestamp or a date")


def _duration(seconds: float) -> str:
    minutes = max(0, int(seconds // 60))
    days, hours, minutes = minutes // 1440, minutes % 1440 // 60, minutes % 60
    return " ".join(f"{n}{unit}" for n, unit in ((days, "d"), (hours, "h"), (minutes, "m")) if n) or "0m"


def due_freshness_sources(session: Session, interval_s: float, now: datetime) -> list[int]:
    """The sources with a freshness rule on a live table that has no result younger than `interval_s` at `now`."""
    recent = exists().where(QualityResult.rule_id == QualityRule.id,
                            QualityResult.evaluated_at > now - timedelta(seconds=interval_s))
    query = (select(Table.source_id).join(QualityRule, QualityRule.table_id == Table.id)
             .where(QualityRule.kind == "freshness", Table.deleted_at.is_(None), ~recent).distinct())
    return list(session.scalars(query))
