"""What callers see of quality rules: the rule, its change history and the diff a rule file makes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from catalog_api.db.quality import QualityRule, QualityRuleChange
from catalog_api.services.views import from_row


@dataclass(frozen=True, slots=True)
class QualityRuleView:
    """A rule on a table or one of its columns, at its current version: `params` are its kind's parameters."""

    id: int
    table_urn: str
    name: str
    kind: str
    column: str | None
    params: dict[str, Any]
    severity: str
    owner: str | None
    description: str | None
    version: int
    created_at: datetime
    created_by: str
    updated_at: datetime
    updated_by: str


@dataclass(frozen=True, slots=True)
class RuleChangeView:
    """One change of a rule: `created`, `updated` or `removed`, with its definition before and after."""

    id: int
    table_urn: str
    rule_name: str
    change: str
    version: int
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    actor: str
    at: datetime


@dataclass(frozen=True, slots=True)
class RuleDiffView:
    """What applying a rule file does (or, in a dry run, would do) to one rule: `added`, `changed` or `removed`."""

    table_urn: str
    name: str
    change: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class RuleSetDiff:
    """The outcome of applying a source's rule file: the rules added, changed and removed, and how many were left
    as they were. `dry_run`: nothing was stored."""

    source: str
    dry_run: bool
    added: int
    changed: int
    removed: int
    unchanged: int
    changes: list[RuleDiffView]


def definition_of(*, name: str, kind: str, column: str | None, params: dict[str, Any], severity: str,
                  owner: str | None, description: str | None) -> dict[str, Any]:
    """A rule as callers write it (`kinds.RuleDefinition`), without the fields left empty: what history, events and
    rule files hold, and what a rule file is compared with."""
    found = {"name": name, "kind": kind, "column": column, "params": dict(params or {}), "severity": severity,
             "owner": owner, "description": description}
    return {key: value for key, value in found.items() if value is not None}


def definition(rule: QualityRule) -> dict[str, Any]:
    """A stored rule's definition (`definition_of`)."""
    return definition_of(name=rule.name, kind=rule.kind, column=rule.column, params=rule.params,
                         severity=rule.severity, owner=rule.owner, description=rule.description)


def rule_view(rule: QualityRule, table_urn: str) -> QualityRuleView:
    return from_row(QualityRuleView, rule, table_urn=table_urn)


def change_view(row: QualityRuleChange, table_urn: str) -> RuleChangeView:
    return from_row(RuleChangeView, row, table_urn=table_urn)
