"""What callers see of profiles: immutable views of profile runs, column statistics and anomalies, built from the
stored rows in a fixed number of queries however many runs."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog_api.db.models import ColumnProfileRow, ProfileAnomalyRow, ProfileReportRow, Table, TableProfileRow


@dataclass(frozen=True, slots=True)
class ColumnProfileView:
    """One column's statistics in one profile run, as the API shows them."""

    profile_id: int
    column_urn: str
    name: str
    started_at: datetime
    stats: dict[str, Any]


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


@dataclass(frozen=True, slots=True)
class ProfileView:
    """One profile run of a table; `columns` is filled for a single profile, empty in history lists."""

    id: int
    table_urn: str
    job_id: str | None
    started_at: datetime
    finished_at: datetime
    row_count: int
    column_count: int
    size_bytes: int | None
    duplicate_rows_estimate: int | None
    spark_jobs: int | None
    read_from: str
    lake_runs: list[str]
    sample_rows: int | None
    candidate_keys: list[dict[str, Any]]
    foreign_keys: list[dict[str, Any]]
    anomaly_count: int
    has_report: bool
    columns: list[ColumnProfileView] = field(default_factory=list)
    anomalies: list[AnomalyView] = field(default_factory=list)

    @property
    def duration_s(self) -> float:
        return (self.finished_at - self.started_at).total_seconds()


def anomaly_view(row: ProfileAnomalyRow, table_urn: str) -> AnomalyView:
    return AnomalyView(
        id=row.id, profile_id=row.table_profile_id, table_urn=table_urn, subject_urn=row.subject_urn,
        column=row.column, kind=row.kind, severity=row.severity, method=row.method, message=row.message,
        observed=row.observed, expected=row.expected, expected_min=row.expected_min, expected_max=row.expected_max,
        score=row.score, detected_at=row.detected_at)


def profile_views(session: Session, rows: list[TableProfileRow], *, detailed: bool) -> list[ProfileView]:
    """Views of profile runs of any tables, in a fixed number of queries however many runs (for lists and
    DataLoaders). `detailed` adds each run's column statistics and anomalies."""
    ids = [row.id for row in rows]
    if not ids:
        return []
    reported = _reported(session, ids)
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
    return [ProfileView(
        id=row.id, table_urn=urns[row.table_id], job_id=row.job_id, started_at=row.started_at,
        finished_at=row.finished_at, row_count=row.row_count, column_count=row.column_count,
        size_bytes=row.size_bytes, duplicate_rows_estimate=row.duplicate_rows_estimate, spark_jobs=row.spark_jobs,
        read_from=row.read_from, lake_runs=list(row.lake_runs or []), sample_rows=row.sample_rows,
        candidate_keys=list(row.candidate_keys), foreign_keys=list(row.foreign_keys),
        anomaly_count=row.anomaly_count, has_report=reported[row.id],
        columns=[ColumnProfileView(row.id, c.column_urn, c.name, row.started_at, c.stats) for c in columns[row.id]],
        anomalies=[anomaly_view(a, urns[row.table_id]) for a in anomalies[row.id]],
    ) for row in rows]


def _reported(session: Session, profile_ids: list[int]) -> dict[int, bool]:
    """Which of these profile runs still keep an HTML report, in one query (the HTML itself is not loaded)."""
    found = set(session.scalars(select(ProfileReportRow.table_profile_id)
                                .where(ProfileReportRow.table_profile_id.in_(profile_ids))))
    return {pid: pid in found for pid in profile_ids}
