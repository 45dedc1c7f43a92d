"""The HTML report: ydata-profiling in minimal mode over the profile's own bounded sample."""

from __future__ import annotations

import pandas as pd
import pytest

from profiler.errors import InvalidProfileInput
from profiler.report import render_report
from profiler.stats import profile_arrow
from tests.support.profiler_tables import rich_table


def test_report_renders_the_sample_of_a_profile(spark, capsys):
    table = rich_table(rows=600).drop_columns(["long_text"])
    profile, sample = profile_arrow(spark, table, with_sample=True, sample_rows=500)
    assert len(sample) == profile.sample.rows == 500
    html = render_report(sample, "orders · sample")
    assert html.lstrip().lower().startswith("<!doctype html>")
    assert "orders · sample" in html
    for name in table.column_names:  # zoned timestamps, decimals and the all-null column included
        assert name in html
    captured = capsys.readouterr()
    assert "deprecated" not in captured.out + captured.err


def test_report_bounds_its_rows_and_checks_its_input():
    frame = pd.DataFrame({"n": range(50), "s": [f"v{i % 5}" for i in range(50)]})
    html = render_report(frame, "small", max_rows=20)
    assert "small" in html and ">20<" in html.replace(" ", "")  # the overview counts 20 observations
    with pytest.raises(InvalidProfileInput) as error:
        render_report(frame, "  ")
    assert error.value.field == "title"
    with pytest.raises(InvalidProfileInput) as error:
        render_report(frame, "x", max_rows=0)
    assert error.value.field == "max_rows"


def test_masked_columns_leave_no_value_in_the_report_and_keep_their_missing_count():
    emails = [None if i % 4 == 0 else f"person{i}@mail.test" for i in range(40)]
    salaries = [50_000.25 + 1000 * i for i in range(40)]
    frame = pd.DataFrame({"id": range(40), "email": emails, "salary": salaries})
    html = render_report(frame, "people", masked_columns={"email", "salary", "not_a_column"})
    assert not [e for e in emails if e is not None and e in html]
    assert not [s for s in salaries if str(s) in html or f"{s:,}" in html]
    assert "person" not in html and "mail.test" not in html
    assert "Values of email, salary are masked as ***." in html and "not_a_column" not in html
    missing = sum(v is None for v in emails)
    assert f">{missing}<" in html.replace(" ", "")  # the email column's missing values are still counted
    assert ">39<" in html.replace(" ", "")  # the unmasked id column keeps its values (its maximum)


def test_a_staged_sample_is_bounded_and_masked_and_renders_in_a_child_process(tmp_path):
    """The way a service renders: the sample staged as Parquet with PII values masked, then rendered by a child
    process, which reports each sample's outcome on its own (one missing sample costs the other nothing)."""
    import sys

    from profiler.report import MASK, stage_sample
    from profiler.report_process import StagedReport, render_in_child

    emails = [None if i % 4 == 0 else f"person{i}@mail.test" for i in range(300)]
    frame = pd.DataFrame({"id": range(300), "email": emails, "city": ["Oslo", "Lima", "Pune"] * 100})
    staged = tmp_path / "sample.parquet"
    assert stage_sample(frame, staged, max_rows=120, masked_columns={"email", "absent"}) == ["email"]
    written = pd.read_parquet(staged)
    assert len(written) == 120 and set(written["id"]) <= set(range(300))
    assert set(written["email"].dropna()) == {MASK}
    assert written["email"].isna().sum() == frame.loc[written["id"], "email"].isna().sum()

    loaded = "ydata_profiling" in sys.modules
    good, gone = render_in_child([StagedReport("a", staged, "people", ("city",)),
                                  StagedReport("b", tmp_path / "gone.parquet", "gone")],
                                 tmp_path / "out", timeout_s=600, memory_mb=0)
    assert ("ydata_profiling" in sys.modules) == loaded  # rendered in the child, not here
    assert good.key == "a" and good.error is None and "people" in good.html
    assert "person" not in good.html and "Oslo" not in good.html  # both masked: staged, then at rendering
    assert gone.html is None and "FileNotFoundError" in gone.error


def test_a_wide_tables_sample_is_bounded_by_cells_and_its_report_keeps_what_users_read(tmp_path):
    """A report's cost grows with its cells: a wide sample keeps fewer rows (never below the floor), a narrow one
    all it may; the report still shows each column's statistics and histogram, without text word clouds."""
    from profiler.report import MIN_SAMPLE_ROWS, stage_sample

    wide = pd.DataFrame({f"c{i}": range(5_000) for i in range(100)})
    staged = tmp_path / "wide.parquet"
    stage_sample(wide, staged, max_rows=5_000, max_cells=200_000)
    assert pd.read_parquet(staged).shape == (2_000, 100)
    stage_sample(wide, staged, max_rows=5_000, max_cells=1_000)
    assert len(pd.read_parquet(staged)) == MIN_SAMPLE_ROWS
    narrow = wide.iloc[:, :2]
    stage_sample(narrow, staged, max_rows=5_000, max_cells=200_000)
    assert len(pd.read_parquet(staged)) == 5_000
    with pytest.raises(InvalidProfileInput) as error:
        stage_sample(narrow, staged, max_cells=0)
    assert error.value.field == "max_cells"

    words = pd.DataFrame({"note": [f"alpha beta word{i % 7}" for i in range(400)], "amount": range(400)})
    html = render_report(words, "notes")
    assert "Histogram with fixed size bins</strong> (bins=20)" in html
    assert ">399<" in html.replace(" ", "")  # the maximum of amount
    assert "type=button>Words<" not in html and "Unicode" not in html  # no word cloud tab, no character tables
