"""Reading a table to profile: which lake runs hold a whole table (a profile read from the lake is in test_jobs.py)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from catalog_api.services import profiling
from crawlers.lake import RunManifest


def _run_manifest(run_id: str, strategy: str, watermark_from) -> RunManifest:
    from datetime import UTC, datetime

    return RunManifest(run_id, (), strategy, None, watermark_from, None, datetime.now(UTC))


def test_which_lake_runs_hold_a_whole_table():
    full, key1, key2 = (_run_manifest("f", "full", None), _run_manifest("k1", "key", 10),
                        _run_manifest("k2", "key", 20))
    first_key = _run_manifest("k0", "key", None)
    stamp = _run_manifest("t", "timestamp", "2026-01-01")
    assert profiling.complete_lake_runs([]) is None
    assert [r.run_id for r in profiling.complete_lake_runs([key1, full])] == ["f"]
    assert [r.run_id for r in profiling.complete_lake_runs([full, key1, key2])] == ["f", "k1", "k2"]
    assert [r.run_id for r in profiling.complete_lake_runs([stamp, first_key, key1])] == ["k0", "k1"]
    assert profiling.complete_lake_runs([full, stamp]) is None  # updated rows come again: a change history
    assert profiling.complete_lake_runs([key1, key2]) is None  # no complete read to start from


def test_a_job_folder_lives_under_the_configured_work_dir_and_goes_with_its_files(tmp_path):
    from catalog_api.services.profiling.reading import workdir

    shared = tmp_path / "mnt" / "profiles"  # not there yet: created, as a fresh mount point's subfolder would be
    with workdir(shared) as job_dir, workdir(shared) as other:
        (job_dir / "source.parquet").write_bytes(b"PAR1")
        assert job_dir.parent == other.parent == shared and job_dir != other
    assert list(shared.iterdir()) == []
    with workdir() as default:
        assert default.parent == Path(tempfile.gettempdir())
    assert not default.exists()
