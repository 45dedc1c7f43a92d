"""Aggregate rules evaluated in the profile pass, against real PostgreSQL and MariaDB sources: every kind passing
and failing on a table built for it, with the outcome, observed value, failing-row count and sample keys checked
against a direct query on the source; the same results on the in-process and the Spark path; the failed and
recovered events; and `rule run` reaching them through the profile it queues."""

from __future__ import annotations

from decimal import Decimal

import pytest

from catalog_api.services import profiling, quality
from catalog_api.services.quality.evaluation import request_quality_run
from catalog_api.services.sources import SourceRegistration, register_source
from catalog_api.urns import dataset_urn
from tests.support.catalog import crawl, query
from tests.support.jobs import finished, reports_rendered
from tests.support.mariadb import make_mariadb_database, mariadb_execute, mariadb_query, mariadb_server  # noqa: F401
from tests.support.postgres import pg_execute, pg_query
from tests.support.quality import result_events

ROWS = 1000
PG_ITEMS = f"""
create table items (id bigint primary key, email text, status text, total numeric(12, 2), sku text, qty text,
                    code text, day text);
insert into items select g,
    case when g % 50 = 0 then null when g % 61 = 0 then 'broken-' || g else 'u' || (g % 300) || '@example.com' end,
    case when g % 17 = 0 then 'bogus' when g % 2 = 0 then 'open' else 'shipped' end,
    case when g % 37 = 0 then -g else g * 1.25 end, 'SKU-' || g, (g % 9)::text,
    case when g % 41 = 0 then 'x' || g else g::text end, '2024-02-' || lpad((1 + g % 30)::text, 2, '0')
  from generate_series(1, {ROWS}) g;
create function is_bigint(t text) returns boolean language plpgsql immutable as
  $$ begin perform t::bigint; return true; exception when others then return false; end $$;
create function is_date(t text) returns boolean language plpgsql immutable as
  $$ begin perform t::date; return true; exception when others then return false; end $$;
"""
MARIADB_ITEMS = f"""
create table items (id bigint primary key, email text, status varchar(16), total decimal(12, 2), sku varchar(16),
                    qty varchar(4), code varchar(16), day varchar(10));
insert into items select seq,
    case when seq % 50 = 0 then null when seq % 61 = 0 then concat('broken-', seq)
         else concat('u', seq % 300, '@example.com') end,
    case when seq % 17 = 0 then 'bogus' when seq % 2 = 0 then 'open' else 'shipped' end,
    case when seq % 37 = 0 then -seq else seq * 1.25 end, concat('SKU-', seq), seq % 9,
    case when seq % 41 = 0 then concat('x', seq) else seq end, concat('2024-02-', lpad(1 + seq % 30, 2, '0'))
  from seq_1_to_{ROWS};
"""

# name, rule (kind, column, params), the failing rows' condition on the source: PostgreSQL's, MariaDB's.
RULES = [
    ("id_not_null", "not_null", "id", {}, "id is null", None),
    ("email_not_null", "not_null", "email", {}, "email is null", None),
    ("sku_unique", "unique", "sku", {}, "sku in (select sku from items group by sku having count(*) > 1)",
     "sku in (select sku from (select sku from items group by sku having count(*) > 1) d)"),
    ("email_unique", "unique", "email", {}, "email in (select email from items group by email having count(*) > 1)",
     "email in (select email from (select email from items group by email having count(*) > 1) d)"),
    ("status_known", "accepted_values", "status", {"values": ["open", "shipped", "bogus"]},
     "status not in ('open', 'shipped', 'bogus')", None),
    ("status_open", "accepted_values", "status", {"values": ["open", "shipped"]},
     "status not in ('open', 'shipped')", None),
    ("total_wide", "range", "total", {"min": -10000, "max": 10000}, "total < -10000 or total > 10000", None),
    ("total_narrow", "range", "total", {"min": 0, "max": 1200}, "total < 0 or total > 1200", None),
    ("sku_shape", "regex", "sku", {"pattern": "^SKU-[0-9]+$"}, "sku !~ '^SKU-[0-9]+$'",
     "sku not regexp '^SKU-[0-9]+$'"),
    ("email_shape", "regex", "email", {"pattern": "^[^@]+@[^@]+$"}, "email !~ '^[^@]+@[^@]+$'",
     "email not regexp '^[^@]+@[^@]+$'"),
    ("sku_length", "length", "sku", {"min": 5, "max": 8}, "char_length(sku) not between 5 and 8", None),
    ("status_length", "length", "status", {"min": 4, "max": 5}, "char_length(status) not between 4 and 5", None),
    ("qty_integer", "type_conformance", "qty", {"type": "integer"}, "not is_bigint(qty)",
     "qty not regexp '^[0-9]+$'"),
    ("code_integer", "type_conformance", "code", {"type": "integer"}, "not is_bigint(code)",
     "code not regexp '^[0-9]+$'"),
    ("day_date", "type_conformance", "day", {"type": "date"}, "not is_date(day)",
     "cast(day as date) is null"),
    ("rows_ok", "row_count", None, {"min": 1, "max": 5000}, None, None),
    ("rows_many", "row_count", None, {"min": 2000}, None, None),
    ("rows_steady", "row_count_change", None, {"max_decrease_pct": 10}, None, None),
]


def add_rules(ctx, table: str) -> None:
    for name, kind, column, params, _pg, _mariadb in RULES:
        quality.add_rule(ctx, table, {"name": name, "kind": kind, "column": column, "params": params})


def profile(ctx, source_id: int):
    job = finished(ctx, profiling.request_profile(ctx, source_id), timeout=300)
    assert job.status == "succeeded", (job.error_code, job.error_message)
    reports_rendered(ctx, job)
    return job


def results(ctx, table: str) -> dict:
    """Each rule's latest result, by rule name."""
    return {name: query(ctx, quality.rule_results, query(ctx, quality.find_rule, table, name).id, limit=1)[0]
            for name, *_ in RULES}


def number(value):
    return float(value) if isinstance(value, Decimal) else value


def expected(run_sql, kind: str, column: str | None, params: dict, failing_where: str | None) -> dict:
    """What the source itself says about a rule: its failing rows, observed value and first keys."""
    if column is None:
        rows = run_sql("select count(*) from items")[0][0]
        if kind == "row_count":
            ok = params.get("min", 0) <= rows <= params.get("max", rows)
            return {"outcome": "passed" if ok else "failed", "observed": rows, "failing_rows": None, "keys": []}
        return {"outcome": "passed", "observed": None, "failing_rows": None, "keys": []}  # no previous run
    failing = run_sql(f"select count(*) from items where {failing_where}")[0][0]
    names = ["id"] if column in ("id",) or kind == "not_null" else ["id", column]
    keys = [dict(zip(names, map(number, row), strict=True)) for row in run_sql(
        f"select {', '.join(names)} from items where {failing_where} order by {', '.join(names)} limit 10")]
    observed = failing
    if kind == "unique":
        observed = run_sql(f"select count({column}) - count(distinct {column}) from items")[0][0]
    elif kind == "range":
        low, high = run_sql(f"select min({column}), max({column}) from items")[0]
        observed = {"failing": failing, "min": number(low), "max": number(high)}
    elif kind == "length":
        low, high = run_sql(f"select min(char_length({column})), max(char_length({column})) from items")[0]
        observed = {"failing": failing, "min_length": low, "max_length": high}
    return {"outcome": "passed" if failing == 0 else "failed", "observed": observed, "failing_rows": failing,
            "keys": keys}


def found(result) -> dict:
    return {"outcome": result.outcome, "observed": result.observed, "failing_rows": result.failing_rows,
            "keys": result.sample_keys}


@pytest.fixture
def pg_items(catalog_ctx, make_pg_database):
    config = make_pg_database(PG_ITEMS)
    source = register_source(catalog_ctx, SourceRegistration(name="pgshop", kind="postgres", config=config))
    crawl(catalog_ctx, source.id)
    items = dataset_urn("pgshop", "public", "items")
    add_rules(catalog_ctx, items)
    return catalog_ctx, config, source.id, items


@pytest.mark.postgres
def test_postgres_each_kind_passes_and_fails_as_the_source_says(pg_items):
    ctx, config, source_id, items = pg_items
    job = profile(ctx, source_id)
    assert job.result["tables"][0]["rules"] == {"passed": 9, "failed": 9, "error": 0}
    got = results(ctx, items)
    for name, kind, column, params, pg_where, _ in RULES:
        want = expected(lambda sql: pg_query(config, sql), kind, column, params, pg_where)
        assert found(got[name]) == want, name
        assert got[name].run_id == job.id
    assert got["email_not_null"].failing_rows == ROWS // 50  # the data holds what the rules are meant to find
    assert got["day_date"].failing_rows > 0 and got["code_integer"].failing_rows > 0


def test_mariadb_each_kind_passes_and_fails_as_the_source_says(catalog_ctx, make_mariadb_database):  # noqa: F811
    config = make_mariadb_database(MARIADB_ITEMS)
    source = register_source(catalog_ctx, SourceRegistration(name="mshop", kind="mysql", config=config))
    crawl(catalog_ctx, source.id)
    items = dataset_urn("mshop", config["database"], "items")
    add_rules(catalog_ctx, items)
    job = profile(catalog_ctx, source.id)
    assert job.result["tables"][0]["rules"] == {"passed": 9, "failed": 9, "error": 0}
    got = results(catalog_ctx, items)
    for name, kind, column, params, pg_where, mariadb_where in RULES:
        want = expected(lambda sql: mariadb_query(config, sql), kind, column, params, mariadb_where or pg_where)
        assert found(got[name]) == want, name


@pytest.mark.postgres
def test_spark_and_in_process_give_the_same_results(pg_items, spark):
    ctx, _config, source_id, items = pg_items
    in_process = results(ctx, items) if profile(ctx, source_id) else None
    ctx.settings.profile_in_process_max_cells = 0  # every table to Spark
    on_spark_job = profile(ctx, source_id)
    assert on_spark_job.result["tables"][0]["spark_jobs"] == 2  # the checks added no Spark job
    on_spark = results(ctx, items)
    for name, *_ in RULES:
        assert on_spark[name].run_id == on_spark_job.id
        if name != "rows_steady":  # the second run has a previous one to compare with
            assert found(on_spark[name]) == found(in_process[name]), name
    assert (on_spark["rows_steady"].outcome, on_spark["rows_steady"].observed) == ("passed", 0.0)


@pytest.mark.postgres
def test_failed_and_recovered_events_follow_the_profiles(pg_items):
    ctx, config, source_id, items = pg_items
    first = profile(ctx, source_id)
    failing = {name for name, r in results(ctx, items).items() if r.outcome == "failed"}
    assert sorted(result_events(ctx)) == sorted(("catalog.quality.failed", name, first.id) for name in failing)
    profile(ctx, source_id)  # still failing: no new event
    assert len(result_events(ctx)) == len(failing)
    pg_execute(config, "delete from items where email is null or status = 'bogus' or id > 900")
    fixed = profile(ctx, source_id)
    latest = results(ctx, items)
    recovered = {name for name in failing if latest[name].outcome == "passed"}
    assert recovered >= {"email_not_null", "status_open"}
    assert sorted(result_events(ctx)[len(failing):]) == sorted(
        [("catalog.quality.recovered", name, fixed.id) for name in recovered]
        + [("catalog.quality.failed", "rows_steady", fixed.id)])
    removed = pg_query(config, "select 1000 - count(*) from items")[0][0]
    assert latest["rows_steady"].observed == pytest.approx(-removed * 100 / ROWS)


@pytest.mark.postgres
def test_a_rule_run_evaluates_aggregate_rules_through_the_profile_it_queues(pg_items, api_client):
    ctx, _config, source_id, items = pg_items
    job = finished(ctx, request_quality_run(ctx, source_id, [items]), timeout=60)
    assert job.status == "succeeded", (job.error_code, job.error_message)
    profile_job = finished(ctx, job.result["profile_job"], timeout=300)
    assert (profile_job.kind, profile_job.status, profile_job.params) == ("profile", "succeeded", {"tables": [items]})
    reports_rendered(ctx, profile_job)
    assert {r.run_id for r in results(ctx, items).values()} == {profile_job.id}
    health = query(ctx, quality.table_health, items)
    assert (health.rules, health.passing, health.failing_errors, health.not_evaluated) == (18, 9, 9, 0)
    narrow = results(ctx, items)["total_narrow"]
    (through_rest,) = api_client.get(f"/api/v1/quality/rules/{narrow.rule_id}/results?limit=1").json()
    assert (through_rest["run_id"], through_rest["observed"], through_rest["sample_keys"]) == (
        profile_job.id, narrow.observed, narrow.sample_keys)
