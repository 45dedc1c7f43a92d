"""Small-table profile benchmark: the demo's tables profiled in-process (no JVM) against DuckDB SUMMARIZE.

Builds the demo ERP database (`catalog demo`'s 11 tables, ~21k rows) in a temporary folder, registers and crawls
it in a throw-away catalog, and reads every table the way a profile job does (through the SQLite connector into
a local Parquet file). Then, in one run, side by side:
- the in-process profile of all tables (`profile_parquet_in_process`: statistics and values passes), their key
  checks (`candidate_primary_keys_in_process`) and the foreign-key search (`candidate_foreign_keys_in_process`);
- DuckDB `SUMMARIZE` of the same Parquet files (DuckDB uses every core; the profile uses one), and the ratio;
- the ydata-profiling HTML reports rendered from the profiles' samples, in this process (what they cost);
- `--rounds` times, interleaved: the whole profile job through the catalog service (`request_profile`, embedded
  runner: profiles, keys, foreign keys, anomalies, staged report samples and storage; whether it started a Spark
  session, it must not) next to DuckDB SUMMARIZE measured in the same round, then the `report` job it queued
  (rendered in a child process: its wall time, the child's CPU time and peak RSS), measured separately.

Usage: python benchmarks/profile_small.py [--skip-job] [--skip-reports] [--sample-rows N] [--rounds N]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# This folder holds benchmarks/profile.py, named like the standard library's `profile` that PySpark's imports need:
# take the folder off the path, and put the repository on it.
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]


def _catalog(folder: Path, sample_rows: int):
    from catalog_api.bootstrap import build_context
    from catalog_api.demo.builder import build_demo_database
    from catalog_api.services import jobs
    from catalog_api.services.crawl import request_crawl
    from catalog_api.services.sources import SourceRegistration, register_source
    from catalog_api.settings import Settings

    settings = Settings(home=folder / "home", secret_key="benchmark-only", file_roots=[folder],
                        scheduler_enabled=False, broker_url=None, profile_sample_rows=sample_rows)
    ctx = build_context(settings, migrate=True)
    database = build_demo_database(folder / "erp.db")
    source = register_source(ctx, SourceRegistration(name="demo_erp", kind="sqlite", config={"path": str(database)}))
    crawl = jobs.wait_for_job(ctx, request_crawl(ctx, source.id).id, timeout=300)
    assert crawl.status == "succeeded", crawl.error_message
    return ctx, source.id


def _export(ctx, source_id: int, folder: Path) -> dict[str, list[str]]:
    """Every table a profile job covers, as the Parquet file the job would profile."""
    from catalog_api.db.models import DataSource
    from catalog_api.services.profiling.reading import profile_targets, read_source
    from catalog_api.services.sources import build_connector

    with ctx.db.session() as session:
        source = session.get(DataSource, source_id)
        targets = profile_targets(session, source, set())
        connector = build_connector(ctx, session, source)
    files = {}
    for index, target in enumerate(targets):
        tabledir = folder / f"t{index}"
        tabledir.mkdir()
        files[f"{target.schema}.{target.name}"] = read_source(connector, target, tabledir).files
    return files


def _seconds(started: float) -> float:
    return time.perf_counter() - started


def _summarize(con, paths: dict[str, list[str]]) -> float:
    started = time.perf_counter()
    for files in paths.values():
        con.execute("SUMMARIZE SELECT * FROM read_parquet(?)", [files]).fetchall()
    return _seconds(started)


def _job_round(ctx, source_id: int, paths: dict[str, list[str]], con, round_: int, *, reports_on: bool) -> None:
    """One profile job through the service, then its report job, with DuckDB SUMMARIZE measured between them."""
    import resource

    import profiler.session
    from catalog_api.services import jobs
    from catalog_api.services.profiling import request_profile

    ctx.settings.profile_reports_enabled = reports_on
    print(f"-- round {round_}: load averages {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    started = time.perf_counter()
    job = jobs.wait_for_job(ctx, request_profile(ctx, source_id).id, timeout=1800)
    wall = _seconds(started)
    assert job.status == "succeeded", job.error_message
    summarize = _summarize(con, paths)
    print(f"whole profile job (service):    {wall:6.2f} s wall, "
          f"{(job.finished_at - job.started_at).total_seconds():.2f} s running, reports "
          f"{'on (rendered by the report job below)' if reports_on else 'off'}, Spark session started: "
          f"{profiler.session._session is not None}")
    print(f"DuckDB SUMMARIZE, same round:   {summarize:6.2f} s; ratio profile job / SUMMARIZE {wall / summarize:.1f}x")
    report_job = (job.result or {}).get("report_job")
    if report_job is None:
        return
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = jobs.wait_for_job(ctx, report_job, timeout=1800)
    report_wall = _seconds(started)
    assert done.status == "succeeded", done.error_message
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - children.ru_utime) + (after.ru_stime - children.ru_stime)
    print(f"report job (child process):     {report_wall:6.2f} s after the profile job, "
          f"{(done.finished_at - done.started_at).total_seconds():.2f} s running, {done.result['reports']} reports, "
          f"child CPU {cpu:.1f} s, child peak RSS {after.ru_maxrss / 1024:.0f} MB; "
          f"ydata-profiling loaded here: {'ydata_profiling' in sys.modules}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skip-job", action="store_true", help="do not run the whole profile job")
    parser.add_argument("--skip-reports", action="store_true", help="do not render the HTML reports")
    parser.add_argument("--sample-rows", type=int, default=10_000, help="the profiles' sample (default 10000)")
    parser.add_argument("--rounds", type=int, default=2, help="profile jobs, each with SUMMARIZE (default 2)")
    args = parser.parse_args()

    import duckdb

    from profiler import (
        ProfileOptions,
        candidate_foreign_keys_in_process,
        candidate_primary_keys_in_process,
        parquet_files,
        profile_parquet_in_process,
        render_report,
    )

    with tempfile.TemporaryDirectory(prefix="profile-small-") as tmp:
        folder = Path(tmp)
        ctx, source_id = _catalog(folder, args.sample_rows)
        paths = _export(ctx, source_id, folder)
        found = {name: parquet_files(files) for name, files in paths.items()}
        rows = sum(f.rows for f in found.values())
        print(f"demo: {len(found)} tables, {rows:,} rows, {sum(f.cells for f in found.values()):,} cells")

        options = ProfileOptions(sample_rows=args.sample_rows)
        profile_parquet_in_process(next(iter(paths.values())), options=options)  # imports and first calls apart
        started = time.perf_counter()
        results = {name: profile_parquet_in_process(files, options=options, with_sample=True)
                   for name, files in found.items()}
        statistics = _seconds(started)
        started = time.perf_counter()
        profiles = {name: profile for name, (profile, _) in results.items()}
        keys = {name: candidate_primary_keys_in_process(found[name], profile) for name, profile in profiles.items()}
        primary = _seconds(started)
        started = time.perf_counter()
        foreign = candidate_foreign_keys_in_process(found, profiles, parent_keys=keys, include_rejected=True)
        foreign_time = _seconds(started)
        profile_time = statistics + primary + foreign_time

        con = duckdb.connect()
        con.execute("SUMMARIZE SELECT * FROM read_parquet(?)", [next(iter(paths.values()))]).fetchall()  # warm-up
        summarize = _summarize(con, paths)

        print(f"in-process profile, all tables: {profile_time:6.2f} s  (statistics {statistics:.2f} s, "
              f"key checks {primary:.2f} s, foreign-key search {foreign_time:.2f} s: "
              f"{sum(f.confirmed for f in foreign)} of {len(foreign)} candidates confirmed)")
        print(f"DuckDB SUMMARIZE, all tables:   {summarize:6.2f} s")
        print(f"ratio profile / SUMMARIZE:      {profile_time / summarize:6.1f}x "
              f"(statistics alone {statistics / summarize:.1f}x)")
        if not args.skip_job:
            for round_ in range(1, args.rounds + 1):
                _job_round(ctx, source_id, paths, con, round_, reports_on=not args.skip_reports)
        if not args.skip_reports:  # last: it loads ydata-profiling into this process
            started = time.perf_counter()
            for name, (_, sample) in results.items():
                render_report(sample, name, max_rows=max(1, args.sample_rows))
            reports = _seconds(started)
            print(f"HTML reports (ydata-profiling): {reports:6.2f} s, "
                  f"{reports / (reports + profile_time):.0%} of profile + reports")
        ctx.close()


if __name__ == "__main__":
    main()
