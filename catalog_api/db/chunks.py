"""Long lists cut into statements of bounded size, so that an IN list or a bulk insert stays within every
database's limit of bound parameters (SQLite's is the lowest) while one statement per chunk keeps round trips few."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar

T = TypeVar("T")

IN_LIST_CHUNK = 500


def chunks(items: Sequence[T], size: int = IN_LIST_CHUNK) -> Iterator[Sequence[T]]:
    """`items` in consecutive slices of at most `size`."""
    for start in range(0, len(items), size):
        yield items[start:start + size]
