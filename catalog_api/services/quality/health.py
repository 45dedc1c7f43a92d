"""A table's health, on the table itself: its quality rules by their latest results, the open anomalies of its latest
profile, and its freshness (the latest freshness result, or the last extraction against the rule's `max_age`).

`table_healths(session, table_ids)` answers a whole page of tables in a fixed number of statements (rules, their
latest results, latest profiles, their anomalies by severity, extraction times), so GraphQL's DataLoader and REST
share it; `table_health` is one table by URN, `table_detail` a table's detail with its health.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, timedelta
from functools import cache

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from catalog_api.db.models import ExtractionState, ProfileAnomalyRow, Table, TableProfileRow, utcnow
from catalog_api.db.quality import QualityResult, QualityRule
from catalog_api.services.browse import MAX_BOUND_PARAMETERS, entity_by_urn
from catalog_api.services.browse import table_detail as browse_table_detail
from catalog_api.services.quality.kinds import FreshnessParams
from catalog_api.services.views import AnomalyHealthView, FreshnessHealthView, TableDetailView, TableHealthView
from catalog_api.urns import EntityType

_FRESHNESS_RANK = {"stale": 0, "error": 1, "not_evaluated": 2, "fresh": 3}
"""Which of a table's freshness rules speaks for it: the worst."""
_OUTCOME_FRESHNESS = {"passed": "fresh", "failed": "stale", "error": "error"}


def table_health(session: Session, table_urn: str) -> TableHealthView:
    """How a table stands: its rules by their latest results, its open anomalies, its freshness."""
    table = entity_by_urn(session, table_urn, field="table", expected=EntityType.DATASET)
    return table_healths(session, [table.id])[table.id]


def table_detail(session: Session, urn: str, *, include_deleted_columns: bool = False) -> TableDetailView:
    """A table's detail (`browse.table_detail`) with its health; a reported dataset has none."""
    view = browse_table_detail(session, urn, include_deleted_columns=include_deleted_columns)
    if view.origin != "crawled":
        return view
    return dataclasses.replace(view, quality_health=table_health(session, urn))


@cache
def _statements():
    """The statements of `table_healths`, built once (on first use, not at import) with an expanding `ids` parameter:
    building them is half the cost of a table's health (the table page's header asks for it on every load)."""
    ids = bindparam("ids", expanding=True)
    ranked = (select(TableProfileRow.id, TableProfileRow.table_id, TableProfileRow.started_at,
                     TableProfileRow.anomaly_count, func.row_number().over(
                         partition_by=TableProfileRow.table_id,
                         order_by=(TableProfileRow.started_at.desc(), TableProfileRow.id.desc())).label("n"))
              .where(TableProfileRow.table_id.in_(ids)).subquery())
    newest = select(func.max(QualityResult.id)).where(QualityResult.table_id.in_(ids)).group_by(QualityResult.rule_id)
    return {
        "urns": select(Table.id, Table.urn).where(Table.id.in_(ids)),
        "rules": select(QualityRule).where(QualityRule.table_id.in_(ids)).order_by(QualityRule.name),
        "latest": select(QualityResult).where(QualityResult.id.in_(newest)),
        "profiles": select(ranked.c.table_id, ranked.c.started_at, ranked.c.anomaly_count).where(ranked.c.n == 1),
        "critical": select(ProfileAnomalyRow.table_id, func.count()).where(
            ProfileAnomalyRow.table_profile_id.in_(select(ranked.c.id).where(ranked.c.n == 1)),
            ProfileAnomalyRow.severity == "critical").group_by(ProfileAnomalyRow.table_id),
        "extracted": select(ExtractionState.table_id, ExtractionState.last_extracted_at)
        .where(ExtractionState.table_id.in_(ids)),
    }


def table_healths(session: Session, table_ids: Sequence[int]) -> dict[int, TableHealthView]:
    """The health of each of these tables (crawled ones, by id), in a fixed number of statements."""
    ids = list(dict.fromkeys(table_ids))
    urns: dict[int, str] = {}
    rules: dict[int, list[QualityRule]] = {i: [] for i in ids}
    latest: dict[int, QualityResult] = {}
    profiles: dict[int, tuple] = {}
    critical: dict[int, int] = {}
    extracted: dict[int, object] = {}
    statements = _statements()
    for start in range(0, len(ids), MAX_BOUND_PARAMETERS):
        chunk = {"ids": ids[start:start + MAX_BOUND_PARAMETERS]}
        urns.update(session.execute(statements["urns"], chunk).all())
        for rule in session.scalars(statements["rules"], chunk):
            rules[rule.table_id].append(rule)
        latest.update((row.rule_id, row) for row in session.scalars(statements["latest"], chunk))
        profiles.update((table_id, (started, count))
                        for table_id, started, count in session.execute(statements["profiles"], chunk))
        critical.update(session.execute(statements["critical"], chunk).all())
        extracted.update(session.execute(statements["extracted"], chunk).all())
    return {i: _health(urns[i], rules[i], latest, profiles.get(i), critical.get(i, 0), extracted.get(i))
            for i in ids if i in urns}


def _health(urn: str, rules: list[QualityRule], latest: dict[int, QualityResult], profile: tuple | None,
            critical: int, last_extracted) -> TableHealthView:
    outcome = {r.id: latest[r.id].outcome if r.id in latest else None for r in rules}
    failing = [r for r in rules if outcome[r.id] == "failed"]
    severities = {r.severity for r in failing}
    return TableHealthView(
        table_urn=urn, rules=len(rules), passing=sum(1 for o in outcome.values() if o == "passed"),
        failing_errors=sum(1 for r in failing if r.severity == "error"),
        failing_warnings=sum(1 for r in failing if r.severity == "warning"),
        errored=sum(1 for o in outcome.values() if o == "error"),
        not_evaluated=sum(1 for o in outcome.values() if o is None), failing_rules=[r.name for r in failing],
        last_evaluated_at=max((latest[r.id].evaluated_at for r in rules if r.id in latest), default=None),
        worst_failing_severity="error" if "error" in severities else "warning" if severities else None,
        anomalies=AnomalyHealthView(open=profile[1] if profile else 0, critical=critical,
                                    profiled_at=profile[0] if profile else None),
        freshness=_freshness([r for r in rules if r.kind == "freshness"], latest, last_extracted))


def _freshness(rules: list[QualityRule], latest: dict[int, QualityResult], last_extracted) -> FreshnessHealthView:
    """The worst of the table's freshness rules (the first by name among equals)."""
    judged = []
    for rule in rules:
        result = latest.get(rule.id)
        if result is not None:
            status, checked = _OUTCOME_FRESHNESS[result.outcome], result.evaluated_at
        elif rule.column is None:  # the last extraction against the SLA, judged now
            age = FreshnessParams(kind="freshness", **rule.params).max_age_s
            at = last_extracted and (last_extracted.replace(tzinfo=UTC) if last_extracted.tzinfo is None
                                     else last_extracted)
            status = "fresh" if at and utcnow() - at <= timedelta(seconds=age) else "stale"
            checked = None
        else:
            status, checked = "not_evaluated", None
        judged.append((_FRESHNESS_RANK[status], rule.name, status, rule.params.get("max_age"), checked))
    if not judged:
        return FreshnessHealthView("no_sla", None, None, None, last_extracted)
    _, name, status, max_age, checked = min(judged)
    return FreshnessHealthView(status, name, max_age, checked, last_extracted)
