"""What 20 aggregate rules add to a profile: the same 5M-row table profiled without rules and with them.

Generates the profile benchmark's table A (`benchmarks/profile.py`: 5,000,000 rows x 20 columns of integers, floats,
strings, timestamps, booleans, decimals and dates, ten row groups) as Parquet in a temporary folder (or `--workdir`),
then profiles it on Spark (`profile_parquet`, a warm session, as a worker reuses it) and, with `--in-process`, in
this process too (`profile_parquet_in_process`, the small-table path), alternately without checks and with 20
checks of every aggregate kind (`RULES`: not null, unique, accepted values, range, regex, length, type
conformance, row count, row count change; several failing, so their sample keys are gathered too).

Prints each round's times, then the median of each, the rules' share (with / without - 1; also the median of each
round's own share, which a busy machine disturbs less, as a round runs both back to back) and the Spark job count
of both (the rules add no Spark job). Target: the rules add at most 20 % to the profile. The machine may be shared:
the load averages are printed before and after, and every round's CPU seconds too, which other processes on a busy
machine disturb far less than the elapsed time: this process's on the in-process path, on Spark's those of this
process and its running descendants (the driver's JVM and its Python workers, read from /proc).

Last measured (docs/quality.md, "What each kind costs"; a shared two-core machine, load 1.5-7, `--rounds 5`, three
runs): the median of the rounds' own shares in CPU seconds +11.7, +13.9 and +13.8 % in-process, +14.9 and +16.5 %
on Spark (+17.6 % elapsed in the quietest run, whose Spark rounds lay within +12 to +20 %).

Usage: PYTHONPATH=/path/to/checkout python benchmarks/quality_rules_cost.py [--rows 5000000] [--rounds 3]
           [--master local[2]] [--driver-memory 2g] [--in-process] [--workdir DIR] [--conf KEY=VALUE ...]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

from benchmarks.profile import _tree, generate  # noqa: E402
from profiler.checks import CheckSpec, TableChecks  # noqa: E402

RULES = [
    ("not_null", "c005_float_nulls", {}),
    ("not_null", "c001_float", {}),
    ("not_null", "c012_str_low", {}),
    ("unique", "c003_int_high", {}),
    ("unique", "c006_str_high", {}),
    ("unique", "c000_int_low", {}),
    ("accepted_values", "c002_str_low", {"values": [f"category_{i:03d}" for i in range(150)]}),
    ("accepted_values", "c010_int_low", {"values": list(range(1000))}),
    ("range", "c001_float", {"min": 0, "max": 200}),
    ("range", "c008_decimal", {"min": 0, "max": 500_000}),
    ("range", "c013_int_high", {"min": 0, "max": 10**11}),
    ("regex", "c002_str_low", {"pattern": "^category_[0-9]{3}$"}),
    ("regex", "c006_str_high", {"pattern": "^user_[1-9][0-9]*$"}),
    ("length", "c012_str_low", {"min": 12, "max": 12}),
    ("length", "c016_str_high", {"min": 6, "max": 13}),
    ("type_conformance", "c016_str_high", {"type": "integer"}),
    ("type_conformance", "c009_date", {"type": "date"}),
    ("type_conformance", "c002_str_low", {"type": "uuid"}),
    ("row_count", None, {"min": 1, "max": 10_000_000}),
    ("row_count_change", None, {"max_increase_pct": 10, "max_decrease_pct": 10}),
]


def cpu_seconds(spark: bool) -> float:
    """CPU seconds used so far: this process's for the in-process path; for Spark's, those of this process and its
    running descendants (the driver's JVM, its Python workers), from /proc."""
    if not spark:
        return time.process_time()
    ticks = 0
    for pid in _tree(os.getpid()):
        try:
            with open(f"/proc/{pid}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime and stime
    return ticks / os.sysconf("SC_CLK_TCK")


def checks(rows: int) -> TableChecks:
    return TableChecks(tuple(CheckSpec(i, kind, column, params) for i, (kind, column, params) in enumerate(RULES)),
                       key=("c003_int_high",), previous_row_count=rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--driver-memory", default="2g")
    parser.add_argument("--in-process", action="store_true", help="Also time the in-process (small-table) path.")
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--conf", action="append", default=[], metavar="KEY=VALUE",
                        help="A Spark setting, e.g. spark.python.worker.memory=2g (repeatable).")
    args = parser.parse_args()

    from profiler import SparkConfig, get_spark, profile_parquet, profile_parquet_in_process

    with tempfile.TemporaryDirectory(dir=args.workdir) as folder:
        path = Path(folder) / "a.parquet"
        started = time.perf_counter()
        generate(path, args.rows, 20)
        print(f"generated {args.rows:,} rows x 20 columns in {time.perf_counter() - started:.1f} s "
              f"({path.stat().st_size / 1e6:.0f} MB)")
        print(f"load average before: {os.getloadavg()}")
        conf = dict(item.split("=", 1) for item in args.conf)
        spark = get_spark(SparkConfig(master=args.master, driver_memory=args.driver_memory, extra_conf=conf))
        profile_parquet(spark, str(path))  # warm-up: a worker's session has run profiles before
        paths = {"spark": lambda given: profile_parquet(spark, str(path), checks=given)}
        if args.in_process:
            paths["in-process"] = lambda given: profile_parquet_in_process(str(path), checks=given)
        table_checks = checks(args.rows)
        for name, run in paths.items():
            times: dict[str, list[float]] = {"without rules": [], "with 20 rules": []}
            cpu: dict[str, list[float]] = {label: [] for label in times}
            jobs: dict[str, int | None] = {}
            for round_ in range(args.rounds):
                for label, given in (("without rules", None), ("with 20 rules", table_checks)):
                    started, used = time.perf_counter(), cpu_seconds(name == "spark")
                    profile = run(given)
                    times[label].append(time.perf_counter() - started)
                    cpu[label].append(cpu_seconds(name == "spark") - used)
                    jobs[label] = profile.spark_jobs
                    if given is not None:
                        failed = sum(r.outcome == "failed" for r in profile.checks)
                        errors = [r.message for r in profile.checks if r.outcome == "error"]
                        assert not errors, errors
                print(f"{name} round {round_ + 1}: " + ", ".join(f"{label} {t[-1]:.1f} s" for label, t in
                                                                 times.items()) + f" ({failed} rules failing)"
                      + f"; CPU {cpu['without rules'][-1]:.1f} s / {cpu['with 20 rules'][-1]:.1f} s"
                      + f"; load {os.getloadavg()[0]:.1f}")
            plain, ruled = (statistics.median(times[label]) for label in times)
            paired = statistics.median(r / p - 1 for p, r in zip(*times.values(), strict=True))
            print(f"{name}: median without rules {plain:.1f} s, with 20 rules {ruled:.1f} s, "
                  f"rules' share {(ruled / plain - 1) * 100:+.1f} % (median of each round's own share "
                  f"{paired * 100:+.1f} %; target <= 20 %); Spark jobs {jobs['without rules']} / {jobs['with 20 rules']}")
            shares = sorted(r / p - 1 for p, r in zip(*cpu.values(), strict=True))
            by_medians = statistics.median(cpu["with 20 rules"]) / statistics.median(cpu["without rules"]) - 1
            print(f"{name} CPU: rules' share {by_medians * 100:+.1f} % by medians, median of each round's own share "
                  f"{statistics.median(shares) * 100:+.1f} % (rounds {', '.join(f'{x * 100:+.0f}' for x in shares)} %)")
        print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
