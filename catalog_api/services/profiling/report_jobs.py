"""The `report` job: HTML reports rendered after their profile job, out of its process.

A profile job stores and announces each table's profile at once; rendering its ydata-profiling report took 99 % of
the job's time and left about 250 MB of libraries in the process. Instead, the profile job stages each table's
bounded sample as Parquet under `<home>/staging/reports/<profile job id>/` with the values of PII columns already
masked (`ReportStaging`), and, when it ends, queues one `report` job for what it staged, whose id every staged profile
row records (`REPORT_JOB`) so the API can say the report is being rendered. The report job renders them all in one
child process (`profiler.report_process`: bounded in time and memory; neither the API process nor a worker imports
ydata-profiling), masking also the columns tagged `pii.*` since staging, stores each report on its profile row
(keeping `profile_reports_kept` per table) and removes the staged files. A staged sample nobody renders (its process
died before queuing the job) is removed by retention (`remove_orphaned_samples`).

Staged files live in the catalog's home, or in the lake when the lake is remote (`staging.SampleStaging`), so
with a remote lake any worker renders any profile job's reports. A report job that finds its samples gone fails
with that cause; the profiles stay.
"""

from __future__ import annotations

import logging
import shutil
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select

from catalog_api.db.models import Job, ProfileReportRow, TableProfileRow
from catalog_api.errors import CatalogError
from catalog_api.observability.tracing import span
from catalog_api.services.context import ServiceContext
from catalog_api.services.jobs.records import add_job
from catalog_api.services.jobs.running import JobControl, JobTakenOver, is_transient
from catalog_api.services.jobs.status import JobStatus
from catalog_api.services.profiling.masking import detected_pii, pii_column_names
from catalog_api.services.profiling.reading import Target
from catalog_api.services.profiling.reports import MASKED_COLUMNS, REPORT_JOB
from catalog_api.services.profiling.staging import OutsideStaging, SampleStaging, confined
from profiler import TableProfile

if TYPE_CHECKING:
    from pathlib import Path

    import pandas as pd

log = logging.getLogger(__name__)

REPORT = "report"


class ReportFailed(CatalogError):
    """Reports could not be rendered (the renderer crashed, ran out of time or memory, or lost its staged sample);
    the profiles they belong to are stored and unchanged."""

    code = "report_failed"
    status = 500


@dataclass(frozen=True, slots=True)
class StagedSample:
    """One table's sample, staged for its report: the file (relative to the staging root), the report's title and the
    columns masked in the file."""

    file: str
    title: str
    masked_columns: tuple[str, ...]


@dataclass
class ReportStaging:
    """The samples one profile job stages, and the `report` job that renders them (`submit`, once, at its end)."""

    ctx: ServiceContext
    profile_job_id: str
    staged: dict[int, StagedSample] = field(default_factory=dict)
    """By profile row id."""
    store: SampleStaging = field(init=False)

    def __post_init__(self) -> None:
        self.store = SampleStaging(self.ctx.settings)

    def stage(self, target: Target, profile: TableProfile, sample: pd.DataFrame, title: str) -> StagedSample | None:
        """Writes the table's sample, masked, for its report; None when reports are off or staging failed (a report
        is a convenience: its failure must not lose the profile)."""
        if not self.ctx.settings.profile_reports_enabled:
            return None
        from profiler.report import stage_sample

        with self.ctx.db.session() as session:
            masked = pii_column_names(session, target.table_id) | detected_pii(profile)
        folder = self.store.local_folder(self.profile_job_id)
        folder.mkdir(parents=True, exist_ok=True)
        file = f"{self.profile_job_id}/t{target.table_id}-{len(self.staged)}.parquet"
        path = confined(self.store.local_root, file)
        try:
            stage_sample(sample, path, max_rows=max(1, self.ctx.settings.profile_sample_rows), masked_columns=masked)
            self.store.publish(file)
        except Exception:
            log.warning("staging the report sample of %s failed", title, exc_info=True)
            path.unlink(missing_ok=True)
            return None
        # Every PII name counts as masked, in the sample or not: the report shows none of their values.
        return StagedSample(file, title, tuple(sorted(masked)))

    def stored(self, profile_id: int, sample: StagedSample) -> None:
        self.staged[profile_id] = sample

    def submit(self, *, quietly: bool = False) -> str | None:
        """Queues the `report` job of what was staged and stored, recording its id on each staged profile row in
        the same transaction; returns its id (None when nothing was staged). `quietly`: while the profile job fails
        for another reason, a failure here is logged, not raised over it."""
        try:
            return self._submit()
        except Exception:
            if not quietly:
                raise
            log.warning("queuing the report job of profile job %s failed", self.profile_job_id, exc_info=True)
            return None

    def _submit(self) -> str | None:
        if not self.staged:
            self.store.remove(self.profile_job_id)
            return None
        params = {"profile_job": self.profile_job_id,
                  "reports": [{"profile_id": pid, "file": s.file, "title": s.title,
                               "masked_columns": list(s.masked_columns)} for pid, s in self.staged.items()]}
        with self.ctx.db.session() as session:
            job, _ = add_job(session, self.ctx, REPORT, None, params=params)
            session.flush()
            for row in session.scalars(select(TableProfileRow).where(TableProfileRow.id.in_(self.staged))):
                row.profile = {**(row.profile or {}), REPORT_JOB: job.id}
            job_id = job.id
        self.ctx.jobs.submit(job_id, REPORT)
        log.info("report job %s queued for %d profile(s)", job_id, len(self.staged))
        return job_id


def _fetched(store: SampleStaging, file: str) -> Path | None:
    try:
        return store.fetch(file)
    except OutsideStaging as error:
        raise ReportFailed(str(error), field="file") from error


def run_report_job(ctx: ServiceContext, job: JobControl) -> dict[str, Any]:
    """Renders the reports a profile job staged, in one child process, and stores each on its profile row."""
    from profiler.report_process import StagedReport, render_in_child

    started = time.monotonic()
    store = SampleStaging(ctx.settings)
    with ctx.db.session() as session:
        params = session.get(Job, job.job_id).params or {}
        entries = {int(e["profile_id"]): e for e in params.get("reports", [])}
        tables = dict(session.execute(select(TableProfileRow.id, TableProfileRow.table_id)
                                      .where(TableProfileRow.id.in_(entries))).all())
        # Columns tagged pii.* since the sample was staged are masked too.
        tagged = {table_id: pii_column_names(session, table_id) for table_id in set(tables.values())}
    profile_job = str(params.get("profile_job", ""))
    try:
        folder = store.local_folder(profile_job)
    except OutsideStaging as error:
        raise ReportFailed(str(error), field="profile_job") from error
    job.progress(0, len(entries), f"rendering {len(entries)} report(s)")
    failed: dict[int, str] = {}
    staged: list[StagedReport] = []
    for profile_id, entry in entries.items():
        if profile_id not in tables:
            continue  # the profile was deleted meanwhile (its source was removed, say): nothing to report on
        path = _fetched(store, entry["file"])
        if path is None:
            where = "the lake" if store.remote else "the catalog's home"
            failed[profile_id] = (f"its staged sample {entry['file']} is gone (was the report job run by a worker "
                                  f"that does not share {where} with the profile's?)")
            continue
        masked = set(entry.get("masked_columns") or ()) | tagged[tables[profile_id]]
        staged.append(StagedReport(str(profile_id), path, entry["title"], tuple(sorted(masked))))
    rendered = 0
    try:
        with span("render reports", {"catalog.reports": len(staged)}):
            outcomes = render_in_child(staged, folder / f"render-{job.job_id}", check=job.check,
                                       timeout_s=ctx.settings.profile_report_timeout_s,
                                       memory_mb=ctx.settings.profile_report_memory_mb) if staged else []
        for report, outcome in zip(staged, outcomes, strict=True):
            if outcome.html is None:
                failed[int(outcome.key)] = outcome.error or "no report"
                continue
            store_report(ctx, int(outcome.key), outcome.html, report.masked_columns)
            rendered += 1
    except BaseException as error:
        # Another attempt renders them (the job handed back, taken over, or retried): it needs the samples.
        if not (ctx.in_flight.stopping or is_transient(error) or isinstance(error, JobTakenOver)):
            store.remove(profile_job)
        elif store.remote:
            shutil.rmtree(folder, ignore_errors=True)  # the downloads: the lake keeps the samples
        raise
    store.remove(profile_job)
    job.progress(len(entries), len(entries), "done")
    if failed:
        names = ", ".join(f"{entries[pid]['title']} ({cause})" for pid, cause in failed.items())
        raise ReportFailed(f"{len(failed)} of {len(entries)} report(s) could not be rendered: {names}")
    return {"reports": rendered, "seconds": round(time.monotonic() - started, 3)}


def store_report(ctx: ServiceContext, profile_id: int, html: str, masked_columns: tuple[str, ...]) -> None:
    """Stores a run's report and the columns it masks, and drops the table's reports beyond `profile_reports_kept`
    (newest runs first), in one transaction."""
    with ctx.db.session() as session:
        row = session.get(TableProfileRow, profile_id)
        if row is None or session.get(ProfileReportRow, profile_id) is not None:
            return  # its profile is gone, or an earlier attempt of the job stored it
        row.profile = {**(row.profile or {}), MASKED_COLUMNS: list(masked_columns)}
        session.add(ProfileReportRow(table_profile_id=row.id, html=html))
        session.flush()
        with_reports = session.scalars(
            select(ProfileReportRow.table_profile_id)
            .join(TableProfileRow, TableProfileRow.id == ProfileReportRow.table_profile_id)
            .where(TableProfileRow.table_id == row.table_id)
            .order_by(TableProfileRow.started_at.desc(), TableProfileRow.id.desc())).all()
        older = with_reports[ctx.settings.profile_reports_kept:]
        if older:
            session.execute(delete(ProfileReportRow).where(ProfileReportRow.table_profile_id.in_(older)))


ORPHANED_AFTER_S = 24 * 3600.0
"""A staged folder untouched this long, whose profile job and report job are both over, is an orphan."""


def remove_orphaned_samples(ctx: ServiceContext, older_than_s: float = ORPHANED_AFTER_S) -> list[str]:
    """Removes staged folders nobody will render: untouched for `older_than_s`, and neither the profile job that
    staged them nor a report job of theirs is queued or running. Returns the folders' names."""
    store = SampleStaging(ctx.settings)
    old = store.folders_older_than(time.time() - older_than_s)
    if not old:
        return []
    with ctx.db.session() as session:
        active = [job.params for job in session.scalars(select(Job).where(
            Job.kind == REPORT, Job.status.in_([JobStatus.QUEUED.value, JobStatus.RUNNING.value])))]
        active_ids = set(session.scalars(select(Job.id).where(
            Job.id.in_(old), Job.status.in_([JobStatus.QUEUED.value, JobStatus.RUNNING.value]))))
    active_ids |= {(params or {}).get("profile_job") for params in active}
    removed = []
    for name in old:
        if name not in active_ids:
            store.remove(name)
            removed.append(name)
    if removed:
        log.info("removed %d orphaned report sample folder(s)", len(removed))
    return removed
