"""A uniform sample of a table's rows, drawn share by share and merged without bias."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa


@dataclass(slots=True)
class Sample:
    """The rows with the smallest random keys seen so far: merging two keeps the smallest overall, so the result is
    a uniform sample without replacement whatever the split of the rows."""

    keys: np.ndarray
    rows: pa.Table

    def merge(self, other: Sample, size: int) -> Sample:
        if other.rows.num_rows == 0:
            return self
        if self.rows.num_rows == 0:
            return other
        keys = np.concatenate([self.keys, other.keys])
        rows = pa.concat_tables([self.rows, other.rows], promote_options="permissive")
        return _smallest(keys, rows, size)


def _smallest(keys: np.ndarray, rows: pa.Table, size: int) -> Sample:
    if len(keys) > size:
        chosen = np.argpartition(keys, size)[:size]
    else:
        chosen = np.arange(len(keys))
    chosen = chosen[np.argsort(keys[chosen], kind="stable")]
    return Sample(keys[chosen], rows.take(pa.array(chosen)))


def sample_rows(rows: pa.Table, size: int, seed: int, share: int) -> Sample:
    """At most `size` rows of `rows`, keyed by random numbers drawn from (`seed`, `share`)."""
    keys = np.random.default_rng([seed, share]).random(rows.num_rows)
    return _smallest(keys, rows, size)


def empty_sample(schema: pa.Schema) -> Sample:
    """The sample of no rows."""
    return Sample(np.zeros(0), schema.empty_table())
