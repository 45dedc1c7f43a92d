"""With a remote lake, report samples are staged in the lake, so a worker with another home renders them: two service
contexts share one PostgreSQL catalog and one lake on Azurite (the Azure Blob emulator, through adlfs as in
production) but each has its own `CATALOG_HOME`, as two worker replicas on Azure Container Apps each have their own
EmptyDir. The profile job runs on the first, the report job on the second."""

from __future__ import annotations

import io
import time
from pathlib import Path
from urllib.parse import quote

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from catalog_api.app import create_app
from catalog_api.bootstrap import build_context
from catalog_api.db.models import Job
from catalog_api.errors import InvalidInput
from catalog_api.services import profiling, sources
from catalog_api.services.jobs import get_job
from catalog_api.services.profiling.report_jobs import remove_orphaned_samples
from catalog_api.services.profiling.staging import LAKE_STAGING_PREFIX, staging_root
from catalog_api.services.sources import validate_source_name
from catalog_api.urns import dataset_urn
from crawlers.files.layout import is_hidden
from profiler.report import MASK
from tests.support.api import API_HEADERS
from tests.support.azurite import azurite, azurite_container  # noqa: F401  (fixtures)
from tests.support.jobs import crawled, finished
from tests.support.sqlite import build_database, oracle

PEOPLE = """
CREATE TABLE people (id INTEGER PRIMARY KEY, email TEXT, name TEXT NOT NULL);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 60)
INSERT INTO people SELECT i, 'person' || i || '@mail.test', 'Name ' || i FROM n;
"""
TABLE = dataset_urn("people", "main", "people")


@pytest.fixture
def replicas(catalog_settings, pg_catalog_url, azurite, azurite_container, tmp_path):  # noqa: F811
    """Two contexts: one catalog database, one lake, two homes. The first holds its report jobs (concurrency 0) and
    closes them first if the test stops it early (`stopped`)."""
    shared = {"database_url": pg_catalog_url, "lake_url": f"abfs://{azurite_container.container_name}/lake",
              "lake_storage_options": {"connection_string": azurite.connection_string}}
    first = catalog_settings.model_copy(update={**shared, "job_concurrency": {
        **catalog_settings.job_concurrency, "report": 0}})
    second = catalog_settings.model_copy(update={**shared, "home": tmp_path / "other-home"})
    profiler_ctx = build_context(first, migrate=True)
    renderer_ctx = build_context(second, migrate=False)
    try:
        yield profiler_ctx, renderer_ctx
    finally:
        renderer_ctx.close()
        if not getattr(profiler_ctx, "stopped", False):
            profiler_ctx.close()


def _stop(ctx) -> None:
    """The replica that profiled goes away (scaled in): its report job stays queued in the catalog."""
    ctx.close()
    ctx.stopped = True


def _staged_blobs(container, profile_job: str = "") -> list[str]:
    prefix = f"lake/{LAKE_STAGING_PREFIX}/{profile_job}"
    return sorted(b.name for b in container.list_blobs(name_starts_with=prefix))


def _profiled(ctx, path: Path):
    """Registers, crawls and profiles the people database on `ctx`; the profile job must succeed."""
    source = sources.register_source(ctx, sources.SourceRegistration(
        name="people", kind="sqlite", config={"path": str(path)}))
    crawled(ctx, source.id)
    job = finished(ctx, profiling.request_profile(ctx, source.id))
    assert job.status == "succeeded", (job.error_code, job.error_message)
    return job


def test_a_report_job_on_another_home_renders_samples_staged_in_the_lake(
        replicas, azurite_container, tmp_path):  # noqa: F811
    profiler_ctx, renderer_ctx = replicas
    path = build_database(tmp_path / "people.db", PEOPLE)
    job = _profiled(profiler_ctx, path)
    report_job = job.result["report_job"]

    # The sample is in the lake, masked, and not left in the profiling worker's home.
    (blob,) = _staged_blobs(azurite_container, job.id)
    sample = pd.read_parquet(io.BytesIO(azurite_container.download_blob(blob).readall()))
    assert len(sample) == 60 and set(sample["email"]) == {MASK}
    assert not list((staging_root(profiler_ctx.settings) / job.id).glob("*.parquet"))

    _stop(profiler_ctx)
    renderer_ctx.jobs.submit(report_job, "report")  # the broker hands the job to the other replica's worker
    done = finished(renderer_ctx, report_job)
    assert done.status == "succeeded", (done.error_code, done.error_message)
    assert done.result["reports"] == 1

    with TestClient(create_app(ctx=renderer_ctx), headers=API_HEADERS) as client:
        html = client.get(f"/api/v1/tables/{quote(TABLE, safe='')}/profile/report")
    assert html.status_code == 200, html.text
    emails = [v for (v,) in oracle(path, "SELECT email FROM people")]
    assert "Values of email are masked as ***." in html.text
    assert not [e for e in emails if e in html.text]
    # Rendered, the staged objects are removed from the lake, and the downloads from the renderer's home.
    assert _staged_blobs(azurite_container, job.id) == []
    assert not (staging_root(renderer_ctx.settings) / job.id).exists()


def test_the_sweep_removes_an_orphaned_folder_in_the_lake_and_keeps_a_live_one(
        replicas, azurite_container, tmp_path):  # noqa: F811
    profiler_ctx, renderer_ctx = replicas
    job = _profiled(profiler_ctx, build_database(tmp_path / "people.db", PEOPLE))  # its report job stays queued: its folder is live
    orphan = f"lake/{LAKE_STAGING_PREFIX}/00000000-dead-profile-job/t1-0.parquet"
    azurite_container.upload_blob(orphan, b"PAR1")
    time.sleep(1.1)  # blob times have whole seconds: both folders are now older than "0 seconds ago"

    # The sweep of the other replica sees the lake's folders (its own home has none) and removes only the orphan.
    assert remove_orphaned_samples(renderer_ctx, older_than_s=0) == ["00000000-dead-profile-job"]
    assert _staged_blobs(azurite_container, "00000000-dead-profile-job") == []
    assert len(_staged_blobs(azurite_container, job.id)) == 1
    with renderer_ctx.db.session() as session:
        assert get_job(session, job.result["report_job"]).status == "queued"


def test_a_staged_file_named_outside_the_lake_prefix_is_refused(replicas, azurite_container, tmp_path):  # noqa: F811
    """A report job's entry naming a file above the staging prefix (`../…`) fails the job; the object there, which
    an unconfined download would render, is never read."""
    profiler_ctx, renderer_ctx = replicas
    job = _profiled(profiler_ctx, build_database(tmp_path / "people.db", PEOPLE))
    report_job = job.result["report_job"]
    outside = f"lake/{LAKE_STAGING_PREFIX.rsplit('/', 1)[0]}/elsewhere.parquet"
    azurite_container.upload_blob(outside, azurite_container.download_blob(
        _staged_blobs(azurite_container, job.id)[0]).readall())
    with renderer_ctx.db.session() as session:
        row = session.get(Job, report_job)
        entry = {**row.params["reports"][0], "file": f"{job.id}/../../elsewhere.parquet"}
        row.params = {**row.params, "reports": [entry]}

    _stop(profiler_ctx)
    renderer_ctx.jobs.submit(report_job, "report")
    done = finished(renderer_ctx, report_job)
    assert (done.status, done.error_code) == ("failed", "report_failed"), done
    assert "lies outside the staging folder" in done.error_message
    assert not (tmp_path / "other-home" / "staging" / "elsewhere.parquet").exists()


def test_the_reserved_prefix_can_never_be_a_lake_table_nor_crawled():
    """Lake tables live under `<lake>/<source>/…`: no source can be named `_catalog`, and the files crawler skips
    `_` folders, so a files source on the lake never lists staged samples."""
    top = Path(LAKE_STAGING_PREFIX).parts[0]
    with pytest.raises(InvalidInput):
        validate_source_name(top)
    assert is_hidden(top)
