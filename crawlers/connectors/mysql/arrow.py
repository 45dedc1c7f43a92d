"""The type mapping of incremental reads: a MySQL `COLUMN_TYPE` as an Arrow type, and driver values as arrays."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pymysql
from pymysql.constants import FIELD_TYPE

from crawlers.errors import ConnectorError
from crawlers.snapshot import ColumnSnapshot, TableSnapshot

# DATE, DATETIME, TIMESTAMP and DECIMAL values are left as the server's text and parsed by Arrow in C++: PyMySQL's
# Python converters for them take about half the time of a read.
_EXTRACT_CONVERSIONS = {
    key: value
    for key, value in pymysql.converters.conversions.items()
    if key not in (FIELD_TYPE.DATE, FIELD_TYPE.DATETIME, FIELD_TYPE.TIMESTAMP, FIELD_TYPE.NEWDECIMAL,
                   FIELD_TYPE.DECIMAL)
}
# Zero dates ('0000-00-00') and dates with a zero month or day, which MySQL stores unless NO_ZERO_DATE and
# NO_ZERO_IN_DATE are set, are no dates: they become nulls.
_INVALID_DATE = r"^\d{4}-(00-|\d{2}-00)"


@dataclasses.dataclass(frozen=True, slots=True)
class _ArrowReader:
    """The Arrow field of one column and how the driver's values become an Arrow array.

    `parse` turns the server's text (a string array) into the field's type; `convert` maps single Python values.
    """

    field: pa.Field
    convert: Callable[[Any], Any] | None = None
    parse: Callable[[pa.Array], pa.Array] | None = None

    def array(self, values: Sequence[Any]) -> pa.Array:
        if self.parse is not None:
            return self.parse(pa.array(values, type=pa.string()))
        if self.convert is not None:
            values = [None if v is None else self.convert(v) for v in values]
        return pa.array(values, type=self.field.type)


def _to_arrow(reader: _ArrowReader, values: Sequence[Any], table: TableSnapshot) -> pa.Array:
    try:
        return reader.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError) as error:
        raise ConnectorError(
            f"cannot convert column {reader.field.name!r} of {table.schema}.{table.name} to {reader.field.type}"
            f" ({error}); re-crawl the source if the table changed"
        ) from None


def _temporal_parser(target: pa.DataType) -> Callable[[pa.Array], pa.Array]:
    def parse(text: pa.Array) -> pa.Array:
        valid = pc.if_else(pc.match_substring_regex(text, _INVALID_DATE), pa.scalar(None, pa.string()), text)
        if target == pa.date32():
            return pc.cast(valid, target)
        # TIMESTAMP text is in the session's time zone, UTC: tagging the wall-clock values as UTC is exact.
        return pc.cast(valid, pa.timestamp("us")).view(target)

    return parse


def _text(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", errors="replace")
    if isinstance(value, set):  # SET columns, should a converter decode them as sets
        return ",".join(sorted(value))
    return str(value)


_INTEGER_TYPES = ("tinyint", "smallint", "mediumint", "int", "integer", "bigint", "year")
_TEXT_TYPES = ("char", "varchar", "tinytext", "text", "mediumtext", "longtext", "enum", "set", "json", "uuid",
               "inet4", "inet6", "xml")
_BINARY_TYPES = ("binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob", "geometry", "point",
                 "linestring", "polygon", "multipoint", "multilinestring", "multipolygon", "geometrycollection",
                 "geomcollection", "vector")


def arrow_type(column_type: str) -> pa.DataType:
    """The Arrow type a MySQL `COLUMN_TYPE` is read as.

    Integers are int64 (`bigint unsigned` uint64), `tinyint(1)` (MySQL's BOOLEAN) int8, as it may hold any value
    from -128 to 127 and a bool would lose them; `bit(n)` uint64; decimals decimal128 with the column's precision
    and scale (decimal256 above 38 digits); `float` float32, `double` float64; `date` date32; `datetime` naive
    timestamps and `timestamp` UTC timestamps (microseconds); `time` a duration (it may be negative or exceed a
    day); text, enum, set and JSON strings; binary strings, blobs and spatial values binary (WKB). Unknown types
    are read as strings.
    """
    spelled = column_type.lower().strip()
    base = re.split(r"[\s(]", spelled, maxsplit=1)[0]
    unsigned = " unsigned" in spelled
    if base == "tinyint" and re.match(r"tinyint\(1\)(?! unsigned)", spelled):
        return pa.int8()
    if base in ("bool", "boolean"):
        return pa.int8()
    if base in _INTEGER_TYPES:
        return pa.uint64() if base == "bigint" and unsigned else pa.int64()
    if base == "bit":
        return pa.uint64()
    if base in ("decimal", "numeric", "dec", "fixed"):
        match = re.match(r"\w+\((\d+)(?:,(\d+))?\)", spelled)
        precision, scale = (int(match.group(1)), int(match.group(2) or 0)) if match else (10, 0)
        return pa.decimal128(precision, scale) if precision <= 38 else pa.decimal256(precision, scale)
    if base == "float":
        return pa.float32()
    if base in ("double", "real"):
        return pa.float64()
    if base == "date":
        return pa.date32()
    if base == "datetime":
        return pa.timestamp("us")
    if base == "timestamp":
        return pa.timestamp("us", tz="UTC")
    if base == "time":
        return pa.duration("us")
    if base in _BINARY_TYPES:
        return pa.binary()
    return pa.string()


def _arrow_reader(column: ColumnSnapshot) -> _ArrowReader:
    kind = arrow_type(column.data_type)
    base = column.data_type.lower().split("(", 1)[0].split(" ", 1)[0]
    field = pa.field(column.name, kind, nullable=column.nullable)
    if kind == pa.date32() or pa.types.is_timestamp(kind):
        return _ArrowReader(field.with_nullable(True), parse=_temporal_parser(kind))  # zero dates become nulls
    if pa.types.is_decimal(kind):
        return _ArrowReader(field, parse=lambda text: pc.cast(text, kind))
    if base == "bit":
        return _ArrowReader(field, convert=lambda value: int.from_bytes(value, "big"))
    if kind == pa.string():
        return _ArrowReader(field, convert=_text)
    if kind == pa.duration("us"):  # PyMySQL hands an out-of-range TIME over as text
        return _ArrowReader(field, convert=lambda value: value if isinstance(value, timedelta) else None)
    return _ArrowReader(field)
