"""Data quality: rules on tables and columns (`kinds`, `rules`), kept in version control as rule files
(`rulefiles`), the results of evaluating them (`results`), a table's health (`health`: rules, anomalies,
freshness), the `quality` job that evaluates freshness and custom-SQL rules, against the source or the lake
(`evaluation`, `lake`), and the aggregate rules a profile evaluates in its own passes (`aggregates`).

A rule is keyed by a stable name per table; its `kind` and typed `params` say what it checks (not null, unique,
accepted values, range, regex, length, type conformance; row count, row count change, freshness, custom SQL). Every
change is kept in the rule history and published as `catalog.quality.rule_changed`.

The names below are the domain's public face for transports; modules inside services import the submodules.
"""

from catalog_api.services.quality.evaluation import request_quality_run
from catalog_api.services.quality.health import table_detail, table_health, table_healths
from catalog_api.services.quality.kinds import MAX_DESCRIPTION, MAX_OWNER, RuleDefinition
from catalog_api.services.quality.results import (
    MAX_RESULTS,
    MAX_SAMPLE_KEYS,
    QualityResultView,
    RuleOutcome,
    latest_results,
    record_results,
    rule_results,
)
from catalog_api.services.quality.rulefiles import RuleFile, apply_rules, dump_yaml, export_rules, load_yaml
from catalog_api.services.quality.rules import (
    MAX_HISTORY,
    MAX_RULES,
    add_rule,
    find_rule,
    get_rule,
    list_rules,
    remove_rule,
    rule_history,
    rules_by_id,
    update_rule,
)
from catalog_api.services.quality.views import QualityRuleView, RuleChangeView, RuleDiffView, RuleSetDiff
from catalog_api.services.views import AnomalyHealthView, FreshnessHealthView, TableHealthView

__all__ = [
    "AnomalyHealthView", "FreshnessHealthView", "MAX_DESCRIPTION", "MAX_HISTORY", "MAX_OWNER", "MAX_RESULTS",
    "MAX_RULES", "MAX_SAMPLE_KEYS", "QualityResultView",
    "QualityRuleView", "RuleChangeView", "RuleDefinition", "RuleDiffView", "RuleFile", "RuleOutcome", "RuleSetDiff",
    "TableHealthView", "add_rule", "apply_rules", "dump_yaml", "export_rules", "find_rule", "get_rule",
    "latest_results", "list_rules", "load_yaml", "record_results", "remove_rule", "request_quality_run",
    "rule_history", "rule_results", "rules_by_id", "table_detail", "table_health", "table_healths", "update_rule",
]
