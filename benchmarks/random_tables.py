"""Random tables for the crawl benchmarks, seeded so that every run builds the same schema: the SQLite source of
cli_startup.py and the PostgreSQL one of crawl_postgres.py (and jobs.py) come from this one generator."""

from __future__ import annotations

import random
from collections.abc import Sequence


def random_table(rng: random.Random, name: str, earlier: Sequence[str], *, types: Sequence[str], max_columns: int,
                 key_type: str) -> str:
    """`create table <name> (…);`: an `id` primary key of `key_type`, 4 to `max_columns` columns of random `types`
    (about three in ten not null), and a `parent_id` referencing one of the `earlier` tables, when there is one."""
    columns = [f"id {key_type} primary key"]
    columns += [f"c{i} {rng.choice(types)}{' not null' if rng.random() < 0.3 else ''}"
                for i in range(rng.randint(4, max_columns))]
    if earlier:
        columns.append(f"parent_id {key_type} references {earlier[rng.randrange(len(earlier))]}(id)")
    return f"create table {name} ({', '.join(columns)});"
