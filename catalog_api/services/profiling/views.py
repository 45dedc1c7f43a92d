"""What callers see of profiles: immutable views of profile runs, column statistics and anomalies, built from the
stored rows in a fixed number of queries however many runs. Values of PII columns are masked here, for callers
without `pii:read` (see `masking`), so every transport shows the same."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog_api.db.models import ColumnProfileRow, ProfileAnomalyRow, Table, TableProfileRow
from catalog_api.services.profiling.masking import ANOMALY_FIGURES, hidden_columns, masked_anomaly, masked_stats
from catalog_api.services.profiling.reports import ReportStatus, report_states
from catalog_api.services.views import from_row
from profiler.model import DuplicateRows


@dataclass(frozen=True, slots=True)
class ColumnProfileView:
    """One column's statistics in one profile run, as the API shows them."""

    profile_id: int
    column_urn: str
    name: str
    profiled_at: datetime
    """When the profile run that measured these statistics started."""
    stats: dict[str, Any]
    masked: list[str] = field(default_factory=list)
    """Statistics withheld (null in `stats`) because the column is tagged `pii.*` and the caller lacks `pii:read`;
    empty when nothing is withheld."""


@dataclass(frozen=True, slots=True)
class AnomalyView:
    """A stored anomaly."""

    id: int
    profile_id: int
    table_urn: str
    subject_urn: str
    column: str | None
    kind: str
    severity: str
    method: str
    message: str
    observed: Any
    expected: Any
    expected_min: float | None
    expected_max: float | None
    score: float | None
    detected_at: datetime
    masked: list[str] = field(default_factory=list)
    """Figures withheld because the anomaly quotes values of a column tagged `pii.*` and the caller lacks
    `pii:read`: they are null, except `message`, which is replaced by one that quotes nothing."""


@dataclass(frozen=True, slots=True)
class DuplicateRowsView:
    """Rows equal in every column to another row, beyond the first of each, and how sure the figure is: `exact`, or
    an estimate `value` with the interval `[low, high]` holding the true count with probability `confidence`."""

    value: int
    exact: bool
    low: int
    high: int
    method: str
    """`unique_column` (a column counted exactly is all distinct: none), `counted` (every distinct row counted by
    its 64-bit hash), `sketch` (estimated from a sample of distinct rows) or `legacy` (an older profiler's
    estimate)."""
    confidence: float | None = None


def duplicate_rows_view(row: TableProfileRow) -> DuplicateRowsView | None:
    """A run's duplicate rows; runs stored before they were bounded get their estimate with its stated error."""
    data = row.profile or {}
    if data.get("duplicate_rows"):
        found = DuplicateRows.from_dict(data["duplicate_rows"])
    elif row.duplicate_rows_estimate is not None:
        found = DuplicateRows.legacy(row.duplicate_rows_estimate, data.get("duplicate_rows_rsd"), row.row_count)
    else:
        return None
    return DuplicateRowsView(found.value, found.exact, found.low, found.high, found.method.value, found.confidence)


@dataclass(frozen=True, slots=True)
class ProfileView:
    """One profile run of a table; `columns` is filled for a single profile, empty in history lists."""

    id: int
    table_urn: str
    job_id: str | None
    started_at: datetime
    finished_at: datetime
    duration_s: float
    row_count: int
    column_count: int
    size_bytes: int | None
    duplicate_rows: DuplicateRowsView | None
    duplicate_rows_estimate: int | None
    """`duplicate_rows.value`, kept for older callers: it does not say whether it is exact."""
    spark_jobs: int | None
    read_from: str
    lake_runs: list[str]
    sample_rows: int | None
    candidate_keys: list[dict[str, Any]]
    foreign_keys: list[dict[str, Any]]
    anomaly_count: int
    has_report: bool
    report_url: str | None
    """The REST path of the run's HTML report; None when it keeps none (only the newest runs do)."""
    report_status: str = ReportStatus.NONE.value
    """`ready`, `pending` (a `report` job renders it after the profile job), `failed` (see that job's error) or
    `none` (reports were off, or only the newest runs keep one)."""
    report_job_id: str | None = None
    """The job rendering (or that rendered) the run's report; while it is pending and not yet queued, the profile
    job that will queue it."""
    columns: list[ColumnProfileView] = field(default_factory=list)
    anomalies: list[AnomalyView] = field(default_factory=list)


def report_url(table_urn: str, profile_id: int) -> str:
    """The REST path of one profile run's HTML report (the URN is one URL-encoded path segment)."""
    return f"/api/v1/tables/{quote(table_urn, safe='')}/profile/report?profile_id={profile_id}"


def column_profile_view(row: ColumnProfileRow, profiled_at: datetime, hidden: set[str]) -> ColumnProfileView:
    """The view of a column's statistics; `hidden` holds the column URNs whose values the caller may not see."""
    if row.column_urn not in hidden:
        return ColumnProfileView(row.table_profile_id, row.column_urn, row.name, profiled_at, row.stats)
    stats, masked = masked_stats(row.stats)
    return ColumnProfileView(row.table_profile_id, row.column_urn, row.name, profiled_at, stats, masked)


def anomaly_view(row: ProfileAnomalyRow, table_urn: str, hidden: set[str]) -> AnomalyView:
    """The view of a stored anomaly; `hidden` holds the column URNs whose values the caller may not see."""
    if row.subject_urn not in hidden:
        return from_row(AnomalyView, row, profile_id=row.table_profile_id, table_urn=table_urn, masked=[])
    figures, masked = masked_anomaly(row.kind, row.column, {name: getattr(row, name) for name in ANOMALY_FIGURES})
    return from_row(AnomalyView, row, profile_id=row.table_profile_id, table_urn=table_urn, masked=masked, **figures)


def profile_views(session: Session, rows: list[TableProfileRow], *, detailed: bool) -> list[ProfileView]:
    """Views of profile runs of any tables, in a fixed number of queries however many runs (for lists and
    DataLoaders). `detailed` adds each run's column statistics and anomalies."""
    ids = [row.id for row in rows]
    if not ids:
        return []
    reports = report_states(session, rows)
    reported = {pid: state.status is ReportStatus.READY for pid, state in reports.items()}
    urns = dict(session.execute(select(Table.id, Table.urn).where(Table.id.in_({row.table_id for row in rows}))).all())
    columns: dict[int, list[ColumnProfileRow]] = defaultdict(list)
    anomalies: dict[int, list[ProfileAnomalyRow]] = defaultdict(list)
    if detailed:
        for c in session.scalars(select(ColumnProfileRow).where(ColumnProfileRow.table_profile_id.in_(ids))
                                 .order_by(ColumnProfileRow.id)):
            columns[c.table_profile_id].append(c)
        for a in session.scalars(select(ProfileAnomalyRow).where(ProfileAnomalyRow.table_profile_id.in_(ids))
                                 .order_by(ProfileAnomalyRow.id)):
            anomalies[a.table_profile_id].append(a)
    hidden = hidden_columns(session, {c.column_urn for runs in columns.values() for c in runs}
                            | {a.subject_urn for runs in anomalies.values() for a in runs})
    return [from_row(
        ProfileView, row, table_urn=urns[row.table_id], duplicate_rows=duplicate_rows_view(row),
        duration_s=(row.finished_at - row.started_at).total_seconds(), lake_runs=list(row.lake_runs or []),
        candidate_keys=list(row.candidate_keys), foreign_keys=list(row.foreign_keys), has_report=reported[row.id],
        report_url=report_url(urns[row.table_id], row.id) if reported[row.id] else None,
        report_status=reports[row.id].status.value, report_job_id=reports[row.id].job_id,
        columns=[column_profile_view(c, row.started_at, hidden) for c in columns[row.id]],
        anomalies=[anomaly_view(a, urns[row.table_id], hidden) for a in anomalies[row.id]],
    ) for row in rows]

