"""GraphQL profiles: table and column statistics, their history, anomalies, and the profile mutations.

The Query and Mutation types of `catalog_api.graphql.schema` inherit the fields here; `Table.profile` and
`Column.profile` (in `catalog_api.graphql.types`) return these types. Resolvers only translate arguments into calls
of `catalog_api.services.profiling`.

Statistics such as min, max, sum and quantiles keep the type of their column (decimals, dates, strings, numbers),
which one GraphQL scalar cannot carry: they are exposed as the text of their JSON value (a decimal stays exact,
a timestamp is ISO 8601), and the whole statistics dict is also available untouched in `stats`.

Values of PII columns reach here already masked by the service's views for callers without `pii:read` (the withheld
statistics are null and named in `masked`), so nothing below decides what a caller may see.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from typing import Annotated, Any

import strawberry
from strawberry.scalars import JSON

from catalog_api.graphql.context import Info
from catalog_api.graphql.jobs import JobNode, queued_job
from catalog_api.graphql.nodes import KeyedNode, database_id, node_id, numbered, register_node, row_number
from catalog_api.graphql.permissions import requires
from catalog_api.graphql.scalars import BigInt
from catalog_api.graphql.views import FromView, graphql_type
from catalog_api.security.identity import Permission
from catalog_api.services import profiling
from catalog_api.services.profiling import AnomalyView, ColumnProfileView, ProfileView


def statistic_text(value: Any) -> str | None:
    """A statistic's JSON value as text: strings as they are, numbers and booleans as JSON writes them."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value)


# -- column statistics --------------------------------------------------------------------------------------------

@strawberry.type(name="Quantile", description="One quantile of a numeric or temporal column, e.g. `p50`.")
class QuantileNode:
    name: str
    value: str | None


@strawberry.type(name="Histogram", description="Equal-width bins: `counts[i]` values in [edges[i], edges[i+1]).")
class HistogramNode:
    edges: list[float]
    counts: list[BigInt]


@strawberry.type(name="TopValue", description="A frequent value (as text) and how often it occurs.")
class TopValueNode:
    value: str | None
    count: BigInt


@strawberry.type(name="ValuePattern", description="A character-class shape (`Aa9` classes) of sampled values.")
class PatternNode:
    pattern: str
    count: BigInt
    ratio: float


@strawberry.type(name="SemanticType", description="A detected meaning of a column's values, with the PII tag it "
                                                  "implies, if any.")
class SemanticTypeNode:
    name: str
    match_ratio: float
    sample_size: int
    pii_tag: str | None


@strawberry.type(name="ColumnProfile")
class ColumnProfileNode:
    """One column's statistics in one profile run. Fields that do not apply to the column's kind are null;
    `min`, `max`, `sum` and quantile values are the text of their JSON value (exact decimals, ISO dates)."""

    profile_id: int
    column_urn: str
    name: str
    profiled_at: datetime
    kind: str
    data_type: str
    count: BigInt = strawberry.field(description="Non-null values.")
    null_count: BigInt
    null_rate: float | None = strawberry.field(description="Nulls over all rows; null for an empty table.")
    distinct_count: BigInt | None
    distinct_exact: bool = strawberry.field(description="False when `distinctCount` is a sketch estimate (relative error about 2 %).")
    min: str | None
    max: str | None
    sum: str | None
    mean: float | None
    stddev: float | None = strawberry.field(description="Sample standard deviation.")
    zero_count: BigInt | None
    negative_count: BigInt | None
    nan_count: BigInt | None
    infinite_count: BigInt | None
    quantiles: list[QuantileNode] | None
    histogram: HistogramNode | None
    min_length: int | None
    max_length: int | None
    mean_length: float | None
    empty_count: BigInt | None
    blank_count: BigInt | None = strawberry.field(description="Non-empty strings made only of whitespace.")
    true_count: BigInt | None
    false_count: BigInt | None
    freshness_seconds: float | None = strawberry.field(
        description="Seconds from the latest value to the start of the profile run.")
    top_values: list[TopValueNode]
    top_values_complete: bool = strawberry.field(
        description="False when the top values come from the sample because the column has too many distinct values.")
    patterns: list[PatternNode]
    semantic_types: list[SemanticTypeNode]
    tags: list[str] = strawberry.field(description="Classification tags the profile detected, e.g. `pii.email`.")
    stats: JSON = strawberry.field(
        description="Every statistic as stored, in the profiler's own field names.",
        deprecation_reason="Every statistic has a typed field of its own (`count`, `quantiles`, `topValues`, …).")
    masked: list[str] = strawberry.field(
        description="Statistics withheld (null here and in `stats`) because the column is tagged `pii.*` and the "
                    "caller lacks `pii:read`; empty when nothing is withheld.")

    @classmethod
    def of(cls, view: ColumnProfileView) -> ColumnProfileNode:
        s = view.stats
        count, nulls = s.get("count") or 0, s.get("null_count") or 0
        quantiles = s.get("quantiles")
        histogram = s.get("histogram")
        return cls(
            profile_id=view.profile_id, column_urn=view.column_urn, name=view.name, profiled_at=view.profiled_at,
            kind=s.get("kind"), data_type=s.get("data_type"), count=count, null_count=nulls,
            null_rate=nulls / (count + nulls) if count + nulls else None,
            distinct_count=s.get("distinct_count"), distinct_exact=bool(s.get("distinct_exact")),
            min=statistic_text(s.get("min")), max=statistic_text(s.get("max")), sum=statistic_text(s.get("sum")),
            mean=s.get("mean"), stddev=s.get("stddev"), zero_count=s.get("zero_count"),
            negative_count=s.get("negative_count"), nan_count=s.get("nan_count"),
            infinite_count=s.get("infinite_count"),
            quantiles=None if quantiles is None else [QuantileNode(name=k, value=statistic_text(v))
                                                      for k, v in quantiles.items()],
            histogram=None if histogram is None else HistogramNode(edges=list(histogram["edges"]),
                                                                   counts=list(histogram["counts"])),
            min_length=s.get("min_length"), max_length=s.get("max_length"), mean_length=s.get("mean_length"),
            empty_count=s.get("empty_count"), blank_count=s.get("blank_count"), true_count=s.get("true_count"),
            false_count=s.get("false_count"), freshness_seconds=s.get("freshness_seconds"),
            top_values=[TopValueNode(value=statistic_text(v["value"]), count=v["count"])
                        for v in s.get("top_values") or []],
            top_values_complete=bool(s.get("top_values_complete", True)),
            patterns=[PatternNode(pattern=p["pattern"], count=p["count"], ratio=p["ratio"])
                      for p in s.get("patterns") or []],
            semantic_types=[SemanticTypeNode(name=t["name"], match_ratio=t["match_ratio"],
                                             sample_size=t["sample_size"], pii_tag=t.get("pii_tag"))
                            for t in s.get("semantic_types") or []],
            tags=list(s.get("tags") or []), stats=s, masked=list(view.masked),
        )


# -- anomalies and keys -------------------------------------------------------------------------------------------

AnomalyNode = graphql_type(
    AnomalyView, "Anomaly", "A profile figure outside what the table's history predicts; `subjectUrn` is the column's "
    "URN for a column anomaly, else the table's.",
    descriptions={"kind": "volume, null_rate, distinct_ratio, mean_shift, min_shift, max_shift, freshness_stall, "
                          "freshness_age or schema_drift.",
                  "severity": "warning or critical.",
                  "method": "`robust_z`, `percentage` (short history) or `rule`.",
                  "masked": "Figures withheld because the anomaly quotes values of a column tagged `pii.*` and the "
                            "caller lacks `pii:read`: null, except `message`, replaced by one quoting nothing."})


@strawberry.type(name="CandidateKey", description="Columns unique and non-null in the data (`verified`: checked "
                                                  "exactly); `declared` when the source declares the key.")
class CandidateKeyNode:
    columns: list[str]
    verified: bool
    declared: bool


@strawberry.type(name="ForeignKeyCandidate", description="Child columns whose values are contained in a unique "
                                                         "parent column; `confirmed` when no orphan value was found.")
class ForeignKeyCandidateNode:
    child_columns: list[str]
    parent_table: str
    parent_columns: list[str]
    confirmed: bool
    orphan_values: BigInt


# -- table profiles -----------------------------------------------------------------------------------------------

@strawberry.type(name="DuplicateRows", description=(
    "Rows equal in every column to another row, beyond the first of each, and how sure the figure is."))
class DuplicateRowsNode(FromView):
    """`DuplicateRowsView` with its counts as BigInt (a table's rows may exceed 2^31)."""

    value: BigInt = strawberry.field(description="The count when `exact`, else an estimate.")
    exact: bool = strawberry.field(description="True when `value` was counted, False for an estimate.")
    low: BigInt = strawberry.field(description="Least count the data allows (at the `confidence` of an estimate).")
    high: BigInt = strawberry.field(description="Greatest count the data allows (at the `confidence` of an estimate).")
    method: str = strawberry.field(description=(
        "`unique_column` (a column counted exactly is all distinct), `counted` (every distinct row's 64-bit hash "
        "counted), `sketch` (estimated from a sample of distinct rows) or `legacy` (an older estimate)."))
    confidence: float | None = strawberry.field(description=(
        "Probability that [low, high] holds the true count; null when exact."))


@strawberry.type(name="TableProfile")
class TableProfileNode(KeyedNode):
    """One profile run of a table: table-level figures, keys found on the data, column statistics and anomalies."""

    id: strawberry.Private[int]
    _id = node_id("id")
    database_id = database_id("The run's number, as `profile(id:)` and REST take it.")
    table_urn: str
    job_id: str | None
    started_at: datetime
    finished_at: datetime
    duration_seconds: float
    row_count: BigInt
    column_count: int
    size_bytes: BigInt | None
    duplicate_rows: DuplicateRowsNode | None = strawberry.field(description=(
        "Duplicate rows, exact or estimated with bounds; null when rows hold values that cannot be compared."))
    duplicate_rows_estimate: BigInt | None = strawberry.field(
        deprecation_reason="Use duplicateRows: it says whether the figure is exact, and bounds an estimate.")
    spark_jobs: int | None
    read_from: str = strawberry.field(description="`lake` or `source`: where the profiled data was read.")
    lake_runs: list[str]
    sample_rows: int | None
    candidate_keys: list[CandidateKeyNode]
    foreign_keys: list[ForeignKeyCandidateNode]
    anomaly_count: int
    report_url: str | None = strawberry.field(
        description="REST path of the run's HTML report; null when it has none (only the newest runs keep one).")
    report_status: str = strawberry.field(description=(
        "`ready`, `pending` (a `report` job renders it after the profile job; the REST report answers 409 until "
        "then), `failed` (see that job's error) or `none` (reports were off, or only the newest runs keep one)."))
    report_job_id: str | None = strawberry.field(description=(
        "The job rendering (or that rendered) the run's report; while pending and not yet queued, the profile job "
        "that will queue it."))
    view: strawberry.Private[ProfileView]

    @classmethod
    def of(cls, view: ProfileView) -> TableProfileNode:
        return cls(
            id=view.id, table_urn=view.table_urn, job_id=view.job_id, started_at=view.started_at,
            finished_at=view.finished_at, duration_seconds=view.duration_s, row_count=view.row_count,
            column_count=view.column_count, size_bytes=view.size_bytes,
            duplicate_rows=DuplicateRowsNode.of(view.duplicate_rows) if view.duplicate_rows else None,
            duplicate_rows_estimate=view.duplicate_rows_estimate, spark_jobs=view.spark_jobs,
            read_from=view.read_from, lake_runs=list(view.lake_runs), sample_rows=view.sample_rows,
            candidate_keys=[CandidateKeyNode(columns=list(k["columns"]), verified=bool(k["verified"]),
                                             declared=bool(k.get("declared"))) for k in view.candidate_keys],
            foreign_keys=[ForeignKeyCandidateNode(child_columns=list(f["child_columns"]),
                                                  parent_table=f["parent_table"],
                                                  parent_columns=list(f["parent_columns"]),
                                                  confirmed=bool(f["confirmed"]),
                                                  orphan_values=f.get("orphan_values") or 0)
                          for f in view.foreign_keys],
            anomaly_count=view.anomaly_count,
            report_url=view.report_url, report_status=view.report_status, report_job_id=view.report_job_id,
            view=view,
        )

    async def _detailed(self, info: Info) -> ProfileView:
        # History lists carry table-level figures only; a run's columns and anomalies are read when asked for.
        if self.view.columns or self.view.anomalies or self.column_count == 0:
            return self.view
        return await info.context.loaders.profile_run.load(self.id)

    @strawberry.field(description="Statistics of each column, in the table's column order.")
    async def columns(self, info: Info) -> list[ColumnProfileNode]:
        return [ColumnProfileNode.of(c) for c in (await self._detailed(info)).columns]

    @strawberry.field(description="Anomalies this run found.")
    async def anomalies(self, info: Info) -> list[AnomalyNode]:
        if self.anomaly_count == 0:
            return []
        return [AnomalyNode.of(a) for a in (await self._detailed(info)).anomalies]


register_node(TableProfileNode, lambda session, key: profiling.get_profile(session, row_number(key)),
              numbered(profiling.profiles_by_id))


# -- queries and mutations ----------------------------------------------------------------------------------------

@strawberry.type
class ProfileQuery:
    """Profile queries (inherited by `Query`)."""

    @strawberry.field(description="One profile run by id, with its column statistics and anomalies.")
    async def profile(self, info: Info, profile_id: Annotated[int, strawberry.argument(name="id")]
                      ) -> TableProfileNode:
        return TableProfileNode.of(await info.context.query(profiling.get_profile, profile_id))

    @strawberry.field(description="Stored anomalies, newest first: of one table (dataset URN), of one source "
                                  "(name or id), or of the whole catalog; `severity`: warning or critical.")
    async def anomalies(self, info: Info, table: str | None = None, source: str | None = None,
                        severity: str | None = None, limit: int = 100) -> list[AnomalyNode]:
        found = await info.context.query(profiling.list_anomalies, table_urn=table,
                                        source_ref=source, severity=severity, limit=limit)
        return [AnomalyNode.of(a) for a in found]


@strawberry.type
class ProfileMutation:
    """Profile jobs and anomaly settings (inherited by `Mutation`)."""

    @strawberry.mutation(permission_classes=requires(Permission.OPERATE),
                         description="Queues a profile of the source's tables (or of `tables`, views included), or "
                                     "returns the one already active; with `wait: true` answers once it finished.")
    async def profile_source(self, info: Info, source_id: Annotated[int, strawberry.argument(name="id")],
                             tables: list[str] | None = None, wait: bool = False) -> JobNode:
        return await queued_job(info, wait, profiling.request_profile, source_id, tables)

    @strawberry.mutation(permission_classes=requires(Permission.OPERATE),
                         description="Queues a profile of one table or view; with `wait: true` answers once the "
                                     "job has finished.")
    async def profile_table(self, info: Info, urn: str, wait: bool = False) -> JobNode:
        return await queued_job(info, wait, profiling.request_table_profile, urn)

    @strawberry.mutation(permission_classes=requires(Permission.CURATE),
                         description="Replaces a table's anomaly settings (null or {} returns to the defaults) and "
                                     "answers with the settings in force; a bad value names `thresholds.<setting>`.")
    async def set_anomaly_thresholds(self, info: Info, urn: str, thresholds: JSON | None = None) -> JSON:
        return await asyncio.to_thread(profiling.set_anomaly_thresholds, info.context.ctx, urn, thresholds)
