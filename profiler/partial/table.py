"""One share of a table in the statistics pass: every column's partial, the distinct-row sketch and the sample."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from profiler.partial.column import ColumnPartial, ColumnSpec, column_partial
from profiler.partial.hashing import fold_into_rows, mix, new_row_hashes, other_row_hashes
from profiler.partial.sample import Sample, empty_sample, sample_rows
from profiler.partial.sketches import RowSketch, merge_row_sketches


@dataclass(frozen=True, slots=True)
class PartialOptions:
    """What a task needs from `ProfileOptions`, small enough to ship with every task."""

    bottom_k: int
    row_bottom_k: int
    """Distinct row hashes the duplicate-row sketch keeps (`RowSketch`): tables with fewer distinct rows get an exact
    duplicate count."""
    kll_k: int
    sample_rows: int
    seed: int


@dataclass(slots=True)
class TablePartial:
    """What a share of the rows says about the table: its row count, each column's partial, the counting bottom-k
    sketch of its row hashes (duplicate rows) and its sample."""

    rows: int
    columns: list[ColumnPartial]
    row_sketch: RowSketch | None
    """None when a column's values cannot be compared (see `hashing.other_row_hashes`)."""
    sample: Sample

    def merge(self, other: TablePartial, options: PartialOptions) -> TablePartial:
        return TablePartial(
            self.rows + other.rows,
            [a.merge(b, k=options.bottom_k) for a, b in zip(self.columns, other.columns, strict=True)],
            merge_row_sketches(self.row_sketch, other.row_sketch, options.row_bottom_k),
            self.sample.merge(other.sample, options.sample_rows),
        )


def empty_partial(columns: int, schema: pa.Schema) -> TablePartial:
    """The partial of no rows: merging it changes nothing (the zero of the tree aggregation)."""
    return TablePartial(0, [ColumnPartial() for _ in range(columns)], RowSketch.empty(), empty_sample(schema))


def _keys(rows: pa.Table, column: int | None) -> np.ndarray | None:
    """The values of an integer key column without nulls in these rows, else None."""
    if column is None:
        return None
    keys = rows.column(column)
    return keys.to_numpy() if pa.types.is_integer(keys.type) and keys.null_count == 0 else None


def table_partial(rows: pa.Table, specs: list[ColumnSpec], options: PartialOptions, share: int,
                  encodings: dict[int, pa.DictionaryArray] | None = None) -> TablePartial:
    """The partial statistics of `rows` (the table's columns in profile order), the `share`-th part of a table.
    `encodings` (if given) receives the dictionary encodings of its text columns of few values, by position."""
    row_hashes: np.ndarray | None = new_row_hashes(rows.num_rows)
    columns = [column_partial(rows.column(i), spec, k=options.bottom_k, kll_k=options.kll_k, row_hashes=row_hashes,
                              keys=_keys(rows, spec.keep_keys), encodings=encodings, at=i)
               for i, spec in enumerate(specs)]
    for i, spec in enumerate(specs):
        if spec.hashed or row_hashes is None:
            continue
        hashes = other_row_hashes(rows.column(i))
        if hashes is None:
            row_hashes = None
        else:
            fold_into_rows(row_hashes, hashes)
    return TablePartial(
        rows.num_rows, columns,
        RowSketch.of(mix(row_hashes), options.row_bottom_k) if row_hashes is not None else None,
        sample_rows(rows, options.sample_rows, options.seed, share),
    )
