"""HTML reports rendered by a `report` job after the profile job: the profile is stored and readable first, the
report follows with PII values masked (checked against the staged sample and SQLite), the rendering happens in a
child process (ydata-profiling never loads into the service), a crashed or late renderer fails the report job
with its cause and leaves the profile alone, and staged samples are removed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from catalog_api.app import create_app
from catalog_api.services import profiling, sources
from catalog_api.services.curation import set_tags
from catalog_api.services.jobs import get_job
from catalog_api.services.profiling.report_jobs import remove_orphaned_samples
from catalog_api.services.profiling.staging import staging_root
from catalog_api.urns import column_urn, dataset_urn
from profiler.report import MASK
from tests.support.api import API_HEADERS
from tests.support.catalog import query
from tests.support.jobs import crawled, finished
from tests.support.sqlite import build_database, oracle

PEOPLE = """
CREATE TABLE people (id INTEGER PRIMARY KEY, email TEXT, name TEXT NOT NULL, city TEXT);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 80)
INSERT INTO people
    SELECT i, CASE WHEN i % 5 = 0 THEN NULL ELSE 'person' || i || '@mail.test' END, 'Name ' || i,
           CASE i % 3 WHEN 0 THEN 'Oslo' WHEN 1 THEN 'Lima' ELSE 'Pune' END
    FROM n;
"""
TABLE = dataset_urn("people", "main", "people")
NAME = column_urn("people", "main", "people", "name")


def _values(path: Path, column: str) -> list:
    return [v for (v,) in oracle(path, f"SELECT {column} FROM people WHERE {column} IS NOT NULL")]


def _report(client: TestClient, profile_id: int | None = None):
    params = {"profile_id": profile_id} if profile_id is not None else None
    return client.get(f"/api/v1/tables/{quote(TABLE, safe='')}/profile/report", params=params)


@pytest.fixture
def people(catalog_ctx, tmp_path):
    path = build_database(tmp_path / "people.db", PEOPLE)
    source = sources.register_source(catalog_ctx, sources.SourceRegistration(
        name="people", kind="sqlite", config={"path": str(path)}))
    crawled(catalog_ctx, source.id)
    return source.id, path


@pytest.fixture
def client(catalog_ctx):
    with TestClient(create_app(ctx=catalog_ctx), headers=API_HEADERS) as client:
        yield client


def _profiled(ctx, source_id: int):
    job = finished(ctx, profiling.request_profile(ctx, source_id))
    assert job.status == "succeeded", (job.error_code, job.error_message)
    return job


def _held(ctx):
    """Report jobs stay queued while no report job may run (concurrency 0): the state between the two jobs."""
    ctx.settings.job_concurrency = {**ctx.settings.job_concurrency, "report": 0}


def _released(ctx, report_job: str):
    ctx.settings.job_concurrency = {**ctx.settings.job_concurrency, "report": 1}
    return finished(ctx, report_job, timeout=300)


def test_the_profile_is_readable_before_its_report_which_then_masks_pii(catalog_ctx, people, client):
    source_id, path = people
    _held(catalog_ctx)
    job = _profiled(catalog_ctx, source_id)
    report_job = job.result["report_job"]

    # The profile, its events and tags are there; the report is pending, and asking for it names its job.
    profile = client.get(f"/api/v1/tables/{quote(TABLE, safe='')}/profile").json()
    assert profile["row_count"] == oracle(path, "SELECT count(*) FROM people")[0][0]
    assert (profile["report_status"], profile["report_job_id"], profile["has_report"]) == (
        "pending", report_job, False)
    pending = _report(client)
    assert pending.status_code == 409, pending.text
    assert pending.json()["error"]["code"] == "report_pending" and report_job in pending.json()["error"]["message"]
    assert _report(client, profile["id"]).status_code == 409

    # The staged sample already has the detected PII column masked, and the others' own values.
    (staged,) = (staging_root(catalog_ctx.settings) / job.id).glob("*.parquet")
    sample = pd.read_parquet(staged)
    emails = sample["email"].dropna()
    assert len(emails) == len(_values(path, "email")) and set(emails) == {MASK}
    assert set(sample["name"]) <= set(_values(path, "name")) and len(sample) == 80

    set_tags(catalog_ctx, NAME, ["pii.name"])  # tagged after staging, before rendering: masked as well
    done = _released(catalog_ctx, report_job)
    assert done.status == "succeeded", (done.error_code, done.error_message)
    assert done.result["reports"] == 1

    html = _report(client)
    assert html.status_code == 200, html.text
    assert not [v for v in _values(path, "email") + _values(path, "name") if v in html.text]
    assert "Values of email, name are masked as ***." in html.text
    assert "Oslo" in html.text  # the other columns keep their values
    after = client.get(f"/api/v1/tables/{quote(TABLE, safe='')}/profile").json()
    assert (after["report_status"], after["has_report"], after["id"]) == ("ready", True, profile["id"])
    # The staged sample is gone with its folder.
    assert not (staging_root(catalog_ctx.settings) / job.id).exists()


@pytest.mark.parametrize("setting, cause", [
    ({"profile_report_timeout_s": 0.5}, "ran past its time limit of 0.5 s"),
    # Too little memory for the renderer even to import its libraries: it dies, and the cause says so.
    ({"profile_report_memory_mb": 40}, "the report renderer exited with status 1 (its memory limit is 40 MB): "),
], ids=["timeout", "crash"])
def test_a_renderer_that_dies_or_runs_late_fails_the_report_job_and_leaves_the_profile(
        catalog_ctx, people, client, setting, cause):
    source_id, path = people
    for name, value in setting.items():
        setattr(catalog_ctx.settings, name, value)
    job = _profiled(catalog_ctx, source_id)
    failed = finished(catalog_ctx, job.result["report_job"], timeout=300)
    assert failed.status == "failed" and failed.error_code == "report_failed", failed
    assert "people.main.people" in failed.error_message and cause in failed.error_message

    profile = query(catalog_ctx, profiling.latest_profile, TABLE)
    assert profile.row_count == 80 and (profile.report_status, profile.report_job_id) == ("failed", failed.id)
    missing = _report(client, profile.id)
    assert missing.status_code == 404 and cause in missing.json()["error"]["message"]
    assert not (staging_root(catalog_ctx.settings) / job.id).exists()


def test_the_service_process_never_imports_ydata_profiling(tmp_path, people, catalog_settings):
    """A fresh process profiles and renders with the in-process runner (the API's): the reports are rendered, and
    ydata-profiling, whose libraries would stay resident, was only ever imported by the renderer's child."""
    source_id, _ = people
    script = f"""
import json, sys
from catalog_api.bootstrap import build_context
from catalog_api.security.identity import LOCAL_OPERATOR, acting_as
from catalog_api.services import profiling
from catalog_api.services.jobs import wait_for_job
from catalog_api.settings import Settings
ctx = build_context(Settings.model_validate_json(sys.stdin.read()), migrate=True)
with acting_as(LOCAL_OPERATOR):
    job = wait_for_job(ctx, profiling.request_profile(ctx, {source_id}).id)
    report = wait_for_job(ctx, job.result["report_job"])
ctx.close()
print(json.dumps({{"report": report.status, "error": report.error_message,
                  "loaded": sorted(m for m in ("ydata_profiling", "matplotlib", "visions") if m in sys.modules)}}))
"""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[4])}
    ran = subprocess.run([sys.executable, "-c", script], input=catalog_settings.model_dump_json(),
                         capture_output=True, text=True, timeout=600, env=env, check=False)
    assert ran.returncode == 0, ran.stderr[-2000:]
    outcome = json.loads(ran.stdout.strip().splitlines()[-1])
    assert outcome == {"report": "succeeded", "error": None, "loaded": []}


def test_orphaned_staged_samples_are_removed_and_live_ones_kept(catalog_ctx, people):
    source_id, _ = people
    _held(catalog_ctx)
    job = _profiled(catalog_ctx, source_id)
    root = staging_root(catalog_ctx.settings)
    orphan = root / "00000000-dead-profile-job"
    orphan.mkdir(parents=True)
    (orphan / "t1-0.parquet").write_bytes(b"PAR1")
    past = time.time() - 2 * 24 * 3600
    for folder in (orphan, root / job.id):
        os.utime(folder, (past, past))
    # The queued report job still needs its folder, however old; the one nobody will render goes.
    assert remove_orphaned_samples(catalog_ctx) == [orphan.name]
    assert (root / job.id).is_dir() and not orphan.exists()
    with catalog_ctx.db.session() as session:
        assert get_job(session, job.result["report_job"]).status == "queued"
    assert _released(catalog_ctx, job.result["report_job"]).status == "succeeded"
