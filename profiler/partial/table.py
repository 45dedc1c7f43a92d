"""One share of a table in the statistics pass: every column's partial, the distinct-row sketch and the sample."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from profiler.partial.column import ColumnPartial, ColumnSpec, column_partial
from profiler.partial.hashing import mix, new_row_hashes
from profiler.partial.sample import Sample, empty_sample, sample_rows
from profiler.partial.sketches import bottom_k, merge_bottom_k


@dataclass(frozen=True, slots=True)
class PartialOptions:
    """What a task needs from `ProfileOptions`, small enough to ship with every task."""

    bottom_k: int
    row_bottom_k: int
    kll_k: int
    sample_rows: int
    seed: int


@dataclass(slots=True)
class TablePartial:
    """What a share of the rows says about the table: its row count, each column's partial, the bottom-k sketch of
    its row hashes (distinct rows) and its sample."""

    rows: int
    columns: list[ColumnPartial]
    row_bottom: np.ndarray | None
    sample: Sample

    def merge(self, other: TablePartial, options: PartialOptions) -> TablePartial:
        return TablePartial(
            self.rows + other.rows,
            [a.merge(b, k=options.bottom_k) for a, b in zip(self.columns, other.columns, strict=True)],
            merge_bottom_k(self.row_bottom, other.row_bottom, options.row_bottom_k),
            self.sample.merge(other.sample, options.sample_rows),
        )


def empty_partial(columns: int, schema: pa.Schema) -> TablePartial:
    """The partial of no rows: merging it changes nothing (the zero of the tree aggregation)."""
    return TablePartial(0, [ColumnPartial() for _ in range(columns)], None, empty_sample(schema))


def table_partial(rows: pa.Table, specs: list[ColumnSpec], options: PartialOptions, share: int) -> TablePartial:
    """The partial statistics of `rows` (the table's columns in profile order), the `share`-th part of a table."""
    hashed = any(s.hashed for s in specs)
    row_hashes = new_row_hashes(rows.num_rows) if hashed else None
    columns = [column_partial(rows.column(i), spec, k=options.bottom_k, kll_k=options.kll_k, row_hashes=row_hashes)
               for i, spec in enumerate(specs)]
    return TablePartial(
        rows.num_rows, columns,
        bottom_k(mix(row_hashes), options.row_bottom_k) if row_hashes is not None else None,
        sample_rows(rows, options.sample_rows, options.seed, share),
    )
