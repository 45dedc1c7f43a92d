"""What a committed run holds: its manifest (`_SUCCESS.json`) and the chunks it lists."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from crawlers.increment import decode_watermark, encode_watermark

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
        )


def utc_now() -> datetime:
    """Now, in UTC: a manifest's `committed_at`."""
    return datetime.now(UTC)
