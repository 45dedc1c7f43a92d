"""Profile values restored from JSON stored by older profilers."""

from __future__ import annotations

from profiler.model import DuplicateMethod, DuplicateRows, TableProfile


def test_a_stored_duplicate_estimate_comes_back_labelled_with_the_bounds_of_its_error():
    # What the profiler stored before duplicate rows were bounded: rows minus a distinct-row estimate of 1 % error.
    stored = {"row_count": 6_001_215, "columns": [], "started_at": "2026-12-01T10:00:00+00:00",
              "finished_at": "2026-12-01T10:01:00+00:00", "duplicate_rows_estimate": 77_814,
              "duplicate_rows_rsd": 0.01}
    restored = TableProfile.from_dict(stored).duplicate_rows
    spread = 1.96 * 0.01 * 6_001_215
    assert (restored.method, restored.exact, restored.value, restored.confidence) == (
        DuplicateMethod.LEGACY, False, 77_814, 0.95)
    assert restored.low == 0 and abs(restored.high - (77_814 + spread)) < 1
    assert TableProfile.from_dict(TableProfile.from_dict(stored).to_dict()).duplicate_rows == restored


def test_an_empty_stored_estimate_stays_exactly_zero_wide():
    restored = DuplicateRows.legacy(0, 0.01, 0)
    assert (restored.value, restored.low, restored.high) == (0, 0, 0)
