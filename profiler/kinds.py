"""Spark type → `ColumnKind`, and the conversions between Spark's collected values and profile values."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any

from pyspark.sql import types as T

from profiler.model import ColumnKind

EPOCH_DATE = date(1970, 1, 1)
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def column_kind(data_type: T.DataType) -> ColumnKind:
    """The statistics family of a Spark type; char/varchar arrive as StringType."""
    if isinstance(data_type, (T.ByteType, T.ShortType, T.IntegerType, T.LongType)):
        return ColumnKind.INTEGER
    if isinstance(data_type, (T.FloatType, T.DoubleType)):
        return ColumnKind.FLOAT
    if isinstance(data_type, T.DecimalType):
        return ColumnKind.DECIMAL
    if isinstance(data_type, T.StringType):
        return ColumnKind.STRING
    if isinstance(data_type, T.BooleanType):
        return ColumnKind.BOOLEAN
    if isinstance(data_type, T.DateType):
        return ColumnKind.DATE
    if isinstance(data_type, (T.TimestampType, T.TimestampNTZType)):
        return ColumnKind.TIMESTAMP
    if isinstance(data_type, T.BinaryType):
        return ColumnKind.BINARY
    return ColumnKind.OTHER


def micros_to_datetime(micros: int | None, *, aware: bool) -> datetime | None:
    """Epoch microseconds → datetime, UTC-aware for TIMESTAMP and naive for TIMESTAMP_NTZ.

    Collecting a timestamp through PySpark yields a naive datetime in the Python process's local zone; going
    through epoch microseconds keeps instants exact whatever that zone is.
    """
    if micros is None:
        return None
    value = EPOCH + timedelta(microseconds=int(micros))
    return value if aware else value.replace(tzinfo=None)


def days_to_date(days: int | None) -> date | None:
    return None if days is None else EPOCH_DATE + timedelta(days=int(days))


def truncate(value: Any, limit: int) -> Any:
    """Long strings are cut to `limit` characters so a profile stays small whatever the data holds."""
    if isinstance(value, str) and len(value) > limit:
        return value[:limit]
    return value
