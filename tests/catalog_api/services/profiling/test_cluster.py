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
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
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
from tests.support.polling import polling
from tests.support.postgres import pg_query
from tests.support.spark_cluster import end_process_group

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

# Runs in its own interpreter (Spark allows one SparkContext per process, and this one holds the tests' local
# session) with its own catalog, so its jobs never meet this process's. Every setting comes from CATALOG_*
# variables, as for an operator. It registers, crawls and profiles the sources it is given, and prints the stored
# profiles as the service reads them back.
PROFILE_ON_CLUSTER = """
import dataclasses, json, sys
from catalog_api.bootstrap import build_context
from catalog_api.services import jobs, profiling
from catalog_api.services.crawl import request_crawl
from catalog_api.services.sources import SourceRegistration, register_source
from catalog_api.settings import Settings

ctx = build_context(Settings(), migrate=True)
profiles = {}
for name, kind, config in json.loads(sys.argv[1]):
    source = register_source(ctx, SourceRegistration(name=name, kind=kind, config=config))
    for request in (request_crawl, profiling.request_profile):
        job = jobs.wait_for_job(ctx, request(ctx, source.id).id, timeout=300)
        assert job.status == "succeeded", (job.error_code, job.error_message)
    with ctx.db.session() as session:
        for table in job.result["tables"]:
            profiles[table["urn"]] = dataclasses.asdict(profiling.get_profile(session, table["profile_id"]))
ctx.close()
print(json.dumps(profiles, default=str))
"""

# What differs between two runs of the same profile by nature: identity, timing and the job.
# `freshness_seconds` is the newest value's age when the run started: compared as that value's time instead.
RUN_FIELDS = {"id", "job_id", "started_at", "finished_at", "duration_s"}
COLUMN_RUN_FIELDS = {"profile_id", "profiled_at"}


def _as_printed(view: profiling.ProfileView) -> dict:
    """A profile as the cluster's process prints it (JSON, dates as text)."""
    return json.loads(json.dumps(dataclasses.asdict(view), default=str))


def _comparable(profile: dict) -> dict:
    figures = {k: v for k, v in profile.items() if k not in RUN_FIELDS}
    figures["columns"] = [{k: v for k, v in c.items() if k not in COLUMN_RUN_FIELDS} for c in figures["columns"]]
    for column in figures["columns"]:
        column["stats"].pop("freshness_seconds", None)
    return figures


def _newest_value_times(profile: dict) -> dict[str, float]:
    started = datetime.fromisoformat(profile["started_at"]).timestamp()
    return {c["name"]: started - c["stats"]["freshness_seconds"] for c in profile["columns"]
            if c["stats"].get("freshness_seconds") is not None}


def _differences(found: object, expected: object, path: str = "") -> list[str]:
    """Where two profiles differ, as `path: found != expected` lines (a readable failure for wide profiles)."""
    if isinstance(found, dict) and isinstance(expected, dict):
        return [line for key in sorted(found.keys() | expected.keys(), key=str)
                for line in _differences(found.get(key), expected.get(key), f"{path}.{key}")]
    if isinstance(found, list) and isinstance(expected, list) and len(found) == len(expected):
        return [line for i, (a, b) in enumerate(zip(found, expected, strict=True))
                for line in _differences(a, b, f"{path}[{i}]")]
    return [] if found == expected else [f"{path}: {found!r} != {expected!r}"]


@contextmanager
def _folders_seen(folder: Path) -> Iterator[set[str]]:
    """Names of the folders that appear under `folder` while the block runs (looked at every 50 ms)."""
    seen: set[str] = set()
    with polling(0.05, lambda: seen.update(path.name for path in folder.iterdir()) if folder.is_dir() else None):
        yield seen


@contextmanager
def _on_cluster(tmp_path: Path, cluster, sources: list[tuple[str, str, dict]]) -> Iterator[subprocess.Popen]:
    """A catalog process profiling `sources` on the cluster, started now; ended with its driver JVM after the
    block, however the block ends."""
    home = tmp_path / "cluster-home"
    env = {name: value for name, value in os.environ.items() if not name.startswith("CATALOG_")}
    env.update({
        "PYTHONPATH": str(ROOT), "CATALOG_HOME": str(home), "CATALOG_SECRET_KEY": "cluster-test-key",
        "CATALOG_FILE_ROOTS": json.dumps([str(tmp_path)]), "CATALOG_SCHEDULER_ENABLED": "false",
        "CATALOG_PROFILE_SAMPLE_ROWS": "2000", "CATALOG_PROFILE_REPORTS_ENABLED": "false",
        # The one setting that matters; the in-process threshold keeps its default, which these tables are under.
        "CATALOG_SPARK_MASTER": cluster.master_url,
        "SPARK_LOCAL_IP": "127.0.0.1",  # the driver's address the executors connect to: this machine's loopback
        # What executors on other machines need: the Parquet a job profiles on storage they all mount.
        "CATALOG_PROFILE_WORK_DIR": str(tmp_path / "shared"),
        "CATALOG_SPARK_DRIVER_MEMORY": "512m",
        "CATALOG_SPARK_CONF": json.dumps({"spark.executor.memory": "512m", "spark.sql.shuffle.partitions": "4"}),
    })
    home.mkdir()
    with open(home / "run.out", "w") as out, open(home / "run.err", "w") as err:
        process = subprocess.Popen([sys.executable, "-c", PROFILE_ON_CLUSTER, json.dumps(sources)], env=env,
                                   cwd=home, stdout=out, stderr=err, stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        yield process
    finally:
        end_process_group(process)


def _cluster_profiles(process: subprocess.Popen, tmp_path: Path, cluster) -> dict[str, dict]:
    process.wait(timeout=400)
    home = tmp_path / "cluster-home"
    spark_log = home / "logs" / "spark.log"
    assert process.returncode == 0, ((home / "run.err").read_text()[-3000:],
                                     spark_log.read_text()[-3000:] if spark_log.exists() else "", cluster.log_tail())
    return json.loads((home / "run.out").read_text().strip().splitlines()[-1])


# A guard against a hang, not a speed target: two JVMs start on a 2-core machine that may be busy.
@pytest.mark.timeout(600)
def test_a_cluster_profiles_every_table_exactly_as_local_spark_does(catalog_ctx, make_pg_database, spark,
                                                                    spark_cluster, tmp_path):
    config = make_pg_database(SHOP)
    (tmp_path / "drop").mkdir()
    events = pd.DataFrame({"id": range(1, 1501), "kind": [("view", "click", "buy", None)[i % 4] for i in range(1500)],
                           "amount": [round(i * 0.37 % 50, 2) if i % 7 else None for i in range(1500)]})
    events.to_parquet(tmp_path / "drop" / "events.parquet", index=False)
    sources = [("shop", "postgres", config), ("drop", "files", {"url": str(tmp_path / "drop")})]
    urns = [dataset_urn("shop", "shop", "customers"), dataset_urn("shop", "shop", "orders"),
            dataset_urn("drop", "default", "events")]

    # The cluster's catalog process starts while this one profiles the same sources on local Spark (the threshold
    # sends these small tables to Spark here, as a configured cluster does by itself there).
    with _folders_seen(tmp_path / "shared") as seen, _on_cluster(tmp_path, spark_cluster, sources) as run:
        catalog_ctx.settings.profile_reports_enabled = False
        catalog_ctx.settings.profile_in_process_max_cells = 0
        local = {}
        for name, kind, source_config in sources:
            source = register_source(catalog_ctx, SourceRegistration(name=name, kind=kind, config=source_config))
            crawled(catalog_ctx, source.id)
            job = _run(catalog_ctx, profiling.request_profile(catalog_ctx, source.id))
            assert job.status == "succeeded", (job.error_code, job.error_message)
            local.update({t["urn"]: query(catalog_ctx, profiling.get_profile, t["profile_id"])
                          for t in job.result["tables"]})
        on_cluster = _cluster_profiles(run, tmp_path, spark_cluster)
    assert len(seen) == 2 and all(name.startswith("catalog-profile-") for name in seen)  # a job each
    assert list((tmp_path / "shared").iterdir()) == []  # and each took its files away

    # The cluster ran them: one application, on the worker's one core, and every table took Spark jobs.
    assert [(app["name"], app["cores"]) for app in spark_cluster.applications()] == [("catalog-profiler", 1)]
    assert sorted(on_cluster) == sorted(local) == sorted(urns)
    assert all(profile["spark_jobs"] >= 1 for profile in on_cluster.values())
    for urn in urns:
        expected = _as_printed(local[urn])
        assert _differences(_comparable(on_cluster[urn]), _comparable(expected)) == [], urn
        assert _newest_value_times(on_cluster[urn]) == pytest.approx(_newest_value_times(expected), abs=5)

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
