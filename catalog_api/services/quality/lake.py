"""Custom-SQL rules that run against the lake (`run_against: lake`), evaluated by the `quality` job.

The rule's query is Spark SQL over the tables of its source as the lake holds them: each table it names (`orders`
or `sales.orders`; a name without a schema is one of the rule's table's schema) is read the way a profile reads the
lake (the committed runs that together hold the whole table: `profiling.reading.complete_lake_runs`), registered as
a temporary view named like the table, and the query, its table names rewritten to those views, runs through the
profiler's Spark session (`profiler.sql.query_parquet`), started on the first lake rule of a job and lent for the
job only, so it still stops once idle. It is cancelled after `quality_lake_timeout_s`.

A rule whose query fails (a Spark error, the timeout), names a table the source does not have, or needs a table the
lake does not hold whole (nothing extracted yet, or runs of a timestamp plan, which hold changed rows again) gets an
`error` result naming the cause; the job goes on with its other rules.
"""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

import sqlglot
from sqlalchemy import select
from sqlglot import exp

from catalog_api.db.models import Schema, Table
from catalog_api.services.context import ServiceContext
from catalog_api.services.extraction import lake
from catalog_api.services.profiling.engine import ProfileFailed, spark_config
from catalog_api.services.profiling.reading import complete_lake_runs, read_lake, workdir
from catalog_api.services.quality.kinds import LAKE_DIALECT, lake_query_problem
from catalog_api.services.quality.results import MAX_SAMPLE_KEYS, RuleOutcome, failing_rows_outcome
from profiler import ProfilerError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


class LakeRuleError(Exception):
    """Why a lake rule could not be evaluated: its result is an `error` with this message."""


class LakeQueries:
    """The lake rules of one job over one source: the lake, a work folder for copies of remote files, the tables
    read so far, and the Spark session, lent from the first query to the end of the block."""

    def __init__(self, ctx: ServiceContext, source_id: int, source_name: str) -> None:
        self.ctx, self.source_id, self.source_name = ctx, source_id, source_name
        self._lake = lake(ctx.settings)
        self._held = ExitStack()
        self._folder: Path | None = None
        self._spark: SparkSession | None = None
        self._files: dict[tuple[str, str], list[str]] = {}

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self._spark = None
        self._held.close()

    def evaluate(self, rule_id: int, schema: str, params: dict[str, Any]) -> RuleOutcome:
        """The outcome of one lake rule of a table of `schema`."""
        from profiler.sql import query_parquet

        try:
            sql, views = self._prepared(params["sql"], schema)
            found = query_parquet(self._session(), views, sql, sample=MAX_SAMPLE_KEYS,
                                  timeout_s=self.ctx.settings.quality_lake_timeout_s)
        except LakeRuleError as error:
            return RuleOutcome(rule_id, "error", message=str(error))
        except (ProfilerError, ProfileFailed) as error:
            return RuleOutcome(rule_id, "error", message=f"the lake query failed: {error.message}")
        return failing_rows_outcome(rule_id, int(params.get("max_failing_rows", 0)), found.count, found.columns,
                                    found.rows)

    # -- the query and its tables ----------------------------------------------------------------------------------

    def _prepared(self, sql: str, schema: str) -> tuple[str, dict[str, list[str]]]:
        """The query with each table it names replaced by its view, and each view's Parquet files."""
        try:
            query = sqlglot.parse_one(sql, read=LAKE_DIALECT)
        except sqlglot.errors.SqlglotError as error:  # checked when the rule was stored; a newer sqlglot may differ
            raise LakeRuleError(f"the query does not parse as Spark SQL: {str(error).splitlines()[0]}") from None
        problem = lake_query_problem(query)  # checked when stored too; rules stored before the check was are not
        if problem is not None:
            raise LakeRuleError(f"the query {problem}")
        ctes = {cte.alias_or_name.casefold() for cte in query.find_all(exp.CTE)}
        references = [t for t in query.find_all(exp.Table) if isinstance(t.this, exp.Identifier)
                      and not (not t.db and t.name.casefold() in ctes)]
        if not references:
            raise LakeRuleError("the query reads no table of the lake")
        tables = self._tables({(t.db or schema, t.name) for t in references if not t.catalog}, references)
        views: dict[str, list[str]] = {}
        names: dict[tuple[str, str], str] = {}
        for key in sorted(set(tables.values()), key=lambda k: (k[0] != schema, k)):  # the rule's schema first
            name = key[1] if key[1] not in views else f"{key[0]}_{key[1]}"
            names[key], views[name] = name, self._lake_files(*key)
        for table in references:
            table.set("this", exp.to_identifier(names[tables[(table.db or schema, table.name)]], quoted=True))
            table.set("db", None)
        return query.sql(dialect=LAKE_DIALECT), views

    def _tables(self, wanted: set[tuple[str, str]], references: list[exp.Table]) -> dict[tuple[str, str],
                                                                                            tuple[str, str]]:
        """Each (schema, table) the query names mapped to the source's live table of that name (Spark's names are
        case-insensitive: an exact match first, else the one whose name differs in case only)."""
        qualified = next((t for t in references if t.catalog), None)
        if qualified is not None:
            raise LakeRuleError(f"the query names {qualified.sql(dialect=LAKE_DIALECT)}: name a table as `table` or "
                                f"`schema.table` of source {self.source_name}")
        with self.ctx.db.session() as session:
            live = [tuple(row) for row in session.execute(
                select(Schema.name, Table.name).join(Schema, Schema.id == Table.schema_id)
                .where(Table.source_id == self.source_id, Table.deleted_at.is_(None)))]
        folded = {(s.casefold(), t.casefold()): (s, t) for s, t in live}
        found = {}
        for key in sorted(wanted):
            match = key if key in set(live) else folded.get((key[0].casefold(), key[1].casefold()))
            if match is None:
                raise LakeRuleError(f"the query reads {key[0]}.{key[1]}, which source {self.source_name} does not "
                                    "have")
            found[key] = match
        return found

    def _lake_files(self, schema: str, table: str) -> list[str]:
        """The Parquet files holding the whole of a table, copied next to Spark when the lake is remote."""
        if (schema, table) not in self._files:
            runs = self._lake.committed_runs(self.source_name, schema, table)
            if not runs:
                raise LakeRuleError(f"nothing of {schema}.{table} was extracted into the lake yet: extract it "
                                    f"first (`catalog extract {self.source_name}`)")
            whole = complete_lake_runs(runs)
            if whole is None:
                raise LakeRuleError(f"the lake does not hold the whole of {schema}.{table}: its runs are a "
                                    "timestamp plan's changed rows; extract it with a full or key plan")
            read = read_lake(self._lake, whole, self._work_folder())
            if not read.files:
                raise LakeRuleError(f"the lake holds no rows of {schema}.{table} (its last extraction wrote none)")
            self._files[(schema, table)] = read.files
        return self._files[(schema, table)]

    def _work_folder(self) -> Path:
        if self._folder is None:
            self._folder = self._held.enter_context(workdir(self.ctx.settings.profile_work_dir))
        return self._folder

    def _session(self) -> SparkSession:
        if self._spark is None:
            from profiler import spark_session

            self._spark = self._held.enter_context(spark_session(spark_config(self.ctx.settings)))
        return self._spark
