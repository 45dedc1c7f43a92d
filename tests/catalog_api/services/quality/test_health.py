"""A table's health on the table itself: rules by their latest results and the worst severity failing, the open
anomalies of its latest profile (counted against the stored rows), freshness from the latest freshness result or the
last extraction against the SLA; in the REST table response and GraphQL's `Table.qualityHealth`, the latter in the
same number of statements for a page of two tables as for a page of eight."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

from sqlalchemy import func, select

from catalog_api.db.models import ExtractionState, ProfileAnomalyRow, Table, TableProfileRow, utcnow
from catalog_api.services import quality
from catalog_api.urns import dataset_urn, schema_urn
from crawlers.snapshot import SchemaSnapshot, SourceSnapshot
from tests.support.catalog import query
from tests.support.factories import apply, make_source, make_table
from tests.support.graphql import data
from tests.support.quality import CUSTOMERS, ORDERS, rule_id
from tests.support.statements import counted_statements


def table_id(ctx, urn: str) -> int:
    with ctx.db.session() as session:
        return session.scalar(select(Table.id).where(Table.urn == urn))


def profile(ctx, urn: str, started_ago: timedelta, severities: list[str]) -> None:
    """A stored profile run of `urn` with anomalies of these severities."""
    with ctx.db.session() as session:
        tid = session.scalar(select(Table.id).where(Table.urn == urn))
        row = TableProfileRow(table_id=tid, started_at=utcnow() - started_ago, finished_at=utcnow() - started_ago,
                              row_count=10, column_count=2, read_from="source", anomaly_count=len(severities))
        session.add(row)
        session.flush()
        session.add_all(ProfileAnomalyRow(table_profile_id=row.id, table_id=tid, subject_urn=urn, kind="volume_change",
                                          severity=severity, method="ratio", message="m") for severity in severities)


def extracted(ctx, urn: str, ago: timedelta) -> None:
    with ctx.db.session() as session:
        session.add(ExtractionState(table_id=session.scalar(select(Table.id).where(Table.urn == urn)),
                                    last_extracted_at=utcnow() - ago))


def test_the_health_sums_up_rules_anomalies_and_freshness(ruled):
    health = query(ruled, quality.table_health, ORDERS)
    assert (health.worst_failing_severity, health.anomalies.open, health.anomalies.profiled_at) == (None, 0, None)
    assert (health.freshness.status, health.freshness.rule) == ("not_evaluated", "fresh")  # max(placed_at): no result

    profile(ruled, ORDERS, timedelta(days=2), ["warning"] * 3)
    profile(ruled, ORDERS, timedelta(hours=1), ["critical", "warning", "critical"])
    quality.record_results(ruled, ORDERS, "run-1", [
        quality.RuleOutcome(rule_id(ruled, ORDERS, "status_values"), "failed", failing_rows=1),
        quality.RuleOutcome(rule_id(ruled, ORDERS, "fresh"), "failed", message="max(placed_at) is 9h old")])
    health = query(ruled, quality.table_health, ORDERS)
    assert (health.failing_warnings, health.failing_errors, health.worst_failing_severity) == (1, 1, "error")
    with ruled.db.session() as session:  # the oracle: the anomalies stored with the newest profile run
        newest = session.scalar(select(func.max(TableProfileRow.id)).where(TableProfileRow.table_id == table_id(
            ruled, ORDERS)))
        stored = dict(session.execute(select(ProfileAnomalyRow.severity, func.count()).where(
            ProfileAnomalyRow.table_profile_id == newest).group_by(ProfileAnomalyRow.severity)).all())
    assert (health.anomalies.open, health.anomalies.critical) == (sum(stored.values()), stored["critical"]) == (3, 2)
    assert (health.freshness.status, health.freshness.rule, health.freshness.max_age) == ("stale", "fresh", "6h")
    assert health.freshness.checked_at == health.last_evaluated_at


def test_freshness_without_a_result_is_the_last_extraction_against_the_sla(ruled):
    assert query(ruled, quality.table_health, CUSTOMERS).freshness.status == "no_sla"
    quality.add_rule(ruled, CUSTOMERS, {"name": "loaded", "kind": "freshness", "params": {"max_age": "2h"}})
    assert query(ruled, quality.table_health, CUSTOMERS).freshness.status == "stale"  # never extracted
    extracted(ruled, CUSTOMERS, timedelta(minutes=30))
    fresh = query(ruled, quality.table_health, CUSTOMERS).freshness
    assert (fresh.status, fresh.rule, fresh.checked_at) == ("fresh", "loaded", None)
    with ruled.db.session() as session:
        session.execute(ExtractionState.__table__.update().values(last_extracted_at=utcnow() - timedelta(hours=3)))
    assert query(ruled, quality.table_health, CUSTOMERS).freshness.status == "stale"


def test_the_rest_table_response_carries_the_health(ruled, api_client):
    quality.record_results(ruled, ORDERS, "run-1", [
        quality.RuleOutcome(rule_id(ruled, ORDERS, "status_values"), "failed", failing_rows=1)])
    body = api_client.get(f"/api/v1/tables/{quote(ORDERS, safe='')}").json()
    health = body["quality_health"]
    assert (health["rules"], health["failing_warnings"], health["worst_failing_severity"]) == (5, 1, "warning")
    assert health["failing_rules"] == ["status_values"] and health["freshness"]["status"] == "not_evaluated"
    assert health == api_client.get("/api/v1/quality/health", params={"table": ORDERS}).json()


def test_a_page_of_tables_costs_the_same_statements_with_their_health(catalog_ctx, api_client):
    source_id = make_source(catalog_ctx, "wide")
    apply(catalog_ctx, source_id, SourceSnapshot(schemas=(SchemaSnapshot("s"),), tables=tuple(
        make_table("s", f"t{n}", 3) for n in range(8))))
    for n in range(8):
        urn = dataset_urn("wide", "s", f"t{n}")
        quality.add_rule(catalog_ctx, urn, {"name": "rows", "kind": "row_count", "params": {"min": 1}})
        quality.add_rule(catalog_ctx, urn, {"name": "loaded", "kind": "freshness", "params": {"max_age": "1d"}})
        quality.record_results(catalog_ctx, urn, "run-1", [quality.RuleOutcome(
            rule_id(catalog_ctx, urn, "rows"), "failed" if n % 2 else "passed")])
        profile(catalog_ctx, urn, timedelta(hours=1), ["critical"] * n)
    page = """query($urn: String!, $first: Int!) { entity(urn: $urn) { ... on Schema { tables(first: $first) {
                edges { node { urn qualityHealth { failingErrors worstFailingSeverity anomalies { open critical }
                                                   freshness { status rule } } } } } } } }"""
    with counted_statements(catalog_ctx.db.engine) as two:
        data(api_client, page, urn=schema_urn("wide", "s"), first=2)
    with counted_statements(catalog_ctx.db.engine) as eight:
        found = data(api_client, page, urn=schema_urn("wide", "s"), first=8)["entity"]["tables"]["edges"]
    assert len(two) == len(eight), (len(two), len(eight))
    shown = {e["node"]["urn"]: e["node"]["qualityHealth"] for e in found}
    assert shown == {dataset_urn("wide", "s", f"t{n}"): {
        "failingErrors": n % 2, "worstFailingSeverity": "error" if n % 2 else None,
        "anomalies": {"open": n, "critical": n}, "freshness": {"status": "stale", "rule": "loaded"}}
        for n in range(8)}
