"""Metrics of `catalog worker`: prometheus multiprocess mode, exposed by dramatiq's own Prometheus middleware.

A worker is one dramatiq master with `--processes` forked children, each running jobs on its threads. Giving each
child a port would make N scrape targets per container whose counters reset with every child; multiprocess mode
instead has every child write its samples to files in one folder, and one exposition server (a fork of the
master, on `worker_metrics_port`) sums them: the catalog's job families (`catalog_jobs_finished_total`,
`catalog_job_duration_seconds`, `catalog_job_rows_total`, `catalog_crawl_tables_total`) next to dramatiq's message
counters. What the catalog holds (outbox backlog, queued jobs, queue depth) is the API's /metrics: it is the same
for every process, so a worker does not repeat it.

The environment must be set before any process imports prometheus_client, so `catalog worker` calls
`prepare_worker_metrics` before it execs dramatiq, and the worker module adds the middleware when it finds it set.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def prepare_worker_metrics(home: Path, port: int, host: str = "0.0.0.0") -> Path:
    """Empties `<home>/worker-metrics/<port>` (samples of a previous run would be added to this one's) and points
    prometheus_client and dramatiq's exposition server at it; returns the folder."""
    folder = (home / "worker-metrics" / str(port)).resolve()
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    os.environ[MULTIPROC_ENV] = os.environ["dramatiq_prom_db"] = str(folder)
    os.environ["dramatiq_prom_port"], os.environ["dramatiq_prom_host"] = str(port), host
    return folder


def worker_metrics_enabled() -> bool:
    return bool(os.environ.get(MULTIPROC_ENV))
