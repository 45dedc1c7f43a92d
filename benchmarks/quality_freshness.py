"""Freshness checks between profiles: what looking for due freshness rules adds to every scheduler tick.

On an embedded SQLite catalog holding one source of `--tables` tables, each with a freshness rule and `--results`
results (the latest one recent, so nothing is due), a scheduler tick runs:
- with the freshness checks off (`quality_freshness_interval_s=0`): the baseline tick (schedules, take-over sweeps);
- with them on: the same tick plus the due-rule query, which finds nothing to queue.
Rounds interleave the two; prints the median wall and CPU time of each, the load averages before and after (the
machine is shared) and the ratio on over off, which is what the check costs every tick.

Usage: PYTHONPATH=/path/to/checkout python benchmarks/quality_freshness.py [--tables 2000] [--results 20] [--rounds 9]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

from sqlalchemy import insert, select  # noqa: E402

from benchmarks.quality_rule_files import catalog, print_medians, timed  # noqa: E402
from catalog_api.db.models import utcnow  # noqa: E402
from catalog_api.db.quality import QualityResult, QualityRule  # noqa: E402
from catalog_api.security.identity import LOCAL_OPERATOR, acting_as  # noqa: E402
from catalog_api.services import quality  # noqa: E402
from catalog_api.services.jobs.schedules import tick  # noqa: E402


def freshness_rules(ctx, tables: int, results: int) -> None:
    quality.apply_rules(ctx, {"source": "bench", "tables": [
        {"schema": "main", "table": f"t{n:05d}",
         "rules": [{"name": "fresh", "kind": "freshness", "column": "c5", "params": {"max_age": "6h"}}]}
        for n in range(tables)]})
    now = utcnow()
    with ctx.db.session() as session:
        rules = list(session.execute(select(QualityRule.id, QualityRule.table_id)))
        session.execute(insert(QualityResult), [
            {"rule_id": rule_id, "table_id": table_id, "rule_version": 1, "run_id": f"run-{r}",
             "evaluated_at": now - timedelta(minutes=results - 1 - r), "outcome": "passed", "sample_keys": []}
            for rule_id, table_id in rules for r in range(results)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", type=int, default=2000)
    parser.add_argument("--results", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()}")
    print(f"{args.tables} freshness rules x {args.results} results, {args.rounds} interleaved rounds")
    figures: dict[str, list[tuple[float, float]]] = {"tick, checks off": [], "tick, checks on": []}
    with tempfile.TemporaryDirectory() as home, acting_as(LOCAL_OPERATOR):
        ctx = catalog(Path(home), args.tables)
        try:
            freshness_rules(ctx, args.tables, args.results)
            for _ in range(args.rounds):
                for name, interval in (("tick, checks off", 0.0), ("tick, checks on", 3600.0)):
                    ctx.settings.quality_freshness_interval_s = interval
                    wall, cpu = timed(lambda: tick(ctx))
                    figures[name].append((wall, cpu))
            ctx.settings.quality_freshness_interval_s = 3600.0
            assert tick(ctx).freshness_jobs == (), "nothing is due: every rule has a result younger than an hour"
        finally:
            ctx.close()
    medians = print_medians(figures, 18, 1)
    on, off = medians["tick, checks on"], medians["tick, checks off"]
    print(f"checks on / off: wall {on[0] / off[0]:.2f}, CPU {on[1] / off[1]:.2f}; "
          f"the check adds {(on[1] - off[1]) * 1000:.1f} ms CPU per tick (wall is noise on a busy machine)")


if __name__ == "__main__":
    main()
