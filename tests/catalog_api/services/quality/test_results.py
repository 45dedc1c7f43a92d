"""Results of quality rules: one row per rule and run, a failed event when a rule starts failing and a recovered one
when it passes again, the table's health from the latest results, and values of PII columns withheld."""

from __future__ import annotations

import json

import pytest

from catalog_api.errors import InvalidInput
from catalog_api.security.identity import Identity, acting_as
from catalog_api.services import curation, quality
from catalog_api.urns import column_urn
from tests.support.catalog import query
from tests.support.events import outbox
from tests.support.quality import CUSTOMERS, ORDERS, result_events, rule_id
from tests.support.statements import counted_statements

VIEWER = Identity(subject="v", name="viewer", method="api_key", roles=frozenset({"viewer"}))


def test_a_failure_is_published_once_and_its_recovery_once(ruled):
    ids, values = rule_id(ruled, ORDERS, "id_not_null"), rule_id(ruled, ORDERS, "status_values")
    quality.record_results(ruled, ORDERS, "run-1", [
        quality.RuleOutcome(ids, "failed", observed=3, failing_rows=3, sample_keys=[{"id": None}] * 12,
                            message="3 rows have no id"),
        quality.RuleOutcome(values, "passed", observed=0, failing_rows=0)])
    quality.record_results(ruled, ORDERS, "run-2", [quality.RuleOutcome(ids, "failed", observed=1, failing_rows=1)])
    quality.record_results(ruled, ORDERS, "run-3", [quality.RuleOutcome(ids, "passed", observed=0, failing_rows=0)])

    assert result_events(ruled) == [("catalog.quality.failed", "id_not_null", "run-1"),
                                    ("catalog.quality.recovered", "id_not_null", "run-3")]
    failed = next(json.loads(r.event)["data"] for r in outbox(ruled) if r.type == "catalog.quality.failed")
    assert (failed["observed"], failed["failing_rows"], failed["severity"]) == (3.0, 3, "error")

    history = query(ruled, quality.rule_results, ids)
    assert [(r.run_id, r.outcome, r.failing_rows) for r in history] == [
        ("run-3", "passed", 0), ("run-2", "failed", 1), ("run-1", "failed", 3)]
    assert len(history[2].sample_keys) == quality.MAX_SAMPLE_KEYS  # twelve given, ten kept


def test_the_health_of_a_table_follows_its_latest_results(ruled):
    assert query(ruled, quality.table_health, ORDERS).not_evaluated == 5
    ids, values = rule_id(ruled, ORDERS, "id_not_null"), rule_id(ruled, ORDERS, "status_values")
    fresh, orphans = rule_id(ruled, ORDERS, "fresh"), rule_id(ruled, ORDERS, "no_orphans")
    quality.record_results(ruled, ORDERS, "run-1", [
        quality.RuleOutcome(ids, "failed", failing_rows=2), quality.RuleOutcome(values, "failed", failing_rows=1),
        quality.RuleOutcome(fresh, "passed"), quality.RuleOutcome(orphans, "error", message="statement timeout")])
    health = query(ruled, quality.table_health, ORDERS)
    assert (health.rules, health.passing, health.failing_errors, health.failing_warnings, health.errored,
            health.not_evaluated, health.failing_rules) == (5, 1, 1, 1, 1, 1, ["id_not_null", "status_values"])
    quality.record_results(ruled, ORDERS, "run-2", [quality.RuleOutcome(ids, "passed")])
    later = query(ruled, quality.table_health, ORDERS)
    assert (later.passing, later.failing_errors, later.failing_rules) == (2, 0, ["status_values"])
    assert later.last_evaluated_at > health.last_evaluated_at


def test_values_of_pii_columns_are_withheld_from_callers_without_pii_read(ruled):
    curation.set_tags(ruled, column_urn("erp", "sales", "customers", "email"), ["pii.email"])
    email = rule_id(ruled, CUSTOMERS, "email_shape")
    quality.record_results(ruled, CUSTOMERS, "run-1", [quality.RuleOutcome(
        email, "failed", observed="ana(at)example.com", failing_rows=1,
        sample_keys=[{"id": 7, "email": "ana(at)example.com"}], message="ana(at)example.com does not match")])

    with acting_as(VIEWER):
        (seen,) = query(ruled, quality.rule_results, email)
    assert (seen.observed, seen.sample_keys, seen.masked) == (None, [{"id": 7, "email": None}],
                                                              ["observed", "sample_keys.email"])
    (revealed,) = query(ruled, quality.rule_results, email)  # the local operator holds pii:read
    assert (revealed.observed, revealed.sample_keys, revealed.masked) == (
        "ana(at)example.com", [{"id": 7, "email": "ana(at)example.com"}], [])
    failed = next(json.loads(r.event)["data"] for r in outbox(ruled) if r.type == "catalog.quality.failed")
    assert failed["observed"] is None and "ana" not in failed["message"]


def test_an_outcome_of_a_rule_of_another_table_stores_nothing(ruled):
    other = rule_id(ruled, CUSTOMERS, "rows")
    with pytest.raises(InvalidInput) as refused:
        quality.record_results(ruled, ORDERS, "run-1", [
            quality.RuleOutcome(rule_id(ruled, ORDERS, "fresh"), "passed"), quality.RuleOutcome(other, "failed")])
    assert refused.value.field == "outcomes.1.rule_id"
    assert query(ruled, quality.table_health, ORDERS).not_evaluated == 5 and result_events(ruled) == []


def test_the_latest_results_of_a_table_are_each_rules_newest_in_fixed_statements(ruled):
    ids, values = rule_id(ruled, ORDERS, "id_not_null"), rule_id(ruled, ORDERS, "status_values")
    quality.record_results(ruled, ORDERS, "run-1", [quality.RuleOutcome(ids, "failed", observed=3, failing_rows=3),
                                                    quality.RuleOutcome(values, "passed", observed=0)])
    with counted_statements(ruled.db.engine) as two_rules:
        first = query(ruled, quality.latest_results, ORDERS)
    assert [(r.rule_name, r.run_id, r.outcome) for r in first] == [("id_not_null", "run-1", "failed"),
                                                                    ("status_values", "run-1", "passed")]

    fresh = rule_id(ruled, ORDERS, "fresh")
    quality.record_results(ruled, ORDERS, "run-2", [quality.RuleOutcome(ids, "passed", observed=0),
                                                    quality.RuleOutcome(fresh, "passed")])
    with counted_statements(ruled.db.engine) as three_rules:
        latest = query(ruled, quality.latest_results, ORDERS)
    # A rule never evaluated has no result; each other rule shows its newest, whichever run gave it.
    assert [(r.rule_name, r.run_id, r.outcome) for r in latest] == [
        ("fresh", "run-2", "passed"), ("id_not_null", "run-2", "passed"), ("status_values", "run-1", "passed")]
    assert len(two_rules) == len(three_rules)
