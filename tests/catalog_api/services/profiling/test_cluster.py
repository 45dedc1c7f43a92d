"""Profiling on a Spark cluster: a real standalone master and worker (tests/support/spark_cluster.py), and a catalog
process configured only through `CATALOG_SPARK_MASTER=spark://…`, store the same profile as the local Spark path,
field by field, for a PostgreSQL source and a files source; a few figures are checked against the data itself.

The tables are tiny, far below `CATALOG_PROFILE_IN_PROCESS_MAX_CELLS`: with a cluster configured they still go to
Spark (the cluster's own record shows the application and its executor), never to the in-process path."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from catalog_api.services import profiling
from catalog_api.services.sources import SourceRegistration, register_source
from catalog_api.urns import dataset_urn
from tests.support.catalog import query
from tests.support.jobs import crawled
from tests.support.jobs import finished as _run
from tests.support.postgres import pg_query

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[4]

SHOP = """
create schema shop;
create table shop.customers (id bigint primary key, email text, segment text, active boolean not null);
create table shop.orders (
    id bigint primary key, customer_id bigint references shop.customers, total numeric(12, 2), placed_at timestamptz,
    shipped date
);
insert into shop.customers
    select g, case when g % 9 = 0 then null else 'user' || g || '@example.com' end, 'segment ' || (g % 5), g % 3 = 0
    from generate_series(1, 300) g;
insert into shop.orders
    select 50000 + g, 1 + (g * 7) % 300, case when g % 10 = 0 then null else (g % 97) * 1.25 end,
           timestamptz '2026-03-01' + g * interval '17 minutes', date '2026-03-01' + (g % 40)
    from generate_series(1, 2000) g;
"""

# Runs in its own interpreter: Spark allows one SparkContext per process, and this one holds the tests' local session.
# Every setting comes from CATALOG_* variables, as for an operator.
PROFILE_ON_CLUSTER = """
import json, sys
from catalog_api.bootstrap import build_context
from catalog_api.services import jobs
from catalog_api.services.profiling import request_profile
from catalog_api.settings import Settings

ctx = build_context(Settings())
results = {}
for source in sys.argv[1:]:
    job = jobs.wait_for_job(ctx, request_profile(ctx, source).id, timeout=300)
    assert job.status == "succeeded", (job.error_code, job.error_message)
    results[source] = job.result["tables"]
ctx.close()
print(json.dumps(results))
"""

# What differs between two runs of the same profile by nature: identity, timing and the job.
# `freshness_seconds` is the newest value's age when the run started: compared as that value's time instead.
RUN_FIELDS = {"id", "job_id", "started_at", "finished_at", "duration_s"}
COLUMN_RUN_FIELDS = {"profile_id", "profiled_at"}


def _comparable(view: profiling.ProfileView) -> dict:
    figures = {k: v for k, v in dataclasses.asdict(view).items() if k not in RUN_FIELDS}
    figures["columns"] = [{k: v for k, v in c.items() if k not in COLUMN_RUN_FIELDS} for c in figures["columns"]]
    for column in figures["columns"]:
        column["stats"].pop("freshness_seconds", None)
    return figures


def _newest_value_times(view: profiling.ProfileView) -> dict[str, float]:
    return {c.name: view.started_at.timestamp() - c.stats["freshness_seconds"] for c in view.columns
            if c.stats.get("freshness_seconds") is not None}


def _differences(found: object, expected: object, path: str = "") -> list[str]:
    """Where two profiles differ, as `path: found != expected` lines (a readable failure for wide profiles)."""
    if isinstance(found, dict) and isinstance(expected, dict):
        return [line for key in sorted(found.keys() | expected.keys(), key=str)
                for line in _differences(found.get(key), expected.get(key), f"{path}.{key}")]
    if isinstance(found, list) and isinstance(expected, list) and len(found) == len(expected):
        return [line for i, (a, b) in enumerate(zip(found, expected, strict=True))
                for line in _differences(a, b, f"{path}[{i}]")]
    return [] if found == expected else [f"{path}: {found!r} != {expected!r}"]


def _profile_on_cluster(settings, cluster, *sources: str) -> dict:
    env = {name: value for name, value in os.environ.items() if not name.startswith("CATALOG_")}
    env.update({
        "PYTHONPATH": str(ROOT), "CATALOG_HOME": str(settings.home), "CATALOG_SECRET_KEY": settings.secret_key,
        "CATALOG_FILE_ROOTS": json.dumps([str(root) for root in settings.file_roots]),
        "CATALOG_SCHEDULER_ENABLED": "false", "CATALOG_PROFILE_SAMPLE_ROWS": str(settings.profile_sample_rows),
        "CATALOG_PROFILE_REPORTS_ENABLED": "false",
        # The one setting that matters; the in-process threshold keeps its default, which these tables are under.
        "CATALOG_SPARK_MASTER": cluster.master_url,
        "CATALOG_SPARK_DRIVER_MEMORY": "512m",
        "CATALOG_SPARK_CONF": json.dumps({"spark.executor.memory": "512m", "spark.sql.shuffle.partitions": "4"}),
    })
    done = subprocess.run([sys.executable, "-c", PROFILE_ON_CLUSTER, *sources], env=env, cwd=settings.home,
                          capture_output=True, text=True, timeout=600)
    spark_log = settings.home / "logs" / "spark.log"
    assert done.returncode == 0, (done.stderr[-3000:], spark_log.read_text()[-3000:] if spark_log.exists() else "",
                                  cluster.log_tail())
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_cluster_profiles_every_table_exactly_as_local_spark_does(catalog_ctx, make_pg_database, spark,
                                                                    spark_cluster, tmp_path):
    config = make_pg_database(SHOP)
    shop = register_source(catalog_ctx, SourceRegistration(name="shop", kind="postgres", config=config))
    (tmp_path / "drop").mkdir()
    events = pd.DataFrame({"id": range(1, 1501), "kind": [("view", "click", "buy", None)[i % 4] for i in range(1500)],
                           "amount": [round(i * 0.37 % 50, 2) if i % 7 else None for i in range(1500)]})
    events.to_parquet(tmp_path / "drop" / "events.parquet", index=False)
    drop = register_source(catalog_ctx, SourceRegistration(name="drop", kind="files",
                                                           config={"url": str(tmp_path / "drop")}))
    for source in (shop, drop):
        crawled(catalog_ctx, source.id)

    # Local Spark first (the threshold sends these small tables to Spark, as a cluster does by itself).
    catalog_ctx.settings.profile_reports_enabled = False
    catalog_ctx.settings.profile_in_process_max_cells = 0
    for source in (shop, drop):
        job = _run(catalog_ctx, profiling.request_profile(catalog_ctx, source.id))
        assert job.status == "succeeded", (job.error_code, job.error_message)
    urns = [dataset_urn("shop", "shop", "customers"), dataset_urn("shop", "shop", "orders"),
            dataset_urn("drop", "default", "events")]
    local = {urn: query(catalog_ctx, profiling.latest_profile, urn) for urn in urns}

    on_cluster = _profile_on_cluster(catalog_ctx.settings, spark_cluster, "shop", "drop")

    # The cluster ran them: one application, on the worker's one core, and every table took Spark jobs.
    assert [(app["name"], app["cores"]) for app in spark_cluster.applications()] == [("catalog-profiler", 1)]
    tables = [table for results in on_cluster.values() for table in results]
    assert sorted(t["urn"] for t in tables) == sorted(urns)
    assert all(t["spark_jobs"] >= 1 for t in tables)

    for urn in urns:
        remote = query(catalog_ctx, profiling.latest_profile, urn)
        assert (remote.id, remote.job_id) != (local[urn].id, local[urn].job_id)
        assert _differences(_comparable(remote), _comparable(local[urn])) == [], urn
        assert _newest_value_times(remote) == pytest.approx(_newest_value_times(local[urn]), abs=5)

    # And both against the data itself.
    orders = {c.name: c.stats for c in local[urns[1]].columns}
    ((rows, totals, distinct, low, high, total, customers),) = pg_query(config, """
        select count(*), count(total), count(distinct total), min(total), max(total), sum(total),
               count(distinct customer_id) from shop.orders""")
    assert local[urns[1]].row_count == rows == 2000
    assert (orders["total"]["null_count"], orders["total"]["distinct_count"]) == (rows - totals, distinct)
    assert [Decimal(orders["total"][k]) for k in ("min", "max", "sum")] == [low, high, total]
    assert orders["customer_id"]["distinct_count"] == customers
    confirmed = [(fk["child_columns"], fk["parent_table"]) for fk in local[urns[1]].foreign_keys if fk["confirmed"]]
    assert confirmed == [(["customer_id"], urns[0])]
    kinds = {c.name: c.stats for c in local[urns[2]].columns}
    assert local[urns[2]].row_count == len(events)
    assert (kinds["kind"]["null_count"], kinds["kind"]["distinct_count"]) == (events["kind"].isna().sum(),
                                                                                events["kind"].nunique())
    assert kinds["amount"]["sum"] == pytest.approx(events["amount"].sum(), rel=1e-12)
    assert kinds["amount"]["null_count"] == events["amount"].isna().sum()
