"""Quality rule files benchmark: what `catalog rule apply` and `export` cost for a source with many rules.

On an embedded SQLite catalog (a fresh one per round) holding one source of `--tables` tables with 8 columns each,
a rule file with `--rules` rules per table (a mix of column and table kinds, custom SQL included) is:
- applied to the empty catalog (every rule added: validated, stored, one history row and one event each);
- applied again (nothing changes: the idempotent path a CI job takes on every merge);
- applied as a dry run after editing a tenth of the rules;
- exported.
Rounds interleave the four steps; prints the median wall and CPU time of each, the SQL statements each sent to the
catalog (a fixed number whatever the file's size since the apply reads tables, columns and rules once and writes each
kind of change in one statement; before, one column query per rule and several statements per changed rule), the load
averages before and after (the machine is shared), and the ratio of the idempotent apply to the first. Run it with
PYTHONPATH at an older checkout to compare.

Usage: PYTHONPATH=/path/to/checkout python benchmarks/quality_rule_files.py [--tables 200] [--rules 5] [--rounds 3]
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

# Run as a script, this folder comes first on sys.path, and its graphql.py would shadow the graphql library.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

from sqlalchemy import event

from catalog_api.bootstrap import build_context
from catalog_api.db.models import DataSource
from catalog_api.security.identity import LOCAL_OPERATOR, acting_as
from catalog_api.services import crawl, quality
from catalog_api.settings import Settings
from catalog_api.urns import source_urn
from crawlers.snapshot import ColumnSnapshot, SchemaSnapshot, SourceSnapshot, TableSnapshot

KINDS = [
    {"kind": "not_null", "column": "c1"},
    {"kind": "range", "column": "c2", "params": {"min": 0, "max": 1000}},
    {"kind": "accepted_values", "column": "c3", "params": {"values": ["a", "b", "c"]}, "severity": "warning"},
    {"kind": "regex", "column": "c4", "params": {"pattern": "^[A-Z]{2}[0-9]+$"}},
    {"kind": "custom_sql", "params": {"sql": "SELECT c1 FROM main.t WHERE c2 < 0 AND c3 IS NULL"}},
    {"kind": "row_count", "params": {"min": 1}},
    {"kind": "freshness", "column": "c5", "params": {"max_age": "6h"}},
]


def catalog(home: Path, tables: int):
    ctx = build_context(Settings(home=home, secret_key="bench", scheduler_enabled=False, broker_url=None,
                                 events_relay_enabled=False), migrate=True)
    columns = tuple(ColumnSnapshot(f"c{i}", i, "text") for i in range(1, 9))
    snapshot = SourceSnapshot(schemas=(SchemaSnapshot("main"),), tables=tuple(
        TableSnapshot(schema="main", name=f"t{n:05d}", columns=columns) for n in range(tables)))
    with ctx.db.session() as session:
        source = DataSource(name="bench", urn=source_urn("bench"), kind="sqlite", config={"path": "/nowhere"},
                            secret_refs={}, lineage_namespace="bench")
        session.add(source)
        session.flush()
        crawl.apply_snapshot(session, source, snapshot)
    return ctx


def rule_file(tables: int, rules: int) -> dict:
    return {"source": "bench", "tables": [
        {"schema": "main", "table": f"t{n:05d}",
         "rules": [{"name": f"r{r}", **KINDS[(n + r) % len(KINDS)]} for r in range(rules)]}
        for n in range(tables)]}


def timed(step) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    step()
    return time.perf_counter() - wall, time.process_time() - cpu


def counted(engine, statements: list[int], step) -> tuple[float, float]:
    """`timed(step)`, appending to `statements` how many SQL statements `step` sent through `engine`."""
    sent = [0]

    def count(*_args) -> None:
        sent[0] += 1

    event.listen(engine, "before_cursor_execute", count)
    try:
        return timed(step)
    finally:
        event.remove(engine, "before_cursor_execute", count)
        statements.append(sent[0])


def print_medians(figures: dict[str, list[tuple[float, float]]], width: int, decimals: int) -> dict:
    """Prints each step's median wall and CPU time (ms) and the spread of its wall times; returns the medians."""
    print(f"load average after: {os.getloadavg()}")
    medians = {name: (statistics.median(w for w, _ in runs), statistics.median(c for _, c in runs))
               for name, runs in figures.items()}
    for name, (wall, cpu) in medians.items():
        spread = max(w for w, _ in figures[name]) / min(w for w, _ in figures[name])
        print(f"{name:>{width}}: {wall * 1000:8.{decimals}f} ms wall, {cpu * 1000:8.{decimals}f} ms CPU "
              f"(max/min wall {spread:.2f})")
    return medians


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", type=int, default=200)
    parser.add_argument("--rules", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    document = rule_file(args.tables, args.rules)
    edited = copy.deepcopy(document)
    for entry in edited["tables"][::10]:
        entry["rules"][0]["severity"] = "warning" if entry["rules"][0].get("severity") != "warning" else "error"
    figures: dict[str, list[tuple[float, float]]] = {"first apply": [], "second apply": [], "dry run (10% edited)": [],
                                                     "export": []}
    statements: dict[str, list[int]] = {name: [] for name in figures}
    print(f"load average before: {os.getloadavg()}")
    print(f"{args.tables} tables x {args.rules} rules = {args.tables * args.rules} rules, {args.rounds} rounds")
    for _ in range(args.rounds):
        with tempfile.TemporaryDirectory() as home, acting_as(LOCAL_OPERATOR):
            ctx = catalog(Path(home), args.tables)
            try:
                engine = ctx.db.engine
                figures["first apply"].append(counted(engine, statements["first apply"],
                                                      lambda: quality.apply_rules(ctx, document)))
                figures["second apply"].append(counted(engine, statements["second apply"],
                                                       lambda: quality.apply_rules(ctx, document)))
                figures["dry run (10% edited)"].append(counted(engine, statements["dry run (10% edited)"], lambda:
                                                               quality.apply_rules(ctx, edited, dry_run=True)))

                def export() -> None:
                    with ctx.db.session() as session:
                        quality.dump_yaml(quality.export_rules(session, "bench"))

                figures["export"].append(counted(engine, statements["export"], export))
            finally:
                ctx.close()
    medians = print_medians(figures, 22, 0)
    for name, sent in statements.items():
        print(f"{name:>22}: {statistics.median(sent):8.0f} SQL statements")
    print(f"second apply / first apply (CPU): {medians['second apply'][1] / medians['first apply'][1]:.2f}")


if __name__ == "__main__":
    main()
