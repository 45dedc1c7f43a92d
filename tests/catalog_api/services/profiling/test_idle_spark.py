"""A serving process does not keep an idle Spark driver: with a real `catalog serve`, the JVM a profile started ends
`spark_idle_stop_s` after the profile, and the next profile starts a new one and is as exact as the first."""

from __future__ import annotations

import socket
import time

import httpx
import pytest

from catalog_api.services import profiling
from catalog_api.urns import dataset_urn
from tests.support import workers
from tests.support.api import API_HEADERS, register
from tests.support.catalog import query
from tests.support.jobs import rest_job
from tests.support.postgres import pg_execute, pg_query

pytestmark = pytest.mark.postgres

IDLE_S = 4.0
SLACK_S = 20.0  # stopping a session and its JVM, on a busy machine
READINGS = """
create table readings (id bigint primary key, value double precision, sensor text);
insert into readings select g, g * 0.5, 'sensor ' || (g % 13) from generate_series(1, 2000) g;
"""
URN = dataset_urn("sensors", "public", "readings")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _profile_matches_postgres(api: httpx.Client, runtime: workers.Runtime, config: dict) -> None:
    job = rest_job(api, api.post(f"/api/v1/tables/{URN}/profile").json(), timeout=300)
    assert job["status"] == "succeeded", job
    assert job["result"]["tables"][0]["spark_jobs"] >= 1  # profiled on Spark, not in-process
    ((rows, low, high, sensors),) = pg_query(config, "select count(*), min(value), max(value), "
                                                     "count(distinct sensor) from readings")
    profile = query(runtime.ctx, profiling.latest_profile, URN)
    stats = {c.name: c.stats for c in profile.columns}
    assert profile.row_count == rows
    assert (float(stats["value"]["min"]), float(stats["value"]["max"])) == (low, high)
    assert stats["sensor"]["distinct_count"] == sensors


def _wait_for_no_jvm(server, timeout: float) -> float:
    started = time.monotonic()
    while workers.jvm_pids(server.pid):
        assert time.monotonic() - started < timeout, f"a JVM is still up {timeout:g} s after the profile"
        time.sleep(0.2)
    return time.monotonic() - started


def test_an_idle_spark_session_stops_and_the_next_profile_starts_one(tmp_path, make_pg_database):
    settings = {"spark_idle_stop_s": str(IDLE_S), "profile_in_process_max_cells": "0",
                "profile_reports_enabled": "false", "scheduler_enabled": "false",
                "spark_master": "local[2]", "spark_driver_memory": "1g"}
    with workers.runtime("in-process", tmp_path, settings) as runtime:
        config = make_pg_database(READINGS)
        port = _free_port()
        server = runtime.start_server(port)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=API_HEADERS, timeout=30) as api:
            source = register(api, config, name="sensors")
            assert rest_job(api, api.post(f"/api/v1/sources/{source['id']}/crawl").json())["status"] == "succeeded"
            _profile_matches_postgres(api, runtime, config)
            first_jvm = workers.jvm_pids(server.pid)
            assert first_jvm, "the profile ran on Spark, whose driver is a JVM"
            _wait_for_no_jvm(server, IDLE_S + SLACK_S)

            pg_execute(config, "insert into readings select g, g * 0.5, 'sensor x' from generate_series(2001, 2500) g")
            _profile_matches_postgres(api, runtime, config)
            second_jvm = workers.jvm_pids(server.pid)
            assert second_jvm and not second_jvm & first_jvm  # a new driver, started on demand
            _wait_for_no_jvm(server, IDLE_S + SLACK_S)
