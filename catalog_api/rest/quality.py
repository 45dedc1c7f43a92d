"""REST routes for data-quality rules: read by viewers, added, replaced, removed and applied as rule files by
curators. Rules are addressed by id, or listed by table (URN) or source; rule files are JSON here, YAML in the CLI."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from catalog_api.rest.contract import checked_by_service, errors, urn_query
from catalog_api.rest.deps import QUERY_SESSION, context
from catalog_api.rest.models import JobOut, TableHealthOut, ViewModel, rest_model
from catalog_api.rest.security import allow
from catalog_api.security.identity import Permission
from catalog_api.services import quality
from catalog_api.services.context import ServiceContext
from catalog_api.services.sources import MAX_SOURCE_NAME
from catalog_api.services.views import MAX_ID
from catalog_api.urns import MAX_URN_LENGTH, EntityType, urn_pattern

router = APIRouter(prefix="/api/v1/quality", tags=["quality"])

RuleId = Annotated[int, Path(ge=1, le=MAX_ID, description="The rule's id.")]
SourceRef = Annotated[str, Query(min_length=1, max_length=MAX_SOURCE_NAME, description="The source's name or id.")]

QualityRuleOut = rest_model("QualityRuleOut", quality.QualityRuleView,
                            "A quality rule on a table or one of its columns, at its current version.")
RuleChangeOut = rest_model("RuleChangeOut", quality.RuleChangeView,
                           "One change of a rule (`created`, `updated`, `removed`): its definition before and after.")
RuleDiffOut = rest_model("RuleDiffOut", quality.RuleDiffView, "What a rule file does to one rule.")
QualityResultOut = rest_model("QualityResultOut", quality.QualityResultView,
                              "One rule's outcome in one run. Of a column tagged `pii.*`, a caller without `pii:read` "
                              "gets the observed value and sample-key values null, named in `masked`.")
RuleSetDiffOut = rest_model("RuleSetDiffOut", quality.RuleSetDiff,
                            "What applying a rule file changed (or, in a dry run, would change).")


class RuleIn(quality.RuleDefinition):
    """A rule to add to a table: `params` depends on `kind` (docs/quality.md)."""

    table: str = Field(max_length=MAX_URN_LENGTH, **checked_by_service(urn_pattern(EntityType.DATASET)),
                       description="The dataset URN of the rule's table.")


class QualityRunIn(BaseModel):
    """Which rules to run now: the freshness and custom-SQL rules of a source's tables, or of some of them."""

    model_config = ConfigDict(extra="forbid")
    source: str = Field(min_length=1, max_length=MAX_SOURCE_NAME, description="The source's name or id.")
    tables: list[Annotated[str, Field(max_length=MAX_URN_LENGTH,
                                      **checked_by_service(urn_pattern(EntityType.DATASET)))]] = Field(
        default_factory=list, max_length=10_000, description="Only these tables' rules (dataset URNs of the source).")


class RuleFileIn(quality.RuleFile):
    """Every rule of one source, as `GET /quality/export` answers it: applying it makes the source's rules equal it."""


class RuleFileOut(ViewModel):
    """Every rule of one source: tables by schema and name, rules by name."""

    source: str
    tables: list[dict[str, Any]]


@router.get("/rules", dependencies=[allow(Permission.READ)], response_model=list[QualityRuleOut],
            responses=errors(404))
def list_rules(table: str | None = urn_query(EntityType.DATASET, description="Only this table's rules."),
               source: str | None = Query(None, min_length=1, max_length=MAX_SOURCE_NAME,
                                          description="Only this source's rules: its name or id."),
               limit: int = Query(quality.MAX_RULES, ge=1, le=quality.MAX_RULES),
               session: Session = QUERY_SESSION) -> list[QualityRuleOut]:
    """Rules by table URN, then name: of one table, one source, or everywhere."""
    return [QualityRuleOut.of(r) for r in quality.list_rules(session, table_urn=table, source=source, limit=limit)]


@router.post("/rules", dependencies=[allow(Permission.CURATE)], response_model=QualityRuleOut,
             status_code=status.HTTP_201_CREATED, responses=errors(404, 409))
def add_rule(body: RuleIn, ctx: ServiceContext = Depends(context)) -> QualityRuleOut:
    """Adds a rule to a table; 409 when the table has a rule of that name already."""
    return QualityRuleOut.of(quality.add_rule(ctx, body.table, body.model_dump(exclude={"table"})))


@router.get("/rules/{rule_id}", dependencies=[allow(Permission.READ)], response_model=QualityRuleOut)
def get_rule(rule_id: RuleId, session: Session = QUERY_SESSION) -> QualityRuleOut:
    return QualityRuleOut.of(quality.get_rule(session, rule_id))


@router.put("/rules/{rule_id}", dependencies=[allow(Permission.CURATE)], response_model=QualityRuleOut,
            responses=errors(409))
def update_rule(rule_id: RuleId, body: quality.RuleDefinition,
                ctx: ServiceContext = Depends(context)) -> QualityRuleOut:
    """Replaces the rule's whole definition; the same definition again changes nothing (no new version)."""
    return QualityRuleOut.of(quality.update_rule(ctx, rule_id, body))


@router.delete("/rules/{rule_id}", dependencies=[allow(Permission.CURATE)], status_code=status.HTTP_204_NO_CONTENT)
def remove_rule(rule_id: RuleId, ctx: ServiceContext = Depends(context)) -> Response:
    """Removes the rule; its history stays (`GET /quality/history`)."""
    quality.remove_rule(ctx, rule_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/rules/{rule_id}/results", dependencies=[allow(Permission.READ)], response_model=list[QualityResultOut])
def rule_results(rule_id: RuleId, limit: int = Query(100, ge=1, le=quality.MAX_RESULTS),
                 session: Session = QUERY_SESSION) -> list[QualityResultOut]:
    """The rule's results, newest first: one per evaluation run."""
    return [QualityResultOut.of(r) for r in quality.rule_results(session, rule_id, limit=limit)]


@router.get("/results/latest", dependencies=[allow(Permission.READ)], response_model=list[QualityResultOut],
            responses=errors(404))
def latest_results(table: str = urn_query(EntityType.DATASET, default=..., description="The rules' table."),
                   session: Session = QUERY_SESSION) -> list[QualityResultOut]:
    """The newest result of each of the table's rules, by rule name; a rule never evaluated has none."""
    return [QualityResultOut.of(r) for r in quality.latest_results(session, table)]


@router.get("/health", dependencies=[allow(Permission.READ)], response_model=TableHealthOut, responses=errors(404))
def table_health(table: str = urn_query(EntityType.DATASET, default=..., description="The table."),
                 session: Session = QUERY_SESSION) -> TableHealthOut:
    """The table's health (also in `GET /api/v1/tables/{urn}`): its rules by their latest results (passing, failing by
    severity, in error, not evaluated), the open anomalies of its latest profile, and its freshness."""
    return TableHealthOut.of(quality.table_health(session, table))


@router.get("/history", dependencies=[allow(Permission.READ)], response_model=list[RuleChangeOut],
            responses=errors(404))
def rule_history(table: str = urn_query(EntityType.DATASET, default=..., description="The rules' table."),
                 name: str | None = Query(None, min_length=1, max_length=128, description="Only this rule's."),
                 limit: int = Query(100, ge=1, le=quality.MAX_HISTORY),
                 session: Session = QUERY_SESSION) -> list[RuleChangeOut]:
    """The changes of a table's rules (removed ones too), newest first."""
    return [RuleChangeOut.of(c) for c in quality.rule_history(session, table, name=name, limit=limit)]


@router.get("/export", dependencies=[allow(Permission.READ)], response_model=RuleFileOut, responses=errors(404))
def export_rules(source: SourceRef, session: Session = QUERY_SESSION) -> RuleFileOut:
    """The rule file of a source: `POST /quality/apply` takes it back."""
    return RuleFileOut.model_validate(quality.export_rules(session, source))


@router.post("/apply", dependencies=[allow(Permission.CURATE)], response_model=RuleSetDiffOut, responses=errors(404))
def apply_rules(body: RuleFileIn, dry_run: bool = Query(False, description="Answer the diff, store nothing."),
                ctx: ServiceContext = Depends(context)) -> RuleSetDiffOut:
    """Makes the source's rules equal the file's: adds, replaces and removes rules; checks the whole file first."""
    return RuleSetDiffOut.of(quality.apply_rules(ctx, body, dry_run=dry_run))


@router.post("/run", dependencies=[allow(Permission.OPERATE)], response_model=JobOut,
             status_code=status.HTTP_202_ACCEPTED, responses=errors(404))
def run_rules(body: QualityRunIn, ctx: ServiceContext = Depends(context)) -> JobOut:
    """Queues a `quality` job that evaluates the source's freshness and custom-SQL rules now (or returns the one
    already active); the outcomes appear in `/rules/{id}/results` and `/health`. Aggregate rules run with profiles."""
    return JobOut.of(quality.request_quality_run(ctx, body.source, body.tables or None))
