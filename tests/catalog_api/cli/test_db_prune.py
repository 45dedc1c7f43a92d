"""`catalog db prune`, run as an operator would: a separate process on an embedded catalog of old and new rows."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timezone

import pytest

from tests.support.retention import DAYS, remaining, seed


@pytest.fixture
def catalog(tmp_path):
    """A migrated embedded catalog holding rows of every kind, and a runner of `catalog` commands on it."""
    from catalog_api.bootstrap import build_context
    from catalog_api.settings import Settings

    env = {**os.environ, "CATALOG_HOME": str(tmp_path / "home"), "CATALOG_SECRET_KEY": "cli-test-key",
           "COLUMNS": "200", "NO_COLOR": "1"}
    for name in [name for name in env if name.startswith("CATALOG_RETENTION_")] + ["CATALOG_DATABASE_URL"]:
        env.pop(name, None)
    ctx = build_context(Settings(home=tmp_path / "home", secret_key="cli-test-key", database_url=None), migrate=True)
    seeded = seed(ctx, events=3000, jobs=2000, deliveries=2000, now=datetime.now(timezone.utc))

    def run(*args: str, **extra_env: str) -> subprocess.CompletedProcess:
        done = subprocess.run([sys.executable, "-m", "catalog_api.cli", *args], env={**env, **extra_env},
                              cwd=tmp_path, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
        return done

    yield ctx, seeded, run
    ctx.close()


def test_dry_run_prints_what_would_go_and_deletes_nothing(catalog):
    ctx, seeded, run = catalog
    before = {kind: remaining(ctx, kind) for kind in DAYS}

    printed = json.loads(run("db", "prune", "--dry-run", "--json").stdout)

    assert printed["dry_run"] is True
    assert {k["kind"]: (k["keep_days"], k["rows"]) for k in printed["kinds"]} == {
        kind: (DAYS[kind], len(seeded.doomed[kind])) for kind in DAYS}
    assert {kind: remaining(ctx, kind) for kind in DAYS} == before


def test_prune_deletes_to_the_settings_and_prints_a_summary(catalog):
    ctx, seeded, run = catalog
    jobs_before = remaining(ctx, "finished_jobs")

    out = run("db", "prune", CATALOG_RETENTION_FINISHED_JOBS_DAYS="0").stdout

    cells = {tuple(cell.strip() for cell in line.strip("│").split("│")) for line in out.splitlines()}
    assert ("finished_jobs", "forever", "", "0") in cells
    assert {(c[0], c[1], c[3]) for c in cells if len(c) == 4 and c[0] in DAYS} == {
        ("sent_events", "7 days", str(len(seeded.doomed["sent_events"]))), ("finished_jobs", "forever", "0"),
        ("webhook_deliveries", "14 days", str(len(seeded.doomed["webhook_deliveries"])))}
    assert remaining(ctx, "sent_events") == seeded.kept("sent_events")
    assert remaining(ctx, "webhook_deliveries") == seeded.kept("webhook_deliveries")
    assert remaining(ctx, "finished_jobs") == jobs_before
