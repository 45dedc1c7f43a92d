"""Datasets the catalog knows only because someone reported them: OpenLineage events with a `schema` facet (or the
fields of a `columnLineage` facet) about a dataset no crawl has found.

They are kept apart from the crawled hierarchy (`Table`, `Column`) so reported and crawled facts never mix: a crawl
neither reads nor overwrites them, and once a crawl finds a table with the same URN, the crawled table is what the
catalog serves (the reported row is dropped by the crawl that finds it, and ignored by readers meanwhile).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from catalog_api.db.models import NAME_LENGTH, URN_LENGTH, Base, Timestamped


class ReportedDataset(Timestamped, Base):
    """A dataset known from OpenLineage only, with who reported its columns last: the job, the run and the event's
    time (a report older than `event_time` does not replace the columns)."""

    __tablename__ = "reported_datasets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    urn: Mapped[str] = mapped_column(String(URN_LENGTH), unique=True)
    namespace: Mapped[str] = mapped_column(String(1024))
    name: Mapped[str] = mapped_column(String(1024))
    job_namespace: Mapped[str] = mapped_column(String(1024))
    job_name: Mapped[str] = mapped_column(String(1024))
    run_id: Mapped[str] = mapped_column(String(64))
    event_time: Mapped[datetime]
    producer: Mapped[str | None] = mapped_column(Text)


class ReportedColumn(Base):
    """A column of a reported dataset: the name, type and description its reporter gave (type and description may
    be missing: OpenLineage does not require them)."""

    __tablename__ = "reported_columns"
    __table_args__ = (UniqueConstraint("dataset_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("reported_datasets.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    ordinal: Mapped[int] = mapped_column(Integer)
    data_type: Mapped[str | None] = mapped_column(String(512))
    description: Mapped[str | None] = mapped_column(Text)
