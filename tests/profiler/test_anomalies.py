"""`detect_anomalies` is pure: injected volume drops, null spikes and stalled freshness raise exactly those
anomalies; a normal, noisy, growing series raises none."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from profiler.anomalies import AnomalyThresholds, detect_anomalies
from profiler.errors import InvalidProfileInput
from profiler.model import AnomalyKind, ColumnKind, ColumnProfile, TableProfile

BASE = datetime(2025, 1, 1, 6, 0, tzinfo=timezone.utc)


def make_profile(run: int, *, rng: random.Random, rows: int | None = None, email_null_rate: float | None = None,
                 latest: datetime | None = None, amount_mean: float | None = None) -> TableProfile:
    """Run `run` of a daily profile of an append-only `orders` table, with realistic noise."""
    started = BASE + timedelta(days=run)
    rows = rows if rows is not None else 10_000 + 1_000 * run + rng.randint(-60, 60)
    null_rate = email_null_rate if email_null_rate is not None else 0.02 + rng.uniform(-0.002, 0.002)
    email_nulls = round(rows * null_rate)
    latest = latest or started - timedelta(minutes=30 + rng.randint(0, 20))
    mean = amount_mean if amount_mean is not None else 50 + rng.uniform(-0.3, 0.3)
    columns = (
        # Random 30-bit keys: their range and mean do not move with the row count.
        ColumnProfile("id", "bigint", ColumnKind.INTEGER, count=rows, null_count=0, distinct_count=rows,
                      distinct_exact=True, min=rng.randint(0, 2_000), max=2**30 - rng.randint(0, 2_000),
                      mean=2**29 + rng.uniform(-3e6, 3e6)),
        ColumnProfile("amount", "double", ColumnKind.FLOAT, count=rows, null_count=0,
                      distinct_count=round(rows * (0.8 + rng.uniform(-0.01, 0.01))), min=1 + rng.uniform(0, 0.01),
                      max=500 + rng.uniform(-5, 5), mean=mean, stddev=12.0),
        ColumnProfile("email", "string", ColumnKind.STRING, count=rows - email_nulls, null_count=email_nulls,
                      distinct_count=round((rows - email_nulls) * (0.5 + rng.uniform(-0.01, 0.01)))),
        ColumnProfile("updated_at", "timestamp", ColumnKind.TIMESTAMP, count=rows, null_count=0,
                      min=BASE - timedelta(days=365), max=latest,
                      freshness_seconds=(started - latest).total_seconds()),
        ColumnProfile("birth_date", "date", ColumnKind.DATE, count=rows, null_count=0,
                      min=datetime(1950, 1, 1).date(), max=datetime(2005, 1, 1).date()),
    )
    return TableProfile(row_count=rows, columns=columns, started_at=started,
                        finished_at=started + timedelta(minutes=2))


def series(runs: int, seed: int = 1) -> list[TableProfile]:
    rng = random.Random(seed)
    return [make_profile(run, rng=rng) for run in range(runs)]


@pytest.mark.parametrize("seed", range(20))
def test_a_normal_series_raises_nothing(seed):
    profiles = series(15, seed)
    for k in range(1, len(profiles)):  # every prefix: short history first, robust statistics later
        assert detect_anomalies(profiles[:k], profiles[k]) == [], k


def kinds(anomalies) -> list[tuple[AnomalyKind, str | None]]:
    return [(a.kind, a.column) for a in anomalies]


@pytest.mark.parametrize("history_length", [2, 10])
def test_volume_drop(history_length):
    rng = random.Random(7)
    history = series(history_length)
    current = make_profile(history_length, rng=rng, rows=history[-1].row_count // 2)
    anomalies = detect_anomalies(history, current)
    assert kinds(anomalies) == [(AnomalyKind.VOLUME, None)]
    assert anomalies[0].method == ("percentage" if history_length == 2 else "robust_z")
    assert anomalies[0].observed == current.row_count


@pytest.mark.parametrize("history_length", [2, 10])
def test_null_spike(history_length):
    rng = random.Random(8)
    history = series(history_length)
    current = make_profile(history_length, rng=rng, email_null_rate=0.35)
    anomalies = detect_anomalies(history, current)
    assert kinds(anomalies) == [(AnomalyKind.NULL_RATE, "email")]
    assert anomalies[0].observed == pytest.approx(0.35, abs=1e-3)


@pytest.mark.parametrize("history_length", [2, 10])
def test_stalled_freshness(history_length):
    rng = random.Random(9)
    history = series(history_length)
    stuck = history[-1].column("updated_at").max
    current = make_profile(history_length, rng=rng, latest=stuck)
    assert current.row_count > history[-1].row_count
    anomalies = detect_anomalies(history, current)
    # birth_date never advances either, but it never did: only updated_at stalls.
    assert kinds(anomalies) == [(AnomalyKind.FRESHNESS_STALL, "updated_at")]


def test_mean_shift_with_enough_history():
    rng = random.Random(10)
    history = series(10)
    current = make_profile(10, rng=rng, amount_mean=80)
    assert kinds(detect_anomalies(history, current)) == [(AnomalyKind.MEAN_SHIFT, "amount")]


def test_history_order_and_dicts_do_not_matter():
    rng = random.Random(11)
    history = series(10)
    current = make_profile(10, rng=rng, rows=history[-1].row_count // 2)
    shuffled = [p.to_dict() for p in reversed(history)]
    assert detect_anomalies(shuffled, current.to_dict()) == detect_anomalies(history, current)


def test_freshness_age_limit():
    rng = random.Random(12)
    history = series(3)
    current = make_profile(3, rng=rng, latest=BASE + timedelta(days=3) - timedelta(hours=30))
    found = detect_anomalies(history, current, thresholds=AnomalyThresholds(freshness_max_age_seconds=24 * 3600,
                                                                         freshness_columns=frozenset({"updated_at"})))
    assert (AnomalyKind.FRESHNESS_AGE, "updated_at") in kinds(found)
    assert (AnomalyKind.FRESHNESS_AGE, "birth_date") not in kinds(found)


def test_schema_drift_from_change_log_entries():
    rng = random.Random(13)
    history = series(3)
    current = make_profile(3, rng=rng)
    changes = [
        {"change_type": "column_removed", "column": "legacy_code", "before": {"data_type": "text"}},
        {"change_type": "column_comment_changed", "column": "id", "before": "a", "after": "b"},
        type("Entry", (), {"change_type": "column_type_changed", "entity_urn": "urn:col:amount",
                           "before": "numeric(10,2)", "after": "text"})(),
        {"type": "column_added", "column": "discount", "after": {"data_type": "numeric"}},
    ]
    found = detect_anomalies(history, current, schema_changes=changes)
    assert [(a.kind, a.column, a.severity) for a in found] == [
        (AnomalyKind.SCHEMA_DRIFT, "legacy_code", "critical"),
        (AnomalyKind.SCHEMA_DRIFT, "urn:col:amount", "critical"),
        (AnomalyKind.SCHEMA_DRIFT, "discount", "warning"),
    ]


def test_no_history_no_anomalies_but_schema_drift():
    current = make_profile(0, rng=random.Random(1))
    assert detect_anomalies([], current) == []
    found = detect_anomalies([], current, schema_changes=[{"change_type": "column_added", "column": "x"}])
    assert kinds(found) == [(AnomalyKind.SCHEMA_DRIFT, "x")]


def test_thresholds_per_table():
    rng = random.Random(14)
    history = series(2)
    current = make_profile(2, rng=rng, rows=round(history[-1].row_count * 0.8))  # a 20 % drop
    assert detect_anomalies(history, current) == []
    strict = AnomalyThresholds.from_mapping({"volume_change": 0.1})
    assert kinds(detect_anomalies(history, current, thresholds=strict)) == [(AnomalyKind.VOLUME, None)]
    no_volume = AnomalyThresholds.from_mapping({"volume_change": 0.1, "checks": ["null_rate"]})
    assert detect_anomalies(history, current, thresholds=no_volume) == []
    ignored = replace(AnomalyThresholds(), ignore_columns=frozenset({"email"}))
    spike = make_profile(2, rng=rng, email_null_rate=0.5)
    assert detect_anomalies(history, spike, thresholds=ignored) == []


@pytest.mark.parametrize(("settings", "field"), [
    ({"z_threshold": 0}, "z_threshold"),
    ({"min_history": 1}, "min_history"),
    ({"volume_chnage": 0.2}, "volume_chnage"),
    ({"checks": ["volume", "bogus"]}, "checks"),
    ({"freshness_max_age_seconds": -5}, "freshness_max_age_seconds"),
])
def test_bad_thresholds_name_the_field(settings, field):
    with pytest.raises(InvalidProfileInput) as error:
        AnomalyThresholds.from_mapping(settings)
    assert error.value.field == field
