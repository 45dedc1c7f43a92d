"""The HTML report of a profile run: rendered with the values of PII columns masked, whether it is ready, and read
back.

The report is a page rendered once, from the run's sample, so it cannot be masked per caller: the values of every
column that is PII when it is rendered (tagged `pii.*` in the catalog, or detected as such by this very run) are
masked in the sample before ydata-profiling sees it (already in the staged sample, see `report_jobs`), and the stored
report never holds them, whoever reads it. The masked columns are stored with the run. A column tagged after the
report was rendered still shows its values there: a caller without `pii:read` is refused that report (until the
table is profiled again), one with it reads it.

A report is rendered by a `report` job after its profile job (`report_jobs`): until then a run's report is
`pending`, and asking for it is answered with a 409 naming the job, not with a missing page.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog_api.db.models import ACTIVE_JOB_STATUSES, Job, ProfileReportRow, TableProfileRow
from catalog_api.errors import Conflict, NotFound, PiiWithheld
from catalog_api.security.identity import current_identity
from catalog_api.services.browse import entity_by_urn
from catalog_api.services.profiling.masking import pii_profiled_columns
from catalog_api.settings import Settings
from catalog_api.urns import EntityType

MASKED_COLUMNS = "report_masked_columns"
"""The key, in a run's stored table-level profile (`TableProfileRow.profile`), of the columns its report masks; a
run whose sample was staged for a report has it from the start."""

REPORT_JOB = "report_job"
"""The key, in a run's stored table-level profile, of the id of the `report` job rendering its report."""

NEWER_RUNS_LOOKED_AT = 50
"""How many runs newer than a table's newest report `profile_report` looks through for one still being rendered."""


class ReportStatus(StrEnum):
    """Where a run's HTML report is: `ready`, `pending` (being rendered), `failed` (rendering failed), or `none`
    (reports were off, or it was dropped to keep only the newest `profile_reports_kept`)."""

    READY = "ready"
    PENDING = "pending"
    FAILED = "failed"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class ReportState:
    """A run's report status, the job rendering it (or the profile job that will queue it) and why it failed."""

    status: ReportStatus
    job_id: str | None = None
    error: str | None = None


class ReportPending(Conflict):
    """The report asked for is still being rendered: ask again once its job has finished."""

    code = "report_pending"


def report_states(session: Session, rows: list[TableProfileRow]) -> dict[int, ReportState]:
    """The report state of each of these runs, in two queries (the HTML itself is not loaded)."""
    if not rows:
        return {}
    ready = set(session.scalars(select(ProfileReportRow.table_profile_id)
                                .where(ProfileReportRow.table_profile_id.in_([row.id for row in rows]))))
    awaited = {row.id: (row.profile or {}).get(REPORT_JOB) or row.job_id for row in rows
               if row.id not in ready and MASKED_COLUMNS in (row.profile or {})}
    jobs = {job_id: (status, error) for job_id, status, error in session.execute(
        select(Job.id, Job.status, Job.error_message).where(Job.id.in_(set(awaited.values()) - {None})))}
    states = {}
    for row in rows:
        if row.id in ready:
            states[row.id] = ReportState(ReportStatus.READY, (row.profile or {}).get(REPORT_JOB))
            continue
        job_id = awaited.get(row.id)
        status, error = jobs.get(job_id, (None, None))
        if status in ACTIVE_JOB_STATUSES:
            states[row.id] = ReportState(ReportStatus.PENDING, job_id)
        elif status in ("failed", "cancelled") and job_id == (row.profile or {}).get(REPORT_JOB):
            states[row.id] = ReportState(ReportStatus.FAILED, job_id, error or status)
        else:
            states[row.id] = ReportState(ReportStatus.NONE)
    return states


def _pending(urn: str, row: TableProfileRow, state: ReportState, field: str) -> ReportPending:
    if (row.profile or {}).get(REPORT_JOB):
        return ReportPending(f"the HTML report of profile {row.id} of {urn} is being rendered by report job "
                             f"{state.job_id}: ask again once it has finished", field=field)
    return ReportPending(f"the HTML report of profile {row.id} of {urn} will be rendered once its profile job "
                         f"{state.job_id} has finished: ask again then", field=field)


def profile_report(session: Session, settings: Settings, urn: str, profile_id: int | None = None) -> str:
    """The HTML report of the table's newest profile that has one or is having one rendered (or of the given
    profile); `ReportPending` while it is being rendered."""
    table = entity_by_urn(session, urn, expected=EntityType.DATASET)
    runs = (select(TableProfileRow).where(TableProfileRow.table_id == table.id)
            .order_by(TableProfileRow.started_at.desc(), TableProfileRow.id.desc()))
    if profile_id is not None:
        rows = list(session.scalars(runs.where(TableProfileRow.id == profile_id)))
    else:
        newest = session.execute(select(TableProfileRow.started_at, TableProfileRow.id)
                                 .join(ProfileReportRow, ProfileReportRow.table_profile_id == TableProfileRow.id)
                                 .where(TableProfileRow.table_id == table.id)
                                 .order_by(TableProfileRow.started_at.desc(), TableProfileRow.id.desc())).first()
        if newest is not None:
            runs = runs.where((TableProfileRow.started_at > newest.started_at) | (TableProfileRow.id == newest.id)
                              | ((TableProfileRow.started_at == newest.started_at) & (TableProfileRow.id > newest.id)))
        rows = list(session.scalars(runs.limit(NEWER_RUNS_LOOKED_AT + 1)))
    states = report_states(session, rows)
    usable = [row for row in rows if states[row.id].status in (ReportStatus.READY, ReportStatus.PENDING)]
    which = f"profile {profile_id} of {urn}" if profile_id is not None else urn
    field = "urn" if profile_id is None else "profile_id"
    if not usable:
        failed = next((states[row.id] for row in rows if states[row.id].status is ReportStatus.FAILED), None)
        if failed is not None:
            raise NotFound(f"no HTML report for {which}: its report job {failed.job_id} failed ({failed.error}); "
                           "profile the table again for a new one", field=field)
        raise NotFound(f"no HTML report for {which}: profile the table first (reports are kept for the newest "
                       f"{settings.profile_reports_kept} profiles)", field="urn")
    row = usable[0]
    if states[row.id].status is ReportStatus.PENDING:
        raise _pending(urn, row, states[row.id], field)
    if not current_identity().reveals_pii:
        # Reports rendered before masking existed record no masked columns: every PII column counts as shown.
        shown = pii_profiled_columns(session, row.id) - set((row.profile or {}).get(MASKED_COLUMNS, ()))
        if shown:
            raise PiiWithheld(f"the HTML report of profile {row.id} of {urn} shows values of "
                              f"{', '.join(sorted(shown))}, tagged pii.* after it was rendered: reading it needs the "
                              "pii:read permission, or profile the table again for a report that masks them")
    return session.scalar(select(ProfileReportRow.html).where(ProfileReportRow.table_profile_id == row.id))
