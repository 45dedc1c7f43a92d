"""The catalog's Prometheus metric families and the one function per place that records into them.

Counters and histograms live in prometheus_client's default registry, so a process exposes whatever it did: the
API its HTTP requests, GraphQL operations, in-process jobs and relay deliveries; a `catalog worker` its jobs
(through prometheus multiprocess mode, see `catalog_api.observability.worker`). What the catalog *holds* (outbox
backlog, queued jobs, broker queues) is not counted here but read at scrape time (`catalog_api.observability.state`).

Every label value is bounded: routes are templates (`/api/v1/sources/{source_id}`), never raw paths; GraphQL
operation names are capped in length and in number; methods, statuses, job kinds and sinks come from small sets.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from typing import Any

from prometheus_client import REGISTRY, Counter, Histogram

# Requests and GraphQL operations take milliseconds to seconds; jobs take seconds to hours.
REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
JOB_BUCKETS = (0.5, 1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 3 * 3600, 6 * 3600)

http_requests = Counter(
    "catalog_http_requests", "HTTP requests answered, by method, route template and status.",
    ["method", "route", "status"])
http_request_duration = Histogram(
    "catalog_http_request_duration_seconds", "Time from a request's arrival to the end of its response.",
    ["method", "route"], buckets=REQUEST_BUCKETS)

graphql_operations = Counter(
    "catalog_graphql_operations", "GraphQL operations run, by operation type and name.",
    ["operation_type", "operation_name"])
graphql_operation_errors = Counter(
    "catalog_graphql_operation_errors", "GraphQL operations that answered with at least one error.",
    ["operation_type", "operation_name"])
graphql_operation_duration = Histogram(
    "catalog_graphql_operation_duration_seconds", "Time spent parsing, validating and executing an operation.",
    ["operation_type", "operation_name"], buckets=REQUEST_BUCKETS)

jobs_finished = Counter("catalog_jobs_finished", "Jobs that ended, by kind and final status.", ["kind", "status"])
job_duration = Histogram(
    "catalog_job_duration_seconds", "Duration of a job's last attempt, from its start to its end.",
    ["kind", "status"], buckets=JOB_BUCKETS)
job_rows = Counter("catalog_job_rows", "Rows read by profile and extract jobs that succeeded.", ["kind"])
crawl_tables = Counter(
    "catalog_crawl_tables", "Tables seen by successful crawls, by what the crawl did to them.", ["outcome"])

event_deliveries = Counter(
    "catalog_event_deliveries", "Outbox events handed to a sink (publisher), by sink and outcome.",
    ["sink", "outcome"])

retention_pruned = Counter(
    "catalog_retention_pruned_rows", "Operational rows deleted by retention rounds (not dry runs), by kind.", ["kind"])

# -- bounded label values ---------------------------------------------------------------------------------------------

HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED_ROUTE = "unmatched"
"""The route label of a request no route matched (404s of scanners must not each make a series)."""

ANONYMOUS_OPERATION = "anonymous"
OTHER_OPERATION = "other"
MAX_OPERATION_NAME = 64
MAX_OPERATION_NAMES = 200
"""Distinct GraphQL operation names a process labels; later new names are counted as `other`."""

_GRAPHQL_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]*")
_operation_names: set[str] = set()
_operation_names_lock = threading.Lock()


def method_label(method: str) -> str:
    return method if method in HTTP_METHODS else "other"


def operation_name_label(name: str | None) -> str:
    """A GraphQL operation name as a label: `anonymous` when unnamed, `other` once the cap of names is reached or
    when it is not a GraphQL name (a transport may pass what the client sent before the document was parsed)."""
    if not name:
        return ANONYMOUS_OPERATION
    if len(name) > MAX_OPERATION_NAME or not _GRAPHQL_NAME.fullmatch(name):
        return OTHER_OPERATION
    with _operation_names_lock:
        if name in _operation_names:
            return name
        if len(_operation_names) >= MAX_OPERATION_NAMES:
            return OTHER_OPERATION
        _operation_names.add(name)
        return name


# -- recorders: one call per place where the thing happens -------------------------------------------------------------

def record_http_request(method: str, route: str, status: int, duration_s: float) -> None:
    method = method_label(method)
    http_requests.labels(method, route, str(status)).inc()
    http_request_duration.labels(method, route).observe(duration_s)


def record_graphql_operation(operation_type: str, name: str | None, duration_s: float, failed: bool) -> None:
    label = operation_name_label(name)
    graphql_operations.labels(operation_type, label).inc()
    graphql_operation_duration.labels(operation_type, label).observe(duration_s)
    if failed:
        graphql_operation_errors.labels(operation_type, label).inc()


_CRAWL_OUTCOMES = {"tables_created": "created", "tables_changed": "changed", "tables_deleted": "deleted",
                   "tables_unchanged": "unchanged"}


def record_job_finished(kind: str, status: str, duration_s: float | None, result: Mapping[str, Any] | None) -> None:
    """A job's final outcome; what a successful job read comes from its result (the same numbers the job shows)."""
    jobs_finished.labels(kind, status).inc()
    if duration_s is not None:
        job_duration.labels(kind, status).observe(max(duration_s, 0.0))
    if status != "succeeded" or not isinstance(result, Mapping):
        return
    if isinstance(result.get("rows"), int):
        job_rows.labels(kind).inc(result["rows"])
    for key, outcome in _CRAWL_OUTCOMES.items():
        if isinstance(result.get(key), int):
            crawl_tables.labels(outcome).inc(result[key])


def record_publish(sink: str, delivered: int, failed: int) -> None:
    """What one publisher confirmed and refused of the events a relay round handed it."""
    if delivered:
        event_deliveries.labels(sink, "delivered").inc(delivered)
    if failed:
        event_deliveries.labels(sink, "failed").inc(failed)


def record_pruned(kind: str, rows: int) -> None:
    """Rows one retention batch deleted (`kind`: sent_events, finished_jobs, webhook_deliveries)."""
    if rows:
        retention_pruned.labels(kind).inc(rows)


def pruned_rows(kind: str) -> int:
    """Rows retention rounds of this process deleted of `kind` so far."""
    return int(REGISTRY.get_sample_value("catalog_retention_pruned_rows_total", {"kind": kind}) or 0)
