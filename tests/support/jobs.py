"""Waiting for a job: through the service (the context), through REST (`GET /api/v1/jobs/{id}`) and through
GraphQL (the `job` query). Every test that waits for a job uses one of these, never its own loop."""

from __future__ import annotations

import time
from typing import Any

from catalog_api.services import jobs
from catalog_api.services.crawl import request_crawl
from tests.support.graphql import data

ACTIVE = ("queued", "running")


# -- through the service ----------------------------------------------------------------------------------------

def finished(ctx, job, timeout: float = 300) -> Any:
    """Waits for `job` (a view or an id) through the service and returns it; it must have finished."""
    done = jobs.wait_for_job(ctx, getattr(job, "id", job), timeout=timeout)
    assert jobs.JobStatus(done.status).finished, done.status
    return done


def reports_rendered(ctx, profile_job, timeout: float = 300) -> Any:
    """Waits for the `report` job a finished profile job queued (its result's `report_job`) and returns it; it must
    have succeeded. Profile jobs store their profiles at once and leave the HTML reports to that job."""
    report_job = (profile_job.result or {}).get("report_job")
    assert report_job, f"profile job {profile_job.id} queued no report job: {profile_job.result}"
    done = finished(ctx, report_job, timeout=timeout)
    assert done.status == "succeeded", (done.error_code, done.error_message)
    return done


def crawled(ctx, source_id: int | str, expect: str = "succeeded", timeout: float = 120) -> Any:
    """Requests a crawl of a source, waits for it through the service and checks its outcome; returns the job."""
    job = jobs.wait_for_job(ctx, request_crawl(ctx, source_id).id, timeout=timeout)
    assert job.status == expect, (job.error_code, job.error_message)
    return job


# -- through REST -----------------------------------------------------------------------------------------------

def rest_job(client, job: dict, timeout: float = 60, interval: float = 0.05) -> dict:
    """Polls `GET /api/v1/jobs/{id}` until the job is neither queued nor running, and returns its body."""
    deadline = time.monotonic() + timeout
    while job["status"] in ACTIVE:
        assert time.monotonic() < deadline, job
        time.sleep(interval)
        job = client.get(f"/api/v1/jobs/{job['id']}").json()
    return job


def rest_reports_rendered(client, profile_job: dict, timeout: float = 300) -> dict:
    """Waits through REST for the `report` job of a finished profile job (see `reports_rendered`); it must succeed."""
    report_job = (profile_job.get("result") or {}).get("report_job")
    assert report_job, f"profile job {profile_job['id']} queued no report job: {profile_job.get('result')}"
    done = rest_job(client, {"id": report_job, "status": "queued"}, timeout=timeout)
    assert done["status"] == "succeeded", (done["error_code"], done["error_message"])
    return done


def rest_job_in(client, job_id: str, status: str, timeout: float = 30, **fields: Any) -> dict:
    """Polls `GET /api/v1/jobs/{id}` until the job has reached `status` and its other `fields` have these values."""
    expected = {"status": status, **fields}
    deadline = time.monotonic() + timeout
    while True:
        response = client.get(f"/api/v1/jobs/{job_id}")
        assert response.status_code == 200, response.text
        job = response.json()
        if all(job[k] == v for k, v in expected.items()):
            return job
        assert time.monotonic() < deadline, f"after {timeout:g} s the job is not {expected}: {job}"
        time.sleep(0.05)


def rest_crawl(client, source_id: int) -> dict:
    """Requests a crawl through REST and waits for it; it must succeed. Returns the job's result."""
    job = rest_job(client, client.post(f"/api/v1/sources/{source_id}/crawl").json())
    assert job["status"] == "succeeded", job
    return job["result"]


# -- through GraphQL --------------------------------------------------------------------------------------------

JOB = "query($id: String!) { job(id: $id) { status errorCode errorMessage } }"


def graphql_job_succeeded(client, job_id: str, timeout: float = 300) -> None:
    """Polls the `job` query until the job has finished; it must have succeeded."""
    deadline = time.monotonic() + timeout
    while True:
        job = data(client, JOB, id=job_id)["job"]
        if job["status"] in ("succeeded", "failed", "cancelled"):
            break
        assert time.monotonic() < deadline, f"job {job_id} still {job['status']} after {timeout:g} s"
        time.sleep(0.2)
    assert job["status"] == "succeeded", job
