"""`catalog rule …`: data-quality rules added, listed and removed, and kept in version control as one YAML file per
source (`export`, then `apply` with or without `--dry-run`)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table as RichTable

from catalog_api.cli.common import console, errors, follow, follow_reports, pairs, service, track

rule_app = typer.Typer(help="Data-quality rules: add, list, remove, history, run; export and apply rule files "
                            "(YAML).",
                       no_args_is_help=True)

TableArg = Annotated[str, typer.Argument(help="The table's dataset URN, e.g. urn:catalog:dataset:erp:sales:orders.")]


@rule_app.command("add")
def rule_add(
    table: TableArg,
    name: Annotated[str, typer.Argument(help="The rule's name: its stable key within the table.")],
    kind: Annotated[str, typer.Option(help="not_null, unique, accepted_values, range, regex, length, type_conformance, "
                                           "row_count, row_count_change, freshness or custom_sql.")],
    column: Annotated[str | None, typer.Option(help="The column a column rule checks.")] = None,
    param: Annotated[list[str] | None, typer.Option(help="KEY=VALUE of the kind's parameters (repeatable); a JSON "
                                                         "VALUE is taken as such, e.g. values='[\"a\",\"b\"]'.")] = None,
    severity: Annotated[str, typer.Option(help="warning or error.")] = "error",
    owner: Annotated[str | None, typer.Option(help="Who answers for the rule.")] = None,
    description: Annotated[str | None, typer.Option(help="Why the rule exists.")] = None,
) -> None:
    """Add a rule to a table (docs/quality.md lists every kind's parameters)."""
    from catalog_api.services.quality import add_rule

    definition = {"name": name, "kind": kind, "column": column, "params": pairs(param or [], "--param"),
                  "severity": severity, "owner": owner, "description": description}
    with service() as ctx:
        added = add_rule(ctx, table, definition)
    console.print(f"rule [bold]{escape(added.name)}[/bold] ({added.kind}) added to {escape(added.table_urn)}")


@rule_app.command("list")
def rule_list(
    table: Annotated[str | None, typer.Option(help="Only this table's rules (dataset URN).")] = None,
    source: Annotated[str | None, typer.Option(help="Only this source's rules (name or id).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the rules as JSON (for scripts).")] = False,
) -> None:
    """Rules by table, then name."""
    from catalog_api.services.quality import list_rules

    with service() as ctx, ctx.db.session() as session:
        found = list_rules(session, table_urn=table, source=source)
    if as_json:
        print(json.dumps([{"id": r.id, "table": r.table_urn, "name": r.name, "kind": r.kind, "column": r.column,
                           "params": r.params, "severity": r.severity, "owner": r.owner, "version": r.version}
                          for r in found]))
        return
    if not found:
        console.print("no rules; `catalog rule add TABLE NAME --kind KIND` adds one")
        return
    listing = RichTable("table", "name", "kind", "column", "params", "severity", "owner", "version")
    for r in found:
        listing.add_row(escape(r.table_urn), escape(r.name), r.kind, escape(r.column or ""),
                        escape(json.dumps(r.params)), r.severity, escape(r.owner or ""), str(r.version))
    console.print(listing)


@rule_app.command("remove")
def rule_remove(table: TableArg, name: Annotated[str, typer.Argument(help="The rule's name.")]) -> None:
    """Remove a rule (its history stays)."""
    from catalog_api.services.quality import find_rule, remove_rule

    with service() as ctx:
        with ctx.db.session() as session:
            rule_id = find_rule(session, table, name).id
        removed = remove_rule(ctx, rule_id)
    console.print(f"rule [bold]{escape(removed.name)}[/bold] removed from {escape(removed.table_urn)}")


@rule_app.command("history")
def rule_history(table: TableArg,
                 name: Annotated[str | None, typer.Option(help="Only this rule's changes.")] = None) -> None:
    """The changes of a table's rules, newest first."""
    from catalog_api.services.quality import rule_history as history

    with service() as ctx, ctx.db.session() as session:
        found = history(session, table, name=name)
    listing = RichTable("when", "rule", "change", "version", "by")
    for c in found:
        listing.add_row(f"{c.at:%Y-%m-%d %H:%M:%S}", escape(c.rule_name), c.change, str(c.version), escape(c.actor))
    console.print(listing)


@rule_app.command("export")
def rule_export(source: Annotated[str, typer.Argument(help="Source name or id.")]) -> None:
    """Print the source's rule file (YAML): `catalog rule export erp > rules.yaml`."""
    from catalog_api.services.quality import dump_yaml, export_rules

    with service() as ctx, ctx.db.session() as session:
        document = export_rules(session, source)
    sys.stdout.write(dump_yaml(document))


@rule_app.command("apply")
def rule_apply(
    file: Annotated[Path, typer.Argument(help="A rule file (YAML), or - for standard input.", allow_dash=True)],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the diff, change nothing.")] = False,
) -> None:
    """Make the source's rules equal the file's: print what is added, changed and removed."""
    from catalog_api.services.quality import apply_rules, load_yaml

    text = sys.stdin.read() if str(file) == "-" else _read(file)
    with service() as ctx:
        diff = apply_rules(ctx, load_yaml(text), dry_run=dry_run)
    signs = {"added": "[green]+[/green]", "changed": "[yellow]~[/yellow]", "removed": "[red]-[/red]"}
    for change in diff.changes:
        console.print(f"{signs[change.change]} {escape(change.table_urn)} {escape(change.name)}"
                      + (f": {_changed_fields(change.before, change.after)}" if change.change == "changed" else ""))
    verb = "would be" if diff.dry_run else "were"
    console.print(f"{diff.source}: {diff.added} added, {diff.changed} changed, {diff.removed} removed, "
                  f"{diff.unchanged} unchanged" + (f" ({verb} applied with no --dry-run)" if diff.dry_run else ""))


@rule_app.command("run")
def rule_run(
    source: Annotated[str, typer.Argument(help="Source name or id.")],
    table: Annotated[list[str] | None,
                     typer.Option(help="Only this table's rules (dataset URN; repeatable).")] = None,
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="Follow the job, then print each rule's outcome.")]
    = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print only the job's result, as JSON (for scripts).")]
    = False,
) -> None:
    """Evaluate the source's rules now: freshness and custom SQL in a quality job, which queues a profile of the
    tables holding aggregate rules (evaluated in the profile's own passes) and follows it too; exits non-zero only
    when a job fails, not when a rule does."""
    from catalog_api.services.jobs import get_job
    from catalog_api.services.quality import list_rules, request_quality_run, rule_results

    with service() as ctx:
        job = request_quality_run(ctx, source, table or None)
        (errors if as_json else console).print(f"quality job {job.id}")
        if not wait:
            return
        follow(ctx, job.id, as_json=as_json)
        runs = {job.id}
        with ctx.db.session() as session:
            profile_job = (get_job(session, job.id).result or {}).get("profile_job")
        if profile_job is not None:  # with --json, stdout keeps the quality job's result alone
            (errors if as_json else console).print(f"aggregate rules: profile job {profile_job}")
            track(ctx, profile_job, errors) if as_json else follow(ctx, profile_job)
            follow_reports(ctx, profile_job, wait=True, as_json=as_json)
            runs.add(profile_job)
        if as_json:
            return
        with ctx.db.session() as session:
            results = [found for rule in list_rules(session, source=source)
                       for found in rule_results(session, rule.id, limit=1) if found.run_id in runs]
    listing = RichTable("table", "rule", "outcome", "failing rows", "message")
    colours = {"passed": "green", "failed": "red", "error": "yellow"}
    for r in results:
        listing.add_row(escape(r.table_urn), escape(r.rule_name), f"[{colours[r.outcome]}]{r.outcome}[/]",
                        "" if r.failing_rows is None else str(r.failing_rows), escape(r.message or ""))
    console.print(listing)


def _read(file: Path) -> str:
    try:
        return file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise typer.BadParameter(f"cannot read {file}: {exc}", param_hint="FILE") from None


def _changed_fields(before: dict | None, after: dict | None) -> str:
    before, after = before or {}, after or {}
    return ", ".join(key for key in dict.fromkeys([*before, *after]) if before.get(key) != after.get(key))
