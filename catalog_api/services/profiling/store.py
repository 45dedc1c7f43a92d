"""Storing what one table's profile produced, in one transaction: the profile and its column rows, the anomalies
found against the table's history, the PII tags its values imply and the events. Its HTML report is stored later,
by the `report` job (`report_jobs`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog_api.db.models import (
    ChangeLogEntry,
    Column,
    ColumnProfileRow,
    ProfileAnomalyRow,
    Table,
    TableProfileRow,
    Tag,
)
from catalog_api.observability.tracing import span
from catalog_api.services.context import ServiceContext
from catalog_api.services.events.outbox import record_event
from catalog_api.services.profiling.masking import detected_pii, masked_anomaly, pii_columns
from catalog_api.services.profiling.reading import TableRead, Target
from catalog_api.services.profiling.reports import MASKED_COLUMNS
from catalog_api.services.search.documents import refresh_tables
from catalog_api.urns import EntityType, parse_urn
from events.data import AnomalyDetected, ProfileCompleted, TagsChanged
from profiler import TableProfile, detect_anomalies


def _schema_changes(session: Session, table_id: int, since: datetime | None) -> list[dict[str, Any]]:
    """The table's change-log entries since its previous profile, as `detect_anomalies` takes them."""
    if since is None:
        return []
    entries = session.scalars(select(ChangeLogEntry).where(ChangeLogEntry.table_id == table_id,
                                                           ChangeLogEntry.detected_at > since)
                              .order_by(ChangeLogEntry.detected_at, ChangeLogEntry.id))
    changes = []
    for entry in entries:
        urn = parse_urn(entry.entity_urn)
        column = urn.names[-1] if urn.type is EntityType.COLUMN else None
        changes.append({"change_type": entry.change_type, "column": column, "before": entry.before,
                        "after": entry.after})
    return changes


def _float(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number and abs(number) != float("inf") else None


def store_profile(ctx: ServiceContext, job_id: str, target: Target, profile: TableProfile, read: TableRead,
                  primary: list[Any], report_masks: tuple[str, ...] | None, source_urn: str) -> tuple[int, int]:
    """Everything one table's profile produces, in one transaction. Returns (profile id, anomaly count).
    `report_masks`: the columns masked in the sample staged for its report; None when none was staged.

    Events go to consumers whose rights the catalog does not know, so an anomaly event about a PII column (tagged
    now, or found to be PII by this run) quotes none of its values, as if read without `pii:read`.
    """
    from profiler.model import to_json_value

    with ctx.db.session() as session:
        table = session.get(Table, target.table_id)
        columns = {c.name: c.urn for c in session.scalars(
            select(Column).where(Column.table_id == table.id, Column.deleted_at.is_(None)))}
        history_rows = list(session.scalars(
            select(TableProfileRow).where(TableProfileRow.table_id == table.id)
            .order_by(TableProfileRow.started_at.desc(), TableProfileRow.id.desc())
            .limit(ctx.settings.profile_history)))
        history = [_restore(session, row) for row in history_rows]
        since = history_rows[0].started_at if history_rows else None
        with span("anomalies"):
            anomalies = detect_anomalies(history, profile,
                                         schema_changes=_schema_changes(session, table.id, since),
                                         thresholds=target.thresholds)
        table_part = profile.to_dict()
        table_part.pop("columns", None)
        if report_masks is not None:
            table_part[MASKED_COLUMNS] = list(report_masks)
        row = TableProfileRow(
            table_id=table.id, job_id=job_id, started_at=profile.started_at, finished_at=profile.finished_at,
            row_count=profile.row_count, column_count=len(profile.columns), size_bytes=profile.size_bytes,
            duplicate_rows_estimate=profile.duplicate_rows_estimate, spark_jobs=profile.spark_jobs,
            read_from=read.read_from, lake_runs=read.lake_runs,
            sample_rows=profile.sample.rows if profile.sample else None,
            candidate_keys=[k.to_dict() for k in primary], foreign_keys=[], anomaly_count=len(anomalies),
            profile=table_part)
        session.add(row)
        session.flush()
        session.add_all(ColumnProfileRow(table_profile_id=row.id, name=c.name, stats=c.to_dict(),
                                         column_urn=columns.get(c.name, f"{table.urn}#{c.name}"))
                        for c in profile.columns)
        pii = pii_columns(session, columns.values()) | {columns[n] for n in detected_pii(profile) if n in columns}
        record_event(session, ProfileCompleted(
            job_id=job_id, row_count=profile.row_count, column_count=len(profile.columns), sampled=False,
            profiled_at=profile.started_at, anomaly_count=len(anomalies)), table.urn, time=profile.finished_at)
        for anomaly in anomalies:
            column_urn = columns.get(anomaly.column) if anomaly.column else None
            subject = column_urn or table.urn
            session.add(ProfileAnomalyRow(
                table_profile_id=row.id, table_id=table.id, subject_urn=subject, column=anomaly.column,
                kind=anomaly.kind.value, severity=anomaly.severity, method=anomaly.method, message=anomaly.message,
                observed=to_json_value(anomaly.observed), expected=to_json_value(anomaly.expected),
                expected_min=_float(anomaly.expected_min), expected_max=_float(anomaly.expected_max),
                score=_float(anomaly.score), detected_at=profile.finished_at))
            figures = {"observed": _float(anomaly.observed), "expected_min": _float(anomaly.expected_min),
                       "expected_max": _float(anomaly.expected_max), "message": anomaly.message}
            if subject in pii:
                figures, _ = masked_anomaly(anomaly.kind.value, anomaly.column, figures)
            record_event(session, AnomalyDetected(
                dataset=table.urn, column=anomaly.column, metric=anomaly.kind.value, severity=anomaly.severity,
                job_id=job_id, **figures), subject, time=profile.finished_at)
        _apply_detected_tags(session, profile, columns)
        refresh_tables(session, [table.id])  # new PII tags and anomalies, searchable in this transaction
        return row.id, len(anomalies)


def _apply_detected_tags(session: Session, profile: TableProfile, columns: dict[str, str]) -> None:
    """Adds the classification tags the profile detected (e.g. `pii.email`) to its columns.

    Detected tags are only ever added: removing one is a curator's decision, and a later profile that no longer
    sees the pattern (a sample without emails, say) must not undo what a person confirmed.
    """
    for column in profile.columns:
        urn = columns.get(column.name)
        if urn is None or not column.tags:
            continue
        current = set(session.scalars(select(Tag.tag).where(Tag.entity_urn == urn)))
        new = sorted(set(column.tags) - current)
        if not new:
            continue
        session.add_all(Tag(entity_urn=urn, tag=t) for t in new)
        record_event(session, TagsChanged.between("column", current, current | set(new)), urn)


def _restore(session: Session, row: TableProfileRow) -> TableProfile:
    data = dict(row.profile)
    data["columns"] = [c.stats for c in session.scalars(
        select(ColumnProfileRow).where(ColumnProfileRow.table_profile_id == row.id).order_by(ColumnProfileRow.id))]
    return TableProfile.from_dict(data)


def store_foreign_keys(ctx: ServiceContext, row_ids: dict[str, int], found: list[Any]) -> None:
    by_child: dict[str, list[dict[str, Any]]] = {}
    for candidate in found:
        by_child.setdefault(candidate.child_table, []).append(candidate.to_dict())
    with ctx.db.session() as session:
        for urn, profile_id in row_ids.items():
            session.get(TableProfileRow, profile_id).foreign_keys = by_child.get(urn, [])
