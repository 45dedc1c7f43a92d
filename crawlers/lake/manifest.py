"""What a committed run holds: its manifest (`_SUCCESS.json`) and the chunks it lists."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from crawlers.increment import ValueRange, decode_watermark, encode_watermark

MANIFEST_NAME = "_SUCCESS.json"
"""A run's manifest; like Hadoop's `_SUCCESS` marker its presence means the run is complete."""


@dataclass(frozen=True, slots=True)
class ChunkInfo:
    """One durable chunk file of a run.

    `min`/`max` are the first and last non-null values of the plan column in the order the rows were written;
    a connector returns rows ordered by that column, so they are its smallest and largest value in the source's
    own ordering (None when there is no plan column or it held only NULLs).
    """

    path: str
    run_id: str
    chunk_no: int
    rows: int
    bytes: int
    min: Any = None
    max: Any = None

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.path.rsplit("/", 1)[-1],
            "chunk_no": self.chunk_no,
            "rows": self.rows,
            "bytes": self.bytes,
            "min": encode_watermark(self.min),
            "max": encode_watermark(self.max),
        }

    @property
    def ref(self) -> str:
        """`<run_id>/<file>`: how a later run's manifest names this chunk when it supersedes it."""
        return f"{self.run_id}/{self.path.rsplit('/', 1)[-1]}"


@dataclass(frozen=True, slots=True)
class RunManifest:
    """What a committed run holds: its chunks, totals, and the watermark window it covers."""

    run_id: str
    chunks: tuple[ChunkInfo, ...]
    strategy: str
    column: str | None
    watermark_from: Any
    watermark_to: Any
    committed_at: datetime
    recovered: bool = False
    """True when the run crashed and was sealed afterwards with the chunks its saved watermark covers."""
    extra: dict[str, Any] = field(default_factory=dict, compare=False)
    range: ValueRange | None = None
    """A backfill's plan-column range: the run holds the table's rows in it (None: a backfill of every row, or not a
    backfill)."""
    supersedes: tuple[str, ...] = ()
    """Chunks of older runs (`ChunkInfo.ref`) this run replaces: a backfill holds their rows in its range anew, and
    their other rows in remainder chunks of its own. `Lake.committed_runs` leaves them out."""

    @property
    def reads_from_start(self) -> bool:
        """The run read the table from its first row (a FULL snapshot, a first extraction, a backfill of all rows):
        the runs from it on hold the whole table."""
        if self.strategy == "full":
            return True
        whole = self.range is None or (self.range.low is None and self.range.nulls)
        return self.watermark_from is None and whole

    @property
    def rows(self) -> int:
        return sum(c.rows for c in self.chunks)

    @property
    def bytes(self) -> int:
        return sum(c.bytes for c in self.chunks)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": 1,
            "run_id": self.run_id,
            "strategy": self.strategy,
            "column": self.column,
            "watermark_from": encode_watermark(self.watermark_from),
            "watermark_to": encode_watermark(self.watermark_to),
            "rows": self.rows,
            "bytes": self.bytes,
            "committed_at": self.committed_at.isoformat(),
            "recovered": self.recovered,
            "chunks": [c.to_json() for c in self.chunks],
            **({"extra": self.extra} if self.extra else {}),
            **({"range": range_to_json(self.range)} if self.range is not None else {}),
            **({"supersedes": list(self.supersedes)} if self.supersedes else {}),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any], run_dir: str) -> RunManifest:
        chunks = tuple(
            ChunkInfo(
                path=f"{run_dir}/{c['file']}",
                run_id=data["run_id"],
                chunk_no=int(c["chunk_no"]),
                rows=int(c["rows"]),
                bytes=int(c["bytes"]),
                min=decode_watermark(c.get("min")),
                max=decode_watermark(c.get("max")),
            )
            for c in data["chunks"]
        )
        return cls(
            run_id=data["run_id"],
            chunks=chunks,
            strategy=data["strategy"],
            column=data.get("column"),
            watermark_from=decode_watermark(data.get("watermark_from")),
            watermark_to=decode_watermark(data.get("watermark_to")),
            committed_at=datetime.fromisoformat(data["committed_at"]),
            recovered=bool(data.get("recovered", False)),
            extra=dict(data.get("extra", {})),
            range=range_from_json(data["range"]) if data.get("range") else None,
            supersedes=tuple(data.get("supersedes", ())),
        )


def range_to_json(value: ValueRange) -> dict[str, Any]:
    """A `ValueRange` as JSON (bounds encoded like watermarks)."""
    return {"low": encode_watermark(value.low), "low_inclusive": value.low_inclusive,
            "high": encode_watermark(value.high), "high_inclusive": value.high_inclusive, "nulls": value.nulls}


def range_from_json(data: Mapping[str, Any]) -> ValueRange:
    """The `ValueRange` `range_to_json` wrote."""
    return ValueRange(decode_watermark(data.get("low")), bool(data.get("low_inclusive", True)),
                      decode_watermark(data.get("high")), bool(data.get("high_inclusive", False)),
                      bool(data.get("nulls", False)))


def utc_now() -> datetime:
    """Now, in UTC: a manifest's `committed_at`."""
    return datetime.now(UTC)
