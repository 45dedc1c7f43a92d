"""Reading profiles back: a table's newest profile, its history, a column's history and anomalies."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalog_api.db.models import ColumnProfileRow, ProfileAnomalyRow, Table, TableProfileRow
from catalog_api.errors import InvalidInput, NotFound
from catalog_api.services.browse import entity_by_urn
from catalog_api.services.profiling.masking import hidden_columns
from catalog_api.services.profiling.views import (
    AnomalyView,
    ColumnProfileView,
    ProfileView,
    anomaly_view,
    column_profile_view,
    profile_views,
)
from catalog_api.services.sources import source_row
from catalog_api.urns import EntityType

MAX_HISTORY = 500
"""The most profile runs one history answers."""
MAX_ANOMALIES = 1000
"""The most anomalies one listing answers."""


def _check_limit(limit: int, most: int = MAX_HISTORY) -> None:
    if not 1 <= limit <= most:
        raise InvalidInput("limit", f"between 1 and {most}")


def latest_profile(session: Session, urn: str) -> ProfileView | None:
    """The newest profile of a table with its column statistics and anomalies; None before the first profile."""
    table = entity_by_urn(session, urn, expected=EntityType.DATASET)
    return latest_profiles(session, [table.id]).get(table.id)


def latest_profiles(session: Session, table_ids: list[int]) -> dict[int, ProfileView]:
    """The newest profile of each of the given tables (by id), detailed, in a fixed number of queries; tables never
    profiled are left out."""
    if not table_ids:
        return {}
    newest_first = (TableProfileRow.started_at.desc(), TableProfileRow.id.desc())
    ranked = (select(TableProfileRow.id, func.row_number().over(
        partition_by=TableProfileRow.table_id, order_by=newest_first).label("position"))
        .where(TableProfileRow.table_id.in_(set(table_ids))).subquery())
    rows = list(session.scalars(select(TableProfileRow).join(ranked, ranked.c.id == TableProfileRow.id)
                                .where(ranked.c.position == 1)))
    return {row.table_id: view for row, view in zip(rows, profile_views(session, rows, detailed=True),
                                                    strict=True)}


def get_profile(session: Session, profile_id: int) -> ProfileView:
    """One profile run by id, with its column statistics and anomalies."""
    found = get_profiles(session, [profile_id])
    if profile_id not in found:
        raise NotFound(f"no profile with id {profile_id}", field="id")
    return found[profile_id]


def get_profiles(session: Session, profile_ids: list[int]) -> dict[int, ProfileView]:
    """Profile runs by id, with their column statistics and anomalies, in a fixed number of queries however many
    (for DataLoaders: a table's history with each run's columns); ids of no run are left out."""
    if not profile_ids:
        return {}
    rows = list(session.scalars(select(TableProfileRow).where(TableProfileRow.id.in_(set(profile_ids)))))
    return {view.id: view for view in profile_views(session, rows, detailed=True)}


def profiles_by_id(session: Session, profile_ids: list[int]) -> dict[int, ProfileView]:
    """The profile runs among these ids, as `get_profile` answers each, in a fixed number of statements."""
    rows = list(session.scalars(select(TableProfileRow).where(TableProfileRow.id.in_(profile_ids))))
    return {view.id: view for view in profile_views(session, rows, detailed=True)}


def profile_history(session: Session, urn: str, *, limit: int = 50) -> list[ProfileView]:
    """A table's profile runs, newest first (table-level figures only)."""
    _check_limit(limit)
    table = entity_by_urn(session, urn, expected=EntityType.DATASET)
    rows = list(session.scalars(select(TableProfileRow).where(TableProfileRow.table_id == table.id)
                                .order_by(TableProfileRow.started_at.desc(), TableProfileRow.id.desc())
                                .limit(limit)))
    return profile_views(session, rows, detailed=False)


def column_profile_history(session: Session, urn: str, *, limit: int = 50) -> list[ColumnProfileView]:
    """A column's statistics in each profile run that covered it, newest first."""
    _check_limit(limit)
    column = entity_by_urn(session, urn, expected=EntityType.COLUMN)
    rows = session.execute(
        select(ColumnProfileRow, TableProfileRow.started_at)
        .join(TableProfileRow, TableProfileRow.id == ColumnProfileRow.table_profile_id)
        .where(ColumnProfileRow.column_urn == column.urn)
        .order_by(TableProfileRow.started_at.desc(), TableProfileRow.id.desc()).limit(limit)
    ).all()
    hidden = hidden_columns(session, [column.urn])
    return [column_profile_view(r, started, hidden) for r, started in rows]


def latest_column_profiles(session: Session, column_urns: list[str]) -> dict[str, ColumnProfileView]:
    """The newest statistics of each of the given columns (one query, for DataLoaders)."""
    if not column_urns:
        return {}
    rows = session.execute(
        select(ColumnProfileRow, TableProfileRow.started_at)
        .join(TableProfileRow, TableProfileRow.id == ColumnProfileRow.table_profile_id)
        .where(ColumnProfileRow.column_urn.in_(column_urns))
        .order_by(TableProfileRow.started_at.desc(), TableProfileRow.id.desc())
    ).all()
    hidden = hidden_columns(session, column_urns)
    found: dict[str, ColumnProfileView] = {}
    for r, started in rows:
        if r.column_urn not in found:
            found[r.column_urn] = column_profile_view(r, started, hidden)
    return found


def list_anomalies(session: Session, *, table_urn: str | None = None, source_ref: int | str | None = None,
                   severity: str | None = None, limit: int = 100) -> list[AnomalyView]:
    """Stored anomalies, newest first, of one table, of one source, or of the whole catalog."""
    _check_limit(limit, MAX_ANOMALIES)
    if severity is not None and severity not in ("warning", "critical"):
        raise InvalidInput("severity", "warning or critical")
    query = (select(ProfileAnomalyRow, Table.urn).join(Table, Table.id == ProfileAnomalyRow.table_id)
             .order_by(ProfileAnomalyRow.detected_at.desc(), ProfileAnomalyRow.id.desc()).limit(limit))
    if table_urn is not None:
        table = entity_by_urn(session, table_urn, field="table", expected=EntityType.DATASET)
        query = query.where(ProfileAnomalyRow.table_id == table.id)
    if source_ref is not None:
        query = query.where(Table.source_id == source_row(session, source_ref).id)
    if severity is not None:
        query = query.where(ProfileAnomalyRow.severity == severity)
    rows = session.execute(query).all()
    hidden = hidden_columns(session, {row.subject_urn for row, _ in rows})
    return [anomaly_view(row, urn, hidden) for row, urn in rows]
