"""The human-readable HTML report: ydata-profiling in minimal mode over a bounded pandas sample.

ydata-profiling's own Spark backend is never used: it fails on timestamp columns and is several times slower than
its pandas path (see shared/STACK-NOTES.md). The sample is the one a profile run collected
(`profile_*(..., with_sample=True)`), so rendering costs no Spark job.

Columns named in `masked_columns` are rendered with every non-null value replaced by `MASK` before ydata-profiling
sees them, so the report (and anything stored from it) never holds their values; their missing-value counts stay.

A service renders reports out of its own process (`profiler.report_process`): `stage_sample` writes the bounded,
masked sample to Parquet, and `python -m profiler.report MANIFEST` renders each staged sample of a manifest to HTML
in a child process, so ydata-profiling's libraries (about 250 MB) never load into the service.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import resource
import sys
import traceback
import warnings
from collections.abc import Collection, Iterator
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from profiler.errors import InvalidProfileInput

if TYPE_CHECKING:
    import pandas as pd

DEFAULT_MAX_ROWS = 10_000
DEFAULT_MAX_CELLS = 500_000
"""A report's cost grows with its cells, not its rows: a wide table's sample gets fewer rows (never fewer than
`MIN_SAMPLE_ROWS`), so a 200-column table renders 2,500 rows and a 16-column one the full `DEFAULT_MAX_ROWS`."""
MIN_SAMPLE_ROWS = 1_000

REPORT_SETTINGS: dict[str, Any] = {
    "minimal": True,
    "progress_bar": False,
    # Minimal mode leaves text columns' word clouds and character tables on: a matplotlib figure per column, the
    # report's most expensive part after the histograms, and read by few. Their top values and lengths stay.
    "vars": {"text": {"words": False, "characters": False}},
    # 20 bins draw a distribution's shape as well as 50 on a 10,000-row sample, at 60 % of the patches to draw.
    "plot": {"histogram": {"bins": 20}},
}
"""ydata-profiling's settings for every report. On a 10,000-row sample of 40 columns (benchmarks/profile.py's kinds)
they cut its CPU time by 40 % against plain minimal mode (7.1 s → 4.3 s) and the HTML by 70 % (5.3 → 1.5 MB)."""

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
                  max_cells: int = DEFAULT_MAX_CELLS, masked_columns: Collection[str] = ()) -> str:
    """The HTML report of `sample` (cut to `max_rows` random rows, seeded, fewer if it would have more than
    `max_cells` cells), titled `title`, with the values of `masked_columns` masked."""
    _check_bounds(max_rows, max_cells)
    if not title or not title.strip():
        raise InvalidProfileInput("title must not be empty", field="title")
    frame = _bounded(sample, max_rows, max_cells)
    masked = sorted(set(masked_columns) & set(map(str, frame.columns)))
    frame = _prepare(_mask(frame, masked))
    # ydata-profiling phones home on every report unless told not to.
    os.environ.setdefault("YDATA_PROFILING_NO_ANALYTICS", "True")
    logging.getLogger("ydata_profiling").setLevel(logging.ERROR)
    with _quiet():
        from ydata_profiling import ProfileReport

        notice = {"description": f"Values of {', '.join(masked)} are masked as {MASK}."} if masked else None
        report = ProfileReport(frame, title=title, dataset=notice, **REPORT_SETTINGS)
        return report.to_html()


def _check_bounds(max_rows: int, max_cells: int) -> None:
    if max_rows < 1:
        raise InvalidProfileInput("max_rows must be >= 1", field="max_rows")
    if max_cells < 1:
        raise InvalidProfileInput("max_cells must be >= 1", field="max_cells")


def sample_rows(columns: int, *, max_rows: int = DEFAULT_MAX_ROWS, max_cells: int = DEFAULT_MAX_CELLS) -> int:
    """How many rows a report's sample of a table with `columns` columns keeps."""
    by_cells = max(MIN_SAMPLE_ROWS, max_cells // max(1, columns))
    return max(1, min(max_rows, by_cells))


def _bounded(sample: pd.DataFrame, max_rows: int, max_cells: int) -> pd.DataFrame:
    rows = sample_rows(len(sample.columns), max_rows=max_rows, max_cells=max_cells)
    return sample if len(sample) <= rows else sample.sample(n=rows, random_state=0)


def stage_sample(sample: pd.DataFrame, path: Path, *, max_rows: int = DEFAULT_MAX_ROWS,
                 max_cells: int = DEFAULT_MAX_CELLS, masked_columns: Collection[str] = ()) -> list[str]:
    """Writes `sample` (cut to `max_rows` random rows, seeded, fewer for a wide table: `sample_rows`) to the Parquet
    file `path` with the values of
    `masked_columns` already masked, so the staged file never holds them either. Returns the names masked.

    Values Parquet cannot hold as they are (mixed types in one column, say) are staged as their text, which is
    what the report shows of them anyway."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    _check_bounds(max_rows, max_cells)
    frame = _bounded(sample, max_rows, max_cells)
    masked = sorted(set(masked_columns) & set(map(str, frame.columns)))
    frame = _prepare(_mask(frame, masked))
    arrays, names = [], []
    for name in frame.columns:
        column = frame[name]
        try:
            arrays.append(pa.Array.from_pandas(column))
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            arrays.append(pa.Array.from_pandas(column.map(lambda v: None if v is None else str(v)).astype(object)))
        names.append(str(name))
    pq.write_table(pa.Table.from_arrays(arrays, names=names), path)
    return masked


def _limit_memory(megabytes: int) -> None:
    """Caps this process's address space, so a report that would exhaust the machine fails here instead."""
    if megabytes > 0:
        limit = megabytes * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def render_manifest(manifest: dict[str, Any]) -> int:
    """Renders every entry of a manifest (written by `profiler.report_process`): reads its staged sample, writes the
    HTML next to the path it names (atomically, so a half-written report is never taken), or the failure's text to
    `<html>.error`. Returns how many failed."""
    import pandas as pd

    failed = 0
    for entry in manifest["reports"]:
        out = Path(entry["html"])
        try:
            sample = pd.read_parquet(entry["sample"])
            html = render_report(sample, entry["title"], max_rows=max(1, len(sample)), max_cells=max(1, sample.size),
                                 masked_columns=entry.get("masked_columns", ()))
            partial = out.with_suffix(".partial")
            partial.write_text(html, encoding="utf-8")
            partial.replace(out)
        except Exception as error:  # one table's failure must not cost the others their report
            failed += 1
            message = error.message if isinstance(error, InvalidProfileInput) else f"{type(error).__name__}: {error}"
            out.with_suffix(".error").write_text(message, encoding="utf-8")
            traceback.print_exc(file=sys.stderr)
    return failed


def main(argv: list[str] | None = None) -> int:
    """`python -m profiler.report MANIFEST [--memory-mb N]`: the child process that renders a manifest."""
    args = list(sys.argv[1:] if argv is None else argv)
    memory_mb = 0
    if "--memory-mb" in args:
        at = args.index("--memory-mb")
        memory_mb = int(args[at + 1])
        del args[at:at + 2]
    if len(args) != 1:
        print("usage: python -m profiler.report MANIFEST [--memory-mb N]", file=sys.stderr)
        return 2
    _limit_memory(memory_mb)
    manifest = json.loads(Path(args[0]).read_text(encoding="utf-8"))
    return 1 if render_manifest(manifest) else 0


if __name__ == "__main__":
    sys.exit(main())
