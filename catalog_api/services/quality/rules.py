"""Quality rules on tables and columns: added, replaced and removed by curators, read by everyone.

Every change is written, in the same transaction, to the rule history (`quality_rule_changes`) and to the outbox
(`catalog.quality.rule_changed`); a change that changes nothing writes neither. Rule files
(`catalog_api.services.quality.rulefiles`) go through the same three steps (`create`, `replace`, `remove`).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from catalog_api.db.models import Column, DataSource, Table, utcnow
from catalog_api.db.quality import QualityRule, QualityRuleChange
from catalog_api.errors import Conflict, InvalidInput, NotFound
from catalog_api.security.identity import current_identity
from catalog_api.services.browse import entity_by_urn
from catalog_api.services.context import ServiceContext
from catalog_api.services.events.outbox import record_events
from catalog_api.services.quality.kinds import LAKE_DIALECT, CheckedRule, RuleDefinition, checked_rule
from catalog_api.services.quality.views import QualityRuleView, RuleChangeView, change_view, definition, rule_view
from catalog_api.services.sources import source_row
from catalog_api.services.views import MAX_ID
from catalog_api.urns import EntityType
from crawlers.lineage import DIALECTS
from events import CatalogEvent
from events.data import QualityRuleChanged

MAX_RULES = 1000
"""The most rules one listing answers (and one table holds)."""
MAX_HISTORY = 1000


def dialects(source: DataSource) -> dict[str, str | None]:
    """The SQL dialect a custom-SQL rule is parsed in, by where it runs: the source's own, or the lake's (Spark)."""
    return {"source": DIALECTS.get(source.kind), "lake": LAKE_DIALECT}


def live_table(session: Session, urn: str, *, field: str = "table") -> Table:
    """The crawled, not deleted table a URN names: rules hang on tables the catalog knows."""
    table = entity_by_urn(session, urn, field=field, expected=EntityType.DATASET)
    if table.deleted_at is not None:
        raise NotFound(f"{urn} no longer exists in its source", field=field)
    return table


def check(session: Session, table: Table, rule: RuleDefinition | Mapping[str, Any], *, field: str = "",
          columns: Collection[str] | None = None) -> CheckedRule:
    """`rule` validated for `table`: its parameters for its kind and the source's dialect, its column a live column
    of the table (one of `columns`, the table's live column names, when the caller read them already)."""
    checked = checked_rule(rule, dialects=dialects(session.get(DataSource, table.source_id)), field=field)
    column = checked.definition.column
    if column is not None and not (column in columns if columns is not None else session.scalars(select(
            Column.id).where(Column.table_id == table.id, Column.name == column, Column.deleted_at.is_(None))).first()):
        raise InvalidInput(f"{field}.column" if field else "column", f"{table.urn} has no column {column!r}")
    return checked


# -- the three changes, each with its history row and event ------------------------------------------------------

RuleChange = tuple[Table, QualityRule, str, dict[str, Any] | None, dict[str, Any] | None]
"""(table, rule, `created` | `updated` | `removed`, definition before, definition after)."""


def rule_values(table: Table, checked: CheckedRule) -> dict[str, Any]:
    """The columns of a new rule (version 1)."""
    spec, actor = checked.definition, current_identity().actor
    return {"table_id": table.id, "name": spec.name, "column": spec.column, "kind": spec.kind,
            "params": checked.stored_params(), "severity": spec.severity, "owner": spec.owner,
            "description": spec.description, "version": 1, "created_by": actor, "updated_by": actor}


def redefinition(rule: QualityRule, checked: CheckedRule) -> dict[str, Any]:
    """The columns that give `rule` the definition `checked` as its next version."""
    spec = checked.definition
    return {"name": spec.name, "column": spec.column, "kind": spec.kind, "params": checked.stored_params(),
            "severity": spec.severity, "owner": spec.owner, "description": spec.description,
            "version": rule.version + 1, "updated_by": current_identity().actor, "updated_at": utcnow()}


def create(session: Session, table: Table, checked: CheckedRule) -> QualityRule:
    rule = QualityRule(**rule_values(table, checked))
    session.add(rule)
    _flush_name(session, table, checked.definition.name)
    record_changes(session, [(table, rule, "created", None, definition(rule))])
    return rule


def replace(session: Session, table: Table, rule: QualityRule, checked: CheckedRule) -> bool:
    """Gives `rule` the definition `checked`; False (and nothing written) when it already had it."""
    before, after = definition(rule), checked.stored_definition()
    if after == before:
        return False
    for name, value in redefinition(rule, checked).items():
        setattr(rule, name, value)
    _flush_name(session, table, checked.definition.name)
    record_changes(session, [(table, rule, "updated", before, after)])
    return True


def remove(session: Session, table: Table, rule: QualityRule) -> None:
    record_changes(session, [(table, rule, "removed", definition(rule), None)])
    session.delete(rule)
    session.flush()


def record_changes(session: Session, changes: Sequence[RuleChange]) -> None:
    """The history rows and `catalog.quality.rule_changed` events of `changes` (rules flushed already: their ids
    are set), in order: one bulk insert of each, whatever their number."""
    identity = current_identity()
    session.execute(insert(QualityRuleChange).execution_options(render_nulls=True), [
        {"table_id": table.id, "rule_id": rule.id, "rule_name": rule.name, "change": change, "version": rule.version,
         "before": before, "after": after, "actor": identity.actor, "at": utcnow()}
        for table, rule, change, before, after in changes])
    record_events(session, [CatalogEvent.create(QualityRuleChanged(
        rule=rule.name, change=change, kind=rule.kind, column=rule.column, severity=rule.severity,
        version=rule.version, before=before, after=after, changed_by=identity.name), subject=table.urn)
        for table, rule, change, before, after in changes])


# -- commands ------------------------------------------------------------------------------------------------------

def add_rule(ctx: ServiceContext, table_urn: str, rule: RuleDefinition | Mapping[str, Any]) -> QualityRuleView:
    """Adds a rule to a table; 409 when the table already has a rule of that name."""
    with ctx.db.session() as session:
        table = live_table(session, table_urn)
        checked = check(session, table, rule)
        _name_free(session, table, checked.definition.name)
        if _rule_count(session, table) >= MAX_RULES:
            raise InvalidInput("table", f"a table holds at most {MAX_RULES} rules")
        return rule_view(create(session, table, checked), table.urn)


def update_rule(ctx: ServiceContext, rule_id: int, rule: RuleDefinition | Mapping[str, Any]) -> QualityRuleView:
    """Replaces a rule's whole definition (a new name too, when the table has no rule of that name); a definition
    equal to the stored one changes nothing (no new version, no history, no event)."""
    with ctx.db.session() as session:
        found, table = rule_and_table(session, rule_id)
        checked = check(session, table, rule)
        if checked.definition.name != found.name:
            _name_free(session, table, checked.definition.name)
        replace(session, table, found, checked)
        return rule_view(found, table.urn)


def remove_rule(ctx: ServiceContext, rule_id: int) -> QualityRuleView:
    """Removes a rule (its history stays); answers the rule as it was."""
    with ctx.db.session() as session:
        found, table = rule_and_table(session, rule_id)
        view = rule_view(found, table.urn)
        remove(session, table, found)
        return view


# -- queries -------------------------------------------------------------------------------------------------------

def get_rule(session: Session, rule_id: int) -> QualityRuleView:
    rule, table = rule_and_table(session, rule_id)
    return rule_view(rule, table.urn)


def rules_by_id(session: Session, rule_ids: list[int]) -> dict[int, QualityRuleView]:
    """The rules among these ids, in one statement (unknown ids are left out)."""
    return {rule.id: rule_view(rule, urn) for rule, urn in session.execute(
        select(QualityRule, Table.urn).join(Table, Table.id == QualityRule.table_id)
        .where(QualityRule.id.in_(rule_ids)))}


def find_rule(session: Session, table_urn: str, name: str) -> QualityRuleView:
    """A table's rule by name."""
    table = entity_by_urn(session, table_urn, field="table", expected=EntityType.DATASET)
    rule = session.scalars(select(QualityRule).where(QualityRule.table_id == table.id,
                                                     QualityRule.name == name)).first()
    if rule is None:
        raise NotFound(f"{table_urn} has no rule {name!r}", field="name")
    return rule_view(rule, table.urn)


def list_rules(session: Session, *, table_urn: str | None = None, source: str | int | None = None,
               limit: int = MAX_RULES) -> list[QualityRuleView]:
    """Rules of one table (URN), of one source (name or id), or everywhere; by table URN, then rule name."""
    if not 1 <= limit <= MAX_RULES:
        raise InvalidInput("limit", f"between 1 and {MAX_RULES}")
    query = select(QualityRule, Table.urn).join(Table, Table.id == QualityRule.table_id)
    if table_urn is not None:
        query = query.where(Table.id == entity_by_urn(session, table_urn, field="table",
                                                      expected=EntityType.DATASET).id)
    if source is not None:
        query = query.where(Table.source_id == source_row(session, source).id)
    rows = session.execute(query.order_by(Table.urn, QualityRule.name).limit(limit))
    return [rule_view(rule, urn) for rule, urn in rows]


def rule_history(session: Session, table_urn: str, *, name: str | None = None,
                 limit: int = 100) -> list[RuleChangeView]:
    """The changes of a table's rules (or of its rule `name`, removed ones too), newest first."""
    if not 1 <= limit <= MAX_HISTORY:
        raise InvalidInput("limit", f"between 1 and {MAX_HISTORY}")
    table = entity_by_urn(session, table_urn, field="table", expected=EntityType.DATASET)
    query = select(QualityRuleChange).where(QualityRuleChange.table_id == table.id)
    if name is not None:
        query = query.where(QualityRuleChange.rule_name == name)
    rows = session.scalars(query.order_by(QualityRuleChange.id.desc()).limit(limit))
    return [change_view(row, table.urn) for row in rows]


def rule_and_table(session: Session, rule_id: int) -> tuple[QualityRule, Table]:
    """A rule by id with its table; NotFound (field `id`) for an unknown id."""
    rule = session.get(QualityRule, rule_id) if 1 <= rule_id <= MAX_ID else None
    if rule is None:
        raise NotFound(f"no quality rule {rule_id}", field="id")
    return rule, session.get(Table, rule.table_id)


def _name_free(session: Session, table: Table, name: str) -> None:
    if session.scalars(select(QualityRule.id).where(QualityRule.table_id == table.id,
                                                    QualityRule.name == name)).first() is not None:
        raise Conflict(f"{table.urn} already has a rule named {name!r}", field="name")


def _flush_name(session: Session, table: Table, name: str) -> None:
    """Flushes a rule's new name: a name another request took since `_name_free` looked is a 409, not a 500."""
    urn = table.urn  # read before the flush: after a failed one, the session can no longer load it
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(f"{urn} already has a rule named {name!r}", field="name") from None


def _rule_count(session: Session, table: Table) -> int:
    return len(session.scalars(select(QualityRule.id).where(QualityRule.table_id == table.id)).all())
