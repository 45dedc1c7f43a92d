"""GraphQL for data-quality rules (merged into `Query` and `Mutation`): the same service calls as REST, so a rule
reads, validates and records its history and events the same way whichever transport changed it."""

from __future__ import annotations

import asyncio
from typing import Annotated

import strawberry
from strawberry.scalars import JSON

from catalog_api.graphql.context import Info
from catalog_api.graphql.jobs import JobNode, queued_job
from catalog_api.graphql.nodes import numbered, register_node, row_number
from catalog_api.graphql.permissions import requires
from catalog_api.graphql.views import graphql_type
from catalog_api.security.identity import Permission
from catalog_api.services import quality

QualityRuleNode = graphql_type(quality.QualityRuleView, "QualityRule", "A rule as GraphQL shows it.",
                               description="A data-quality rule on a table or one of its columns, at its current "
                                           "version; `params` are its kind's parameters (docs/quality.md).",
                               node="databaseId",
                               descriptions={"id": "The rule's own id, as `qualityRule(id:)` and REST take it."})
register_node(QualityRuleNode, lambda session, key: quality.get_rule(session, row_number(key)),
              numbered(quality.rules_by_id))
RuleChangeNode = graphql_type(quality.RuleChangeView, "QualityRuleChange", "One change of a rule.",
                              description="One change of a rule (`created`, `updated`, `removed`) with its "
                                          "definition before and after, who made it and when.")
RuleDiffNode = graphql_type(quality.RuleDiffView, "QualityRuleDiff", "What a rule file does to one rule.",
                            description="What applying a rule file does to one rule: `added`, `changed`, `removed`.")
RuleSetDiffNode = graphql_type(quality.RuleSetDiff, "QualityRuleSetDiff", "What a rule file changed.",
                               description="What applying a rule file changed (or, with `dryRun`, would change).")
QualityResultNode = graphql_type(quality.QualityResultView, "QualityResult", "One rule's outcome in one run.",
                                 description="One rule's outcome in one run; of a column tagged `pii.*`, a caller "
                                             "without `pii:read` gets values null, named in `masked`.")
# The parts of a table's health, declared before it (a nested view needs its type first), described by their views.
HEALTH_PARTS = [graphql_type(view, name, view.__doc__, description=" ".join(view.__doc__.split()))
                for view, name in ((quality.AnomalyHealthView, "AnomalyHealth"),
                                   (quality.FreshnessHealthView, "FreshnessHealth"))]
TableHealthNode = graphql_type(quality.TableHealthView, "QualityHealth", "A table's health.",
                               description="A table's health: its quality rules by their latest results, the open "
                                           "anomalies of its latest profile, and its freshness.")
RuleId = Annotated[int, strawberry.argument(name="id", description="The rule's id.")]


@strawberry.input(name="QualityRuleInput", description="A rule's whole definition: `params` depends on `kind`.")
class RuleInput:
    name: str = strawberry.field(description="Stable key of the rule within its table.")
    kind: str = strawberry.field(description="not_null, unique, accepted_values, range, regex, length, "
                                             "type_conformance, row_count, row_count_change, freshness, custom_sql.")
    column: str | None = strawberry.field(default=None, description="The column a column rule checks.")
    params: JSON | None = strawberry.field(default=None, description="The kind's parameters, e.g. {min: 0}.")
    severity: str = strawberry.field(default="error", description="warning or error.")
    owner: str | None = None
    description: str | None = None

    def definition(self) -> dict:
        """The rule as the service takes it (and checks it: a bad field is named as in REST)."""
        return {"name": self.name, "kind": self.kind, "column": self.column,
                "params": {} if self.params is None else self.params, "severity": self.severity,
                "owner": self.owner, "description": self.description}


@strawberry.type
class QualityQuery:
    """Rule queries (inherited by `Query`); like every query, they need `catalog:read` (checked per request)."""

    @strawberry.field(description="Quality rules by table URN, then name: of one table, one source (name or id), or "
                                  "everywhere.")
    async def quality_rules(self, info: Info, table: str | None = None, source: str | None = None,
                            limit: int = quality.MAX_RULES) -> list[QualityRuleNode]:
        found = await info.context.query(quality.list_rules, table_urn=table, source=source, limit=limit)
        return [QualityRuleNode.of(r) for r in found]

    @strawberry.field(description="One quality rule by id.")
    async def quality_rule(self, info: Info, rule_id: RuleId) -> QualityRuleNode:
        return QualityRuleNode.of(await info.context.query(quality.get_rule, rule_id))

    @strawberry.field(description="The changes of a table's rules (or of its rule `name`, removed ones too), newest "
                                  "first.")
    async def quality_rule_history(self, info: Info, table: str, name: str | None = None,
                                   limit: int = 100) -> list[RuleChangeNode]:
        found = await info.context.query(quality.rule_history, table, name=name, limit=limit)
        return [RuleChangeNode.of(c) for c in found]

    @strawberry.field(description="A rule's results, newest first: one per evaluation run.")
    async def quality_results(self, info: Info, rule_id: RuleId, limit: int = 100) -> list[QualityResultNode]:
        return [QualityResultNode.of(r) for r in await info.context.query(quality.rule_results, rule_id, limit=limit)]

    @strawberry.field(description="The newest result of each of a table's rules, by rule name; a rule never "
                                  "evaluated has none.")
    async def latest_quality_results(self, info: Info, table: str) -> list[QualityResultNode]:
        return [QualityResultNode.of(r) for r in await info.context.query(quality.latest_results, table)]

    @strawberry.field(description="How a table's rules stand by their latest results.")
    async def quality_health(self, info: Info, table: str) -> TableHealthNode:
        return TableHealthNode.of(await info.context.query(quality.table_health, table))

    @strawberry.field(description="The rule file of a source (name or id): what `applyQualityRules` takes back.")
    async def quality_rule_file(self, info: Info, source: str) -> JSON:
        return await info.context.query(quality.export_rules, source)


@strawberry.type
class QualityMutation:
    """Rule mutations (inherited by `Mutation`)."""

    @strawberry.mutation(permission_classes=requires(Permission.CURATE),
                         description="Adds a rule to a table (dataset URN); a name the table uses already is a "
                                     "conflict.")
    async def add_quality_rule(self, info: Info, table: str, rule: RuleInput) -> QualityRuleNode:
        return QualityRuleNode.of(await asyncio.to_thread(quality.add_rule, info.context.ctx, table,
                                                          rule.definition()))

    @strawberry.mutation(permission_classes=requires(Permission.CURATE),
                         description="Replaces a rule's whole definition; the same definition changes nothing.")
    async def update_quality_rule(self, info: Info, rule_id: RuleId, rule: RuleInput) -> QualityRuleNode:
        return QualityRuleNode.of(await asyncio.to_thread(quality.update_rule, info.context.ctx, rule_id,
                                                          rule.definition()))

    @strawberry.mutation(permission_classes=requires(Permission.CURATE),
                         description="Removes a rule (its history stays); answers the rule as it was.")
    async def remove_quality_rule(self, info: Info, rule_id: RuleId) -> QualityRuleNode:
        return QualityRuleNode.of(await asyncio.to_thread(quality.remove_rule, info.context.ctx, rule_id))

    @strawberry.mutation(permission_classes=requires(Permission.CURATE),
                         description="Makes a source's rules equal a rule file (`qualityRuleFile`'s shape): adds, "
                                     "replaces and removes rules; with `dryRun: true` answers the diff only.")
    async def apply_quality_rules(self, info: Info, file: JSON, dry_run: bool = False) -> RuleSetDiffNode:
        return RuleSetDiffNode.of(await asyncio.to_thread(quality.apply_rules, info.context.ctx, file,
                                                          dry_run=dry_run))

    @strawberry.mutation(permission_classes=requires(Permission.OPERATE),
                         description="Queues a quality job that evaluates the source's freshness and custom-SQL rules "
                                     "(of `tables`, or of every table), or returns the active one; with `wait: true` "
                                     "answers once it finished. Outcomes appear in `qualityResults`.")
    async def run_quality_rules(self, info: Info, source_ref: Annotated[str, strawberry.argument(name="source")],
                                tables: list[str] | None = None, wait: bool = False) -> JobNode:
        # Named `source_ref` in Python: the audit extension's resolver already takes a `source`.
        return await queued_job(info, wait, quality.request_quality_run, source_ref, tables)
