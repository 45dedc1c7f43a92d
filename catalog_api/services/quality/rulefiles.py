"""Rule files: every quality rule of one source as one document, so teams keep their rules in version control.

`export_rules` writes the document (tables by schema and name, rules by name, fields left empty omitted), and
`apply_rules` makes the catalog hold exactly the document's rules for that source: it adds the missing ones,
replaces the changed ones and removes the ones the document no longer lists. Both see the source's live tables
only: the rules of a table that disappeared from its source are kept (with it, soft-deleted) and left alone. Applying the same document twice
changes nothing the second time (no version, no history, no event); a dry run answers the same diff and stores
nothing. The document is checked as a whole before anything is stored: one bad rule stores none.

    source: erp
    tables:
      - schema: sales
        table: orders
        rules:
          - name: id_not_null
            kind: not_null
            column: id
          - name: total_in_range
            kind: range
            column: total
            params: {min: 0, max: 100000}
            severity: warning
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import catalog_api.services.quality.rules as quality_rules
from catalog_api.db.models import NAME_LENGTH, Column, DataSource, Schema, Table
from catalog_api.db.quality import QualityRule
from catalog_api.errors import Conflict, FieldProblem, InvalidInput, NotFound, invalid_input_from_validation
from catalog_api.services.browse import MAX_BOUND_PARAMETERS
from catalog_api.services.context import ServiceContext
from catalog_api.services.quality.kinds import CheckedRule
from catalog_api.services.quality.views import RuleDiffView, RuleSetDiff, definition
from catalog_api.services.sources import MAX_SOURCE_NAME, source_row
from catalog_api.urns import dataset_urn

MAX_TABLES = 10_000
MAX_FILE_BYTES = 5_000_000


class TableRules(BaseModel):
    """The rules of one table in a rule file."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    schema_name: str = Field(alias="schema", min_length=1, max_length=NAME_LENGTH)
    table: str = Field(min_length=1, max_length=NAME_LENGTH)
    rules: list[dict[str, Any]] = Field(default_factory=list, max_length=quality_rules.MAX_RULES)


class RuleFile(BaseModel):
    """Every rule of one source: what `catalog rule export` writes and `catalog rule apply` reads."""

    model_config = ConfigDict(extra="forbid")

    source: str = Field(min_length=1, max_length=MAX_SOURCE_NAME, description="The source's name.")
    tables: list[TableRules] = Field(default_factory=list, max_length=MAX_TABLES)


def export_rules(session: Session, source: str | int) -> dict[str, Any]:
    """The rule file of a source (a plain document: dump it as YAML or JSON)."""
    found = source_row(session, source)
    rows = session.execute(
        select(QualityRule, Schema.name, Table.name).join(Table, Table.id == QualityRule.table_id)
        .join(Schema, Schema.id == Table.schema_id).where(Table.source_id == found.id, Table.deleted_at.is_(None))
        .order_by(Schema.name, Table.name, QualityRule.name))
    tables: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for rule, schema, table in rows:
        tables.setdefault((schema, table), []).append(definition(rule))
    return {"source": found.name,
            "tables": [{"schema": schema, "table": table, "rules": rules} for (schema, table), rules in tables.items()]}


def dump_yaml(document: Mapping[str, Any]) -> str:
    return yaml.safe_dump(dict(document), sort_keys=False, allow_unicode=True, default_flow_style=False)


def load_yaml(text: str) -> Any:
    """A rule file's YAML; InvalidInput (field `file`) when it is not YAML or too large."""
    if len(text.encode("utf-8", "replace")) > MAX_FILE_BYTES:
        raise InvalidInput("file", f"a rule file has at most {MAX_FILE_BYTES} bytes")
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise InvalidInput("file", f"is not valid YAML{where}: {getattr(exc, 'problem', None) or exc}") from None


def apply_rules(ctx: ServiceContext, document: RuleFile | Mapping[str, Any], *, dry_run: bool = False) -> RuleSetDiff:
    """Makes the source's stored rules equal the document's; answers what changed (or, with `dry_run`, would).

    A fixed number of statements whatever the file's size: the source's live tables, their columns and their stored
    rules are read once each, and the changes are written in one flush, with one bulk insert of their history rows
    and one of their events."""
    rule_file = _parsed(document)
    with ctx.db.session() as session:
        source = source_row(session, rule_file.source)
        wanted = _wanted(session, source, rule_file)
        stored = {(table.id, rule.name): (table, rule) for rule, table in session.execute(
            select(QualityRule, Table).join(Table, Table.id == QualityRule.table_id)
            .where(Table.source_id == source.id, Table.deleted_at.is_(None)))}
        changes: list[RuleDiffView] = []
        written: list[quality_rules.RuleChange] = []
        for key, (table, checked) in wanted.items():
            after = checked.stored_definition()
            if key not in stored:
                changes.append(RuleDiffView(table.urn, key[1], "added", None, after))
                written.append((table, QualityRule(name=key[1]), "created", None, after))
            else:
                rule = stored[key][1]
                before = definition(rule)
                if before != after:
                    changes.append(RuleDiffView(table.urn, key[1], "changed", before, after))
                    written.append((table, rule, "updated", before, after))
        for key, (table, rule) in stored.items():
            if key not in wanted:
                before = definition(rule)
                changes.append(RuleDiffView(table.urn, key[1], "removed", before, None))
                written.append((table, rule, "removed", before, None))
        if not dry_run and written:
            _write(session, source, wanted, written)
        changes.sort(key=lambda c: (c.table_urn, c.name))
        count = {kind: sum(1 for c in changes if c.change == kind) for kind in ("added", "changed", "removed")}
        return RuleSetDiff(source=source.name, dry_run=dry_run, **count,
                           unchanged=len(wanted) - count["added"] - count["changed"], changes=changes)


def _write(session: Session, source: DataSource, wanted: dict[tuple[int, str], tuple[Table, CheckedRule]],
           written: list[quality_rules.RuleChange]) -> None:
    """Stores the changes of an apply with one bulk statement per kind of change, reads the rules back once, then
    writes their history and events."""
    added = [quality_rules.rule_values(table, wanted[(table.id, rule.name)][1])
             for table, rule, change, _, _ in written if change == "created"]
    updated = [{"id": rule.id, **quality_rules.redefinition(rule, wanted[(table.id, rule.name)][1])}
               for table, rule, change, _, _ in written if change == "updated"]
    removed = [rule.id for _, rule, change, _, _ in written if change == "removed"]
    try:
        if added:
            session.execute(insert(QualityRule).execution_options(render_nulls=True), added)
        if updated:
            session.execute(update(QualityRule), updated)
        for start in range(0, len(removed), MAX_BOUND_PARAMETERS):
            session.execute(delete(QualityRule).where(QualityRule.id.in_(removed[start:start + MAX_BOUND_PARAMETERS])))
    except IntegrityError:  # another request added one of these rules since they were read
        raise Conflict("another change of these rules was stored meanwhile: apply the file again",
                       field="file") from None
    current = {(rule.table_id, rule.name): rule for rule in session.scalars(
        select(QualityRule).join(Table, Table.id == QualityRule.table_id).where(Table.source_id == source.id)
        .execution_options(populate_existing=True))}
    quality_rules.record_changes(session, [(table, current.get((table.id, rule.name), rule), change, before, after)
                                           for table, rule, change, before, after in written])


def _parsed(document: RuleFile | Mapping[str, Any]) -> RuleFile:
    if isinstance(document, RuleFile):
        return document
    if not isinstance(document, Mapping):
        raise InvalidInput("file", "a rule file is a mapping with `source` and `tables`")
    try:
        return RuleFile.model_validate(document)
    except ValidationError as exc:
        raise invalid_input_from_validation(exc.errors(), skip_prefixes=()) from None


def _wanted(session: Session, source: DataSource, rule_file: RuleFile
            ) -> dict[tuple[int, str], tuple[Table, CheckedRule]]:
    """Every rule of the document, checked, keyed like the stored ones; InvalidInput listing every problem."""
    wanted: dict[tuple[int, str], tuple[Table, CheckedRule]] = {}
    problems: list[FieldProblem] = []
    seen_tables: set[int] = set()
    live = {(schema, table.name): table for table, schema in session.execute(
        select(Table, Schema.name).join(Schema, Schema.id == Table.schema_id)
        .where(Table.source_id == source.id, Table.deleted_at.is_(None)))}
    listed = {live[key].id for entry in rule_file.tables if (key := (entry.schema_name, entry.table)) in live}
    columns: dict[int, set[str]] = {}
    for table_id, name in session.execute(select(Column.table_id, Column.name).where(
            Column.table_id.in_(listed), Column.deleted_at.is_(None))) if listed else ():
        columns.setdefault(table_id, set()).add(name)
    for t, entry in enumerate(rule_file.tables):
        table = live.get((entry.schema_name, entry.table))
        if table is None:
            try:  # the reason: no such table, or one a crawl found deleted
                quality_rules.live_table(session, dataset_urn(source.name, entry.schema_name, entry.table),
                                         field=f"tables.{t}")
            except (InvalidInput, NotFound) as exc:
                problems.append(FieldProblem(f"tables.{t}", exc.message))
            continue
        if table.id in seen_tables:
            problems.append(FieldProblem(f"tables.{t}", f"{table.urn} is listed twice"))
            continue
        seen_tables.add(table.id)
        for r, rule in enumerate(entry.rules):
            field = f"tables.{t}.rules.{r}"
            try:
                checked = quality_rules.check(session, table, rule, field=field, columns=columns.get(table.id, set()))
            except InvalidInput as exc:
                problems.extend(exc.problems)
                continue
            key = (table.id, checked.definition.name)
            if key in wanted:
                problems.append(FieldProblem(f"{field}.name", f"{table.urn} lists rule {key[1]!r} twice"))
            wanted[key] = (table, checked)
    if problems:
        raise InvalidInput(problems[0].field, problems[0].reason, problems=problems)
    return wanted
