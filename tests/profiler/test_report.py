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
