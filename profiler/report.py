"""The human-readable HTML report: ydata-profiling in minimal mode over a bounded pandas sample.

ydata-profiling's own Spark backend is never used: it fails on timestamp columns and is several times slower than
its pandas path (see shared/STACK-NOTES.md). The sample is the one a profile run collected
(`profile_*(..., with_sample=True)`), so rendering costs no Spark job.

Columns named in `masked_columns` are rendered with every non-null value replaced by `MASK` before ydata-profiling
sees them, so the report (and anything stored from it) never holds their values; their missing-value counts stay.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import warnings
from collections.abc import Collection, Iterator
from decimal import Decimal
from typing import TYPE_CHECKING

from profiler.errors import InvalidProfileInput

if TYPE_CHECKING:
    import pandas as pd

DEFAULT_MAX_ROWS = 10_000

MASK = "***"
"""What a masked column's non-null values become in the report."""


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silences ydata-profiling's deprecation notice, progress bars and library warnings."""
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), \
            contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        yield


def _prepare(sample: pd.DataFrame) -> pd.DataFrame:
    """Types ydata-profiling handles badly become ones it handles: decimals → float, tz-aware → naive UTC,
    bytes → hex strings, and duplicate column names get a suffix."""
    import pandas as pd

    frame = sample.copy()
    if frame.columns.duplicated().any():
        seen: dict[str, int] = {}
        names = []
        for name in map(str, frame.columns):
            seen[name] = seen.get(name, 0) + 1
            names.append(name if seen[name] == 1 else f"{name}.{seen[name] - 1}")
        frame.columns = names
    for name in frame.columns:
        column = frame[name]
        if isinstance(column.dtype, pd.DatetimeTZDtype):
            frame[name] = column.dt.tz_convert("UTC").dt.tz_localize(None)
        elif column.dtype == object:
            first = column.dropna().head(1)
            if len(first) and isinstance(first.iloc[0], Decimal):
                frame[name] = pd.to_numeric(column.map(lambda v: None if v is None else float(v)))
            elif len(first) and isinstance(first.iloc[0], (bytes, bytearray)):
                frame[name] = column.map(lambda v: None if v is None else bytes(v).hex())
    return frame


def _mask(sample: pd.DataFrame, names: Collection[str]) -> pd.DataFrame:
    """`sample` with the non-null values of the columns called `names` (duplicates included) replaced by `MASK`."""
    import pandas as pd

    positions = [i for i, name in enumerate(sample.columns) if str(name) in names]
    if not positions:
        return sample
    frame = sample.copy()
    for position in positions:
        column = frame.iloc[:, position]
        frame.isetitem(position, pd.Series([None if missing else MASK for missing in column.isna()],
                                           index=column.index, dtype=object))
    return frame


def render_report(sample: pd.DataFrame, title: str, *, max_rows: int = DEFAULT_MAX_ROWS,
                  masked_columns: Collection[str] = ()) -> str:
    """The HTML report of `sample` (cut to `max_rows` random rows, seeded), titled `title`, with the values of
    `masked_columns` masked."""
    if max_rows < 1:
        raise InvalidProfileInput("max_rows must be >= 1", field="max_rows")
    if not title or not title.strip():
        raise InvalidProfileInput("title must not be empty", field="title")
    frame = sample if len(sample) <= max_rows else sample.sample(n=max_rows, random_state=0)
    masked = sorted(set(masked_columns) & set(map(str, frame.columns)))
    frame = _prepare(_mask(frame, masked))
    # ydata-profiling phones home on every report unless told not to.
    os.environ.setdefault("YDATA_PROFILING_NO_ANALYTICS", "True")
    logging.getLogger("ydata_profiling").setLevel(logging.ERROR)
    with _quiet():
        from ydata_profiling import ProfileReport

        notice = {"description": f"Values of {', '.join(masked)} are masked as {MASK}."} if masked else None
        report = ProfileReport(frame, title=title, minimal=True, progress_bar=False, dataset=notice)
        return report.to_html()
