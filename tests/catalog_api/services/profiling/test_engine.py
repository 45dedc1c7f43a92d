"""Where a table is profiled: small tables in the job's own process (no JVM at all for the demo), large ones and
every table of a configured cluster on Spark. That both give the same profile is tested in
tests/profiler/stats/test_in_process.py, and the job end to end on both in test_jobs.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from catalog_api.services.profiling.engine import ProfileEngine
from profiler import ProfileOptions, parquet_files

ROOT = Path(__file__).resolve().parents[4]

# Run in a fresh interpreter: the test process may hold the Spark session other tests started.
DEMO_PROFILE = """
import json, os, sys
from pathlib import Path

from catalog_api.bootstrap import build_context
from catalog_api.demo.builder import build_demo_database
from catalog_api.services import jobs
from catalog_api.services.crawl import request_crawl
from catalog_api.services.profiling import request_profile
from catalog_api.services.sources import SourceRegistration, register_source
from catalog_api.settings import Settings

root = Path(sys.argv[1])
# Reports are off to keep the test short; they render from the sample, which never needs Spark (test_jobs.py
# reads one back from an in-process profile).
settings = Settings(home=root / "home", secret_key="test-secret-key", file_roots=[root], scheduler_enabled=False,
                    broker_url=None, spark_master="local[2]", profile_reports_enabled=False)
ctx = build_context(settings, migrate=True)
database = build_demo_database(root / "erp.db")
source = register_source(ctx, SourceRegistration(name="erp", kind="sqlite", config={"path": str(database)}))
for request in (request_crawl, request_profile):
    job = jobs.wait_for_job(ctx, request(ctx, source.id).id, timeout=300)
    assert job.status == "succeeded", (job.error_code, job.error_message)
ctx.close()

import profiler.session
from pyspark import SparkContext

children = []
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        continue
    if stat.rsplit(")", 1)[1].split()[1] == str(os.getpid()):
        children.append(stat.split("(", 1)[1].rsplit(")", 1)[0])
print(json.dumps({"tables": job.result["tables"], "session": profiler.session._session is not None,
                  "context": SparkContext._active_spark_context is not None, "children": children}))
"""


def test_profiling_the_demo_starts_no_spark(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for name in [n for n in env if n.startswith("CATALOG_")]:
        env.pop(name)
    done = subprocess.run([sys.executable, "-c", DEMO_PROFILE, str(tmp_path)], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert len(found["tables"]) == 11 and sum(t["rows"] for t in found["tables"]) > 20_000
    assert all(t["spark_jobs"] == 0 for t in found["tables"])
    assert (found["session"], found["context"]) == (False, False)
    assert "java" not in found["children"]


def _files(tmp_path, rows: int, columns: int):
    path = tmp_path / f"t{rows}x{columns}.parquet"
    pq.write_table(pa.table({f"c{i}": pa.array(range(rows)) for i in range(columns)}), path)
    return parquet_files([str(path)])


def test_the_threshold_counts_cells_and_a_cluster_gets_every_table(catalog_settings, tmp_path):
    catalog_settings.profile_in_process_max_cells = 1000
    engine = ProfileEngine(catalog_settings, ProfileOptions())
    assert engine.profiles_in_process(_files(tmp_path, 100, 10))
    assert not engine.profiles_in_process(_files(tmp_path, 101, 10))
    assert not engine.profiles_in_process(None)  # files only Spark reads the way Spark does

    catalog_settings.spark_master = "spark://127.0.0.1:7077"
    assert not engine.profiles_in_process(_files(tmp_path, 10, 2))
    catalog_settings.spark_master = "local[*]"
    catalog_settings.profile_in_process_max_cells = 0
    assert not engine.profiles_in_process(_files(tmp_path, 1, 1))
