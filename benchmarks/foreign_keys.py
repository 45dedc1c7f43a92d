"""Foreign-key search benchmark: precision and recall against the foreign keys the database declares, and the
search's share of the profile's time.

Two SQLite databases, each read through the catalog's SQLite connector into Parquet as a profile job reads them:
- the demo ERP database (`catalog demo`: 11 tables, ~21k rows);
- a generated schema of `--tables` tables (default 50; `tests/support/foreign_keys.py`): declared foreign keys
  named the ways schemas name them, next to decoys whose values fall inside the parents' id ranges (quantities,
  counts, years, status codes, line and version numbers, ratings).

For each, in one run: the in-process profile of every table (statistics and values passes), the key checks and
the foreign-key search, timed apart; then precision and recall of the confirmed foreign keys against
`PRAGMA foreign_key_list` (a composite foreign key counts as one, and the search proposes single columns only),
with the misses and the false finds listed. `--spark` repeats the key checks and the search on Spark, on the
same profiles, and says whether both paths found the same candidates.

Usage: python benchmarks/foreign_keys.py [--tables N] [--seed N] [--spark]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# This folder holds benchmarks/profile.py, named like the standard library's `profile` that PySpark's imports need:
# take the folder off the path, and put the repository on it.
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]


def _links(found) -> set:
    return {(f.child_table, f.child_columns, f.parent_table, f.parent_columns) for f in found if f.confirmed}


def _show(link) -> str:
    child, child_columns, parent, parent_columns = link
    return f"{child}({', '.join(child_columns)}) -> {parent}({', '.join(parent_columns)})"


def _search(primary_keys, foreign_keys, data: dict, profiles: dict, tables: dict) -> tuple[dict, list, float, float]:
    """One engine's key checks and foreign-key search over `data` (Parquet files or Spark frames, by table): the
    candidate keys, the foreign keys found (rejected ones included), and the seconds each step took."""
    started = time.perf_counter()
    keys = {name: primary_keys(data[name], profile, declared=tables[name].declared_keys)
            for name, profile in profiles.items()}
    key_checks = time.perf_counter() - started
    started = time.perf_counter()
    found = foreign_keys(data, profiles, parent_keys=keys, include_rejected=True)
    return keys, found, key_checks, time.perf_counter() - started


def _measure(label: str, database: Path, folder: Path, spark_session) -> None:
    from profiler import (
        candidate_foreign_keys,
        candidate_foreign_keys_in_process,
        candidate_primary_keys,
        candidate_primary_keys_in_process,
        parquet_files,
        profile_parquet_in_process,
    )
    from profiler.key_candidates import foreign_key_pairs
    from tests.support.foreign_keys import declared_foreign_keys, export_tables, score

    folder.mkdir()
    tables = export_tables(database, folder)
    files = {name: parquet_files(t.files) for name, t in tables.items()}
    started = time.perf_counter()
    profiles = {name: profile_parquet_in_process(f) for name, f in files.items()}
    statistics = time.perf_counter() - started
    keys, found, key_checks, search = _search(candidate_primary_keys_in_process, candidate_foreign_keys_in_process,
                                              files, profiles, tables)
    total = statistics + key_checks + search

    declared = declared_foreign_keys(database)
    links = _links(found)
    precision, recall = score(links, declared)
    columns = sum(len(p.columns) for p in profiles.values())
    checked = len(foreign_key_pairs(profiles, keys, min_child_distinct=2, estimate_slack=0.1))
    print(f"{label}: {len(tables)} tables, {columns} columns, {sum(f.rows for f in files.values()):,} rows, "
          f"{len(declared)} declared foreign keys")
    print(f"  precision {precision:.3f}  recall {recall:.3f}  ({len(links & declared)} of {len(links)} found are "
          f"declared; {checked} pairs checked exactly, {len(found) - len(links)} of them rejected)")
    for link in sorted(declared - links):
        print(f"  missed:     {_show(link)}")
    for link in sorted(links - declared):
        print(f"  not declared: {_show(link)}")
    suggested = sorted(f"{name}.{k.columns[0]}" for name, ks in keys.items() for k in ks if not k.declared)
    print(f"  candidate keys beyond the declared ones: {', '.join(suggested) or 'none'}")
    print(f"  in-process: profile {statistics:.2f} s, key checks {key_checks:.3f} s, foreign-key search "
          f"{search:.3f} s = {search / total:.1%} of the profile's {total:.2f} s")
    if spark_session is not None:
        frames = {name: spark_session.read.parquet(*t.files) for name, t in tables.items()}
        spark_keys, on_spark, spark_key_checks, spark_search = _search(candidate_primary_keys, candidate_foreign_keys,
                                                                       frames, profiles, tables)
        same = spark_keys == keys and sorted(on_spark, key=repr) == sorted(found, key=repr)
        print(f"  on Spark (same profiles): key checks {spark_key_checks:.2f} s, foreign-key search "
              f"{spark_search:.2f} s; same candidates as in-process: {same}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tables", type=int, default=50, help="tables of the generated schema (default 50)")
    parser.add_argument("--seed", type=int, default=11, help="seed of the generated schema (default 11)")
    parser.add_argument("--spark", action="store_true", help="also run the key checks and the search on Spark")
    args = parser.parse_args()

    from catalog_api.demo.builder import build_demo_database
    from tests.support.foreign_keys import build_generated_schema

    spark_session = None
    if args.spark:
        from profiler import SparkConfig, get_spark

        spark_session = get_spark(SparkConfig(master="local[2]"))
    with tempfile.TemporaryDirectory(prefix="foreign-keys-") as tmp:
        folder = Path(tmp)
        _measure("demo", build_demo_database(folder / "erp.db"), folder / "demo", spark_session)
        generated = build_generated_schema(folder / "generated.db", tables=args.tables, seed=args.seed)
        _measure(f"generated schema (seed {args.seed})", generated, folder / "generated", spark_session)
    if spark_session is not None:
        from profiler.session import stop_spark

        stop_spark()


if __name__ == "__main__":
    main()
