"""Datasets reported by OpenLineage and not crawled: their columns as the events' `schema` facet (and the fields of an
output's `columnLineage` facet) describe them.

Reported facts never mix with crawled ones: a dataset whose URN a crawl has given a table is not recorded, and a
crawl that finds a reported dataset drops the report (`drop_reports`); readers prefer the crawled table meanwhile
(`catalog_api.services.browse`). Reports of one dataset apply in eventTime order: a report older than the one that
gave the dataset its columns changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from catalog_api.db.chunks import chunks
from catalog_api.db.models import Table, utcnow
from catalog_api.db.reported import ReportedColumn, ReportedDataset


@dataclass(frozen=True, slots=True)
class ReportedField:
    """One column as a reporter describes it."""

    name: str
    data_type: str | None = None
    description: str | None = None


@dataclass(frozen=True, slots=True)
class DatasetReport:
    """What one event says about one dataset's columns. `complete` when it carries a `schema` facet (the columns
    are exactly `fields`); otherwise `fields` only name columns it uses (from `columnLineage`), which adds them."""

    urn: str
    namespace: str
    name: str
    fields: tuple[ReportedField, ...]
    complete: bool


@dataclass(frozen=True, slots=True)
class Reporter:
    """The event a report comes from."""

    job_namespace: str
    job_name: str
    run_id: str
    event_time: datetime
    producer: str | None


def _crawled(session: Session, urns: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for chunk in chunks(urns):
        found.update(session.scalars(select(Table.urn).where(Table.urn.in_(chunk))))
    return found


def record_reports(session: Session, reports: Sequence[DatasetReport], reporter: Reporter) -> int:
    """Stores the columns of the reported datasets that no crawl has found; returns how many datasets changed."""
    wanted = {r.urn: r for r in reports if r.fields}
    urns = sorted(set(wanted) - _crawled(session, sorted(wanted)))
    rows: dict[str, ReportedDataset] = {}
    for chunk in chunks(urns):
        rows.update((r.urn, r) for r in session.scalars(
            select(ReportedDataset).where(ReportedDataset.urn.in_(chunk))))
    now, changed = utcnow(), 0
    for urn in urns:
        report, row = wanted[urn], rows.get(urn)
        if row is not None and reporter.event_time < row.event_time:
            continue  # stale: a newer event already gave this dataset its columns
        if row is None:
            row = ReportedDataset(urn=urn, namespace=report.namespace, name=report.name, created_at=now)
            known: list[str] = []
        elif report.complete:
            session.execute(delete(ReportedColumn).where(ReportedColumn.dataset_id == row.id))
            known = []
        else:
            known = list(session.scalars(select(ReportedColumn.name).where(ReportedColumn.dataset_id == row.id)
                                         .order_by(ReportedColumn.ordinal)))
        first: dict[str, ReportedField] = {}
        for field in report.fields:  # a name given twice keeps its first description
            first.setdefault(field.name, field)
        seen = set(known)
        added = [f for name, f in first.items() if name not in seen]
        if report.complete or row.id is None:  # these columns are the report's: it names the reporter
            row.job_namespace, row.job_name, row.run_id = reporter.job_namespace, reporter.job_name, reporter.run_id
            row.event_time, row.producer, row.updated_at = reporter.event_time, reporter.producer, now
        elif not added:
            continue
        session.add(row)
        session.flush()
        session.execute(insert(ReportedColumn), [
            {"dataset_id": row.id, "name": f.name, "ordinal": len(known) + i, "data_type": f.data_type,
             "description": f.description} for i, f in enumerate(added, start=1)])
        changed += 1
    return changed


def drop_reports(session: Session, urns: Sequence[str]) -> None:
    """Forgets what was reported about datasets a crawl has just found: from now on the crawled table is served."""
    wanted = sorted(set(urns))
    for chunk in chunks(wanted):
        session.execute(delete(ReportedDataset).where(ReportedDataset.urn.in_(chunk)))


def reported_fields(session: Session, urns: Sequence[str]) -> dict[str, list[ReportedField]]:
    """The reported columns of those of `urns` that are reported datasets, in order (for the OpenLineage export)."""
    wanted, found = sorted(set(urns)), {}
    for chunk in chunks(wanted):
        query = (select(ReportedDataset.urn, ReportedColumn.name, ReportedColumn.data_type, ReportedColumn.description)
                 .join(ReportedColumn, ReportedColumn.dataset_id == ReportedDataset.id)
                 .where(ReportedDataset.urn.in_(chunk))
                 .order_by(ReportedDataset.urn, ReportedColumn.ordinal, ReportedColumn.id))
        for urn, name, data_type, description in session.execute(query):
            found.setdefault(urn, []).append(ReportedField(name, data_type, description))
    return found
