"""Profile benchmark: the Spark profiler against DuckDB SUMMARIZE (reference) and ydata-profiling (peer).

Generates two Parquet tables with pyarrow in a temporary folder (or `--workdir`):
- A: 5,000,000 rows x 20 columns,
- B: 1,000,000 rows x 200 columns,
each in ten row groups, cycling through low/high-cardinality integers, floats with nulls, low/high-cardinality
strings, zoned timestamps, dates, booleans and decimals. For each table it prints:
- Spark session start (seconds, reported apart) and the profile's wall time (`profile_parquet`: statistics pass
  and values pass), first run in a fresh JVM and again warm, as a worker reusing its session would;
- the Spark job count of one profile (from Spark's status tracker);
- DuckDB `SUMMARIZE` on the same file (reference; DuckDB uses all cores);
- ydata-profiling `minimal=True` on the first 1,000,000 rows read into pandas (peer; load time excluded),
  compared by time per row;
- the HTML report a profile job gets: its bounded sample (`--report-rows`, the default `CATALOG_PROFILE_SAMPLE_ROWS`,
  fewer rows for a wide table: `profiler.report.sample_rows`) staged as Parquet and rendered by the report job's
  child process (`profiler.report_process`), and the report's share of profile + report (cold and warm);
- the peak memory of each, summed RSS of the whole process tree (the JVM included), sampled every 0.2 s.

Each contender runs in its own subprocess so their memory does not mix. Targets: the profile within 5x of
DuckDB SUMMARIZE, at least 10x faster than ydata-profiling, table B in under 60 s on 2 cores.
Usage: python benchmarks/profile.py [--master local[2]] [--driver-memory 2g] [--workdir DIR] [--skip-ydata]
                                    [--rows-a N --cols-a N --rows-b N --cols-b N] [--ydata-timeout S]
                                    [--report-rows N] [--skip-report]
"""

from __future__ import annotations

import os
import sys

# Run as a script, this file's folder comes first on sys.path, and this file is named like the standard library's
# `profile`, which cProfile (imported by PySpark) needs. Take the folder off before anything imports it.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]

import argparse  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PAGE = os.sysconf("SC_PAGE_SIZE")
KINDS = ("int_low", "float", "str_low", "int_high", "ts", "float_nulls", "str_high", "bool", "decimal", "date")


# -- data ---------------------------------------------------------------------------------------------------------

def generate(path: Path, rows: int, columns: int, *, seed: int = 7, row_groups: int = 10) -> None:
    """Writes the table in `row_groups` row groups, one chunk of rows at a time (never more in memory).

    Ten row groups give every core work (a row group is the smallest unit a task reads) and keep them near the
    usual 128 MB: pyarrow's default of 1M rows per group makes the 200-column table one 1 GB group.
    """
    chunk = max(1, -(-rows // row_groups))
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    categories = pa.array([f"category_{i:03d}" for i in range(200)])
    names = [f"c{i:03d}_{KINDS[i % len(KINDS)]}" for i in range(columns)]
    writer = None
    try:
        for start in range(0, rows, chunk):
            n = min(chunk, rows - start)
            arrays = []
            for i in range(columns):
                kind = KINDS[i % len(KINDS)]
                if kind == "int_low":
                    arrays.append(pa.array(rng.integers(0, 1000, n)))
                elif kind == "float":
                    arrays.append(pa.array(rng.normal(100.0, 25.0, n)))
                elif kind == "float_nulls":
                    arrays.append(pa.array(rng.exponential(40.0, n), mask=rng.random(n) < 0.05))
                elif kind == "str_low":
                    arrays.append(categories.take(pa.array(rng.integers(0, 200, n))))
                elif kind == "int_high":
                    arrays.append(pa.array(rng.integers(0, 10**12, n)))
                elif kind == "ts":
                    micros = 1_700_000_000_000_000 + rng.integers(0, 10**13, n)
                    arrays.append(pa.array(micros, pa.int64()).cast(pa.timestamp("us", tz="UTC")))
                elif kind == "str_high":
                    ids = pa.array(rng.integers(0, 10**9, n)).cast(pa.string())
                    arrays.append(pc.binary_join_element_wise("user_", ids, ""))
                elif kind == "bool":
                    arrays.append(pa.array(rng.random(n) < 0.3))
                elif kind == "decimal":
                    # decimal128 stores 16-byte little-endian unscaled integers: cents, high word 0.
                    words = np.zeros((n, 2), dtype=np.int64)
                    words[:, 0] = rng.integers(0, 10**8, n)
                    arrays.append(pa.Array.from_buffers(pa.decimal128(12, 2), n, [None, pa.py_buffer(words)]))
                else:
                    arrays.append(pa.array(19_000 + rng.integers(0, 2000, n), pa.int32()).cast(pa.date32()))
            batch = pa.table(arrays, names=names)
            if writer is None:
                writer = pq.ParquetWriter(path, batch.schema)
            writer.write_table(batch, row_group_size=chunk)
    finally:
        if writer is not None:
            writer.close()


# -- memory sampling without psutil (not a dependency): /proc ---------------------------------------------------

def _tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, ()))
    return found


def _rss(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/statm") as handle:
                total += int(handle.read().split()[1]) * PAGE
        except OSError:
            continue
    return total


def run_measured(args: list[str], timeout: float | None = None) -> tuple[dict | None, int, float, str]:
    """Runs a Python subprocess that prints one JSON line last; returns (result, peak RSS, seconds, stderr)."""
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, cwd=ROOT)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _rss(_tree(process.pid)))
            done.wait(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        done.set()
        return None, peak, time.perf_counter() - started, "timeout"
    done.set()
    sampler.join()
    lines = [line for line in out.splitlines() if line.startswith("{")]
    result = json.loads(lines[-1]) if lines and process.returncode == 0 else None
    return result, peak, time.perf_counter() - started, err[-3000:]


# -- the contenders (run as `python benchmarks/profile.py --child KIND PATH ...`) ---------------------------------

def child_spark(path: str, master: str, driver_memory: str, repeat: int) -> dict:
    sys.path.insert(0, str(ROOT))
    from profiler.session import SparkConfig, get_spark
    from profiler.stats import profile_parquet

    started = time.perf_counter()
    spark = get_spark(SparkConfig(master=master, driver_memory=driver_memory))
    session = time.perf_counter() - started
    runs, jobs = [], []
    for _ in range(repeat):
        started = time.perf_counter()
        profile = profile_parquet(spark, path)
        runs.append(time.perf_counter() - started)
        jobs.append(profile.spark_jobs)
    return {"session_s": session, "profile_s": runs, "jobs": jobs, "rows": profile.row_count,
            "columns": len(profile.columns)}


def child_duckdb(path: str) -> dict:
    import duckdb

    con = duckdb.connect()
    started = time.perf_counter()
    rows = con.execute(f"SUMMARIZE SELECT * FROM read_parquet('{path}')").fetchall()
    return {"seconds": time.perf_counter() - started, "columns": len(rows), "threads":
            con.execute("select current_setting('threads')").fetchone()[0]}


def child_ydata(path: str, rows: int) -> dict:
    import pyarrow.parquet as pq

    sys.path.insert(0, str(ROOT))
    from profiler.report import render_report

    started = time.perf_counter()
    reader = pq.ParquetFile(path)
    batches, taken = [], 0
    for batch in reader.iter_batches(batch_size=100_000):
        batches.append(batch)
        taken += batch.num_rows
        if taken >= rows:
            break
    import pyarrow as pa

    frame = pa.Table.from_batches(batches).slice(0, rows).to_pandas()
    load = time.perf_counter() - started
    started = time.perf_counter()
    html = render_report(frame, "benchmark", max_rows=rows)
    return {"seconds": time.perf_counter() - started, "load_s": load, "rows": len(frame), "html_bytes": len(html)}


def child_report(path: str, rows: int) -> dict:
    """A profile job's report: the first `rows` rows staged as the profile job stages its sample, then rendered as
    the report job renders it, in a child process (timed together: both are what reports cost)."""
    import tempfile

    import pyarrow.parquet as pq

    sys.path.insert(0, str(ROOT))
    from profiler.report import stage_sample
    from profiler.report_process import StagedReport, render_in_child

    reader = pq.ParquetFile(path)
    frame = next(reader.iter_batches(batch_size=rows)).to_pandas()
    with tempfile.TemporaryDirectory(prefix="report-bench-") as folder:
        started = time.perf_counter()
        staged = Path(folder) / "sample.parquet"
        stage_sample(frame, staged, max_rows=rows)
        rows_staged = pq.ParquetFile(staged).metadata.num_rows
        (outcome,) = render_in_child([StagedReport("1", staged, "benchmark")], Path(folder) / "out",
                                     timeout_s=3600, memory_mb=0)
        seconds = time.perf_counter() - started
    if outcome.html is None:
        raise RuntimeError(outcome.error)
    return {"seconds": seconds, "rows": rows_staged, "columns": len(frame.columns), "html_bytes": len(outcome.html)}


# -- orchestration ------------------------------------------------------------------------------------------------

def _mb(value: int) -> str:
    return f"{value / 2**20:,.0f} MB"


def bench_table(label: str, path: Path, args: argparse.Namespace) -> dict:
    size = path.stat().st_size
    print(f"\n== {label}: {path.name} ({_mb(size)} Parquet) ==", flush=True)
    spark, spark_peak, _, err = run_measured([__file__, "--child", "spark", str(path), "--master", args.master,
                                              "--driver-memory", args.driver_memory, "--repeat", str(args.repeat)])
    if spark is None:
        raise SystemExit(f"spark profile failed:\n{err}")
    first, *rest = spark["profile_s"]
    print(f"spark session start        {spark['session_s']:8.1f} s", flush=True)
    print(f"profile (fresh JVM)        {first:8.1f} s   jobs={spark['jobs'][0]}", flush=True)
    for seconds, jobs in zip(rest, spark["jobs"][1:], strict=True):
        print(f"profile (warm session)     {seconds:8.1f} s   jobs={jobs}", flush=True)
    print(f"  peak memory, process tree {_mb(spark_peak)} (session + {args.repeat} profiles)", flush=True)
    duck, duck_peak, _, err = run_measured([__file__, "--child", "duckdb", str(path)])
    if duck is None:
        raise SystemExit(f"duckdb failed:\n{err}")
    print(f"duckdb SUMMARIZE           {duck['seconds']:8.1f} s   threads={duck['threads']}  "
          f"peak {_mb(duck_peak)}", flush=True)
    result = {"label": label, "rows": spark["rows"], "profile_first_s": first,
              "profile_warm_s": min(rest) if rest else None,
              "session_s": spark["session_s"], "jobs": spark["jobs"][0], "spark_peak": spark_peak,
              "duckdb_s": duck["seconds"], "duckdb_peak": duck_peak}
    if not args.skip_report:
        report, report_peak, _, err = run_measured([__file__, "--child", "report", str(path), "--rows",
                                                    str(args.report_rows)])
        if report is None:
            raise SystemExit(f"report failed:\n{err}")
        warm = result["profile_warm_s"] or first
        seconds = report["seconds"]
        print(f"HTML report (child)        {seconds:8.1f} s   on a {report['rows']:,}-row sample of "
              f"{report['columns']} columns, share of profile + report: {seconds / (first + seconds):.0%} cold, "
              f"{seconds / (warm + seconds):.0%} warm  peak {_mb(report_peak)}", flush=True)
        result["report_s"] = seconds
    if not args.skip_ydata:
        ydata, ydata_peak, wall, err = run_measured([__file__, "--child", "ydata", str(path), "--rows",
                                                     str(args.ydata_rows)], timeout=args.ydata_timeout)
        if ydata is None:
            print(f"ydata-profiling minimal    > {wall:7.0f} s   ({'timed out' if err == 'timeout' else err})",
                  flush=True)
            result["ydata_s"] = None
        else:
            print(f"ydata-profiling minimal    {ydata['seconds']:8.1f} s   on {ydata['rows']:,} rows "
                  f"(load {ydata['load_s']:.1f} s excluded)  peak {_mb(ydata_peak)}", flush=True)
            result["ydata_s"] = ydata["seconds"]
            result["ydata_rows"] = ydata["rows"]
        result["ydata_peak"] = ydata_peak
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("path", nargs="?", help=argparse.SUPPRESS)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--driver-memory", default="2g")
    parser.add_argument("--repeat", type=int, default=2, help="profiles per table in one session (first is cold)")
    parser.add_argument("--rows", type=int, default=1_000_000, help=argparse.SUPPRESS)
    parser.add_argument("--rows-a", type=int, default=5_000_000)
    parser.add_argument("--cols-a", type=int, default=20)
    parser.add_argument("--rows-b", type=int, default=1_000_000)
    parser.add_argument("--cols-b", type=int, default=200)
    parser.add_argument("--ydata-rows", type=int, default=1_000_000)
    parser.add_argument("--ydata-timeout", type=float, default=1800.0)
    parser.add_argument("--skip-ydata", action="store_true")
    parser.add_argument("--report-rows", type=int, default=10_000, help="the report's sample (a profile job's)")
    parser.add_argument("--skip-report", action="store_true")
    parser.add_argument("--workdir", type=Path, default=None, help="keep the generated files here (reused)")
    args = parser.parse_args()

    if args.child:
        result = {"spark": lambda: child_spark(args.path, args.master, args.driver_memory, args.repeat),
                  "duckdb": lambda: child_duckdb(args.path),
                  "ydata": lambda: child_ydata(args.path, args.rows),
                  "report": lambda: child_report(args.path, args.rows)}[args.child]()
        print(json.dumps(result), flush=True)
        return

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="profile-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"cores: {os.cpu_count()}  master: {args.master}  driver memory: {args.driver_memory}  "
          f"load average: {os.getloadavg()[0]:.1f}", flush=True)
    tables = [("A", args.rows_a, args.cols_a), ("B", args.rows_b, args.cols_b)]
    results = []
    for label, rows, cols in tables:
        path = workdir / f"table_{label}_{rows}x{cols}.parquet"
        if not path.exists():
            started = time.perf_counter()
            generate(path, rows, cols)
            print(f"generated {path} in {time.perf_counter() - started:.0f} s", flush=True)
        results.append(bench_table(f"table {label}: {rows:,} rows x {cols} columns", path, args))

    print("\n== summary (profile = fresh-JVM run, session start excluded) ==")
    for r in results:
        warm = f" (warm {r['profile_warm_s']:.1f} s)" if r["profile_warm_s"] is not None else ""
        line = (f"{r['label']}: profile {r['profile_first_s']:.1f} s{warm}, {r['jobs']} jobs, "
                f"{r['profile_first_s'] / r['duckdb_s']:.1f}x DuckDB SUMMARIZE ({r['duckdb_s']:.1f} s)")
        if r.get("ydata_s"):
            # ydata-profiling sees at most --ydata-rows rows: compare the time per row.
            ours = r["profile_first_s"] / r["rows"]
            theirs = r["ydata_s"] / r["ydata_rows"]
            line += (f", ydata-profiling {r['ydata_s']:.1f} s on {r['ydata_rows']:,} rows: "
                     f"{theirs / ours:.1f}x the profile's time per row")
        if r.get("report_s"):
            share = r["report_s"] / (r["profile_first_s"] + r["report_s"])
            line += f"; HTML report {r['report_s']:.1f} s, {share:.0%} of profile (cold) + report"
        print(line)
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
