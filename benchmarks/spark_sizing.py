"""Spark sizing: the driver's and the executors' peak memory for one profile, by table size, on `local[N]` and on a
standalone cluster (a real master and worker on this machine, started like tests/support/spark_cluster.py does).

For each `ROWSxCOLUMNS` size it generates a Parquet table (benchmarks/profile.py's generator: ten column kinds,
ten row groups) and profiles it as a profile job does (`profile_parquet` with the 10,000-row sample) in a fresh
process, once per path, interleaved (local, cluster, next size…) so a load change on the busy machine hits both. It
prints, per run:
- wall time, and the load average around it;
- the peaks Spark measures itself (event log, `spark.eventLog.logStageExecutorMetrics`, polled every 100 ms):
  JVM heap used on the driver and on the executors, and the RSS of the executors' Python workers;
- the peak RSS of the process trees, sampled from /proc every 0.2 s: the driver (Python + its JVM; in local mode
  the executors' work runs inside it too) and, on the cluster, the executor (its JVM + Python workers).
The driver reports its metrics with its heartbeat (every 10 s): a run of a few seconds may end before the first,
and then shows 0 for the driver's heap. Heap *used* is what a JVM needs; RSS also holds heap the JVM reserved and never gave back, so it follows `-Xmx`.

Usage: python benchmarks/spark_sizing.py [--sizes 1000000x10,1000000x50,6000000x16] [--cores 2]
                                         [--driver-memory 2g] [--executor-memory 2g] [--workdir DIR]
The tables have ten row groups each, so the cells per row group are a tenth of the table's.
"""

from __future__ import annotations

import os
import sys

# Run as a script, this folder comes first on sys.path, and benchmarks/profile.py would shadow the standard library's
# `profile` (which cProfile, imported by PySpark, needs): take the folder off, and import that file as a module.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]
sys.path.insert(0, os.path.dirname(_HERE))

import argparse  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from benchmarks.profile import _rss, _tree, generate, run_measured  # noqa: E402
from tests.support.polling import polling  # noqa: E402

MB = 2**20


def child(path: str, master: str, driver_memory: str, executor_memory: str, events: str) -> dict:
    """One profile in this fresh process, with Spark's own memory metrics written to the event log `events`."""
    from profiler import ProfileOptions
    from profiler.session import SparkConfig, get_spark, stop_spark
    from profiler.stats import profile_parquet

    conf = {"spark.executor.memory": executor_memory, "spark.eventLog.enabled": "true", "spark.eventLog.dir": events,
            "spark.eventLog.compress": "false", "spark.eventLog.rolling.enabled": "false",
            "spark.eventLog.logStageExecutorMetrics": "true", "spark.executor.processTreeMetrics.enabled": "true",
            "spark.executor.metrics.pollingInterval": "100ms"}
    started = time.perf_counter()
    spark = get_spark(SparkConfig(master=master, driver_memory=driver_memory, extra_conf=conf))
    session = time.perf_counter() - started
    started = time.perf_counter()
    profile, _sample = profile_parquet(spark, path, options=ProfileOptions(sample_rows=10_000), with_sample=True)
    seconds = time.perf_counter() - started
    stop_spark()  # closes the event log
    return {"session_s": session, "profile_s": seconds, "rows": profile.row_count, "jobs": profile.spark_jobs,
            **spark_peaks(Path(events))}


def spark_peaks(events: Path) -> dict:
    """The largest JVM heap used by the driver and by any executor, and the executors' Python RSS, over every stage,
    from Spark's event log (bytes)."""
    peaks = {"driver_heap": 0, "executor_heap": 0, "executor_python_rss": 0}
    for log in (path for path in events.rglob("*") if path.is_file() and not path.name.startswith(".")):
        for line in log.read_text().splitlines():
            event = json.loads(line)
            if event.get("Event") != "SparkListenerStageExecutorMetrics":
                continue
            metrics = event["Executor Metrics"]
            role = "driver" if event["Executor ID"] == "driver" else "executor"
            peaks[f"{role}_heap"] = max(peaks[f"{role}_heap"], metrics.get("JVMHeapMemory", 0))
            if role == "executor":
                peaks["executor_python_rss"] = max(peaks["executor_python_rss"],
                                                   metrics.get("ProcessTreePythonRSSMemory", 0))
    return peaks


def measure(path: Path, master: str, args: argparse.Namespace, worker_pid: int | None) -> dict:
    events = Path(tempfile.mkdtemp(prefix="spark-events-"))
    load = os.getloadavg()[0]
    executors = [0]  # the peak RSS of the worker's children: its executors and their Python workers

    def sample() -> None:
        if worker_pid:
            executors[0] = max(executors[0], _rss(_tree(worker_pid)[1:]))

    with polling(0.2, sample):
        result, driver_peak, wall, err = run_measured(
            [__file__, "--child", str(path), "--master", master, "--driver-memory", args.driver_memory,
             "--executor-memory", args.executor_memory, "--events", str(events)])
    shutil.rmtree(events, ignore_errors=True)
    if result is None:
        raise SystemExit(f"the profile on {master} failed:\n{err}")
    return {**result, "wall_s": wall, "driver_rss": driver_peak, "executor_rss": executors[0],
            "load": (load + os.getloadavg()[0]) / 2}


def report(label: str, r: dict) -> None:
    executor = (f"executor heap {r['executor_heap'] / MB:5.0f} MB, Python {r['executor_python_rss'] / MB:5.0f} MB, "
                f"tree RSS {r['executor_rss'] / MB:5.0f} MB" if r["executor_rss"] else "executors run in the driver")
    print(f"  {label:8s} profile {r['profile_s']:6.1f} s (session {r['session_s']:4.1f} s, load {r['load']:4.1f})  "
          f"driver heap {r['driver_heap'] / MB:5.0f} MB, tree RSS {r['driver_rss'] / MB:5.0f} MB  {executor}",
          flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--events", help=argparse.SUPPRESS)
    parser.add_argument("--master", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--sizes", default="1000000x10,1000000x50,6000000x16", help="ROWSxCOLUMNS,…")
    parser.add_argument("--cores", type=int, default=2, help="local[N] and the worker's cores")
    parser.add_argument("--driver-memory", default="2g")
    parser.add_argument("--executor-memory", default="2g")
    parser.add_argument("--workdir", type=Path, default=None, help="keep the generated files here (reused)")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.master, args.driver_memory, args.executor_memory, args.events)))
        return

    from tests.support.spark_cluster import spark_cluster

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="spark-sizing-"))
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"cores: {os.cpu_count()}  local[{args.cores}] and a {args.cores}-core worker  driver memory "
          f"{args.driver_memory}  executor memory {args.executor_memory}  load average {os.getloadavg()}", flush=True)
    results = []
    with spark_cluster(workdir / "cluster", cores=args.cores, memory=args.executor_memory) as cluster:
        for size in args.sizes.split(","):
            rows, columns = (int(n) for n in size.lower().split("x"))
            path = workdir / f"sizing_{rows}x{columns}.parquet"
            if not path.exists():
                generate(path, rows, columns)
            print(f"\n== {rows:,} rows x {columns} columns ({rows * columns / 1e6:.0f}M cells, "
                  f"{path.stat().st_size / MB:.0f} MB Parquet) ==", flush=True)
            local = measure(path, f"local[{args.cores}]", args, None)
            report("local", local)
            remote = measure(path, cluster.master_url, args, cluster.worker_pid)
            report("cluster", remote)
            results.append((rows, columns, local, remote))
    # A task holds one decoded row group (a tenth of these tables) in its Python worker: that, and the cores, set
    # the executors' memory, not the table's size.
    print("\n== summary: peak heap used, and the executors' Python workers per core ==")
    for rows, columns, local, remote in results:
        group_cells = rows * columns / 10 / 1e6
        print(f"{rows:>9,} x {columns:<3} ({group_cells:4.1f}M cells per row group)  driver heap: local "
              f"{local['driver_heap'] / MB:4.0f} MB, cluster {remote['driver_heap'] / MB:4.0f} MB  executor heap "
              f"{remote['executor_heap'] / MB:4.0f} MB  Python per core "
              f"{remote['executor_python_rss'] / MB / args.cores:4.0f} MB  time cluster/local "
              f"{remote['profile_s'] / local['profile_s']:.2f}")
    print(f"load average at the end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
