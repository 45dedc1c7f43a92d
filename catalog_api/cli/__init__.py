"""The `catalog` command line: serve, migrate, manage sources, schedules and quality rules, curate owners, glossary
terms and domains, crawl, extract, profile, search, lineage and the demo.

One module per command group; this package only assembles them into `app` (the `catalog` entry point).
"""

from __future__ import annotations

import typer

from catalog_api.cli.common import console, errors, hold_collector
from catalog_api.cli.curation import domain_app, owner_app, term_app
from catalog_api.cli.demo import demo
from catalog_api.cli.jobs import jobs_app
from catalog_api.cli.keys import keys_app
from catalog_api.cli.lineage import lineage
from catalog_api.cli.rules import rule_app
from catalog_api.cli.runs import crawl, extract, profile
from catalog_api.cli.schedules import schedule_app
from catalog_api.cli.search import search
from catalog_api.cli.server import db_app, relay, scheduler, serve, worker
from catalog_api.cli.sources import source_app

__all__ = ["app", "console", "errors", "main"]

app = typer.Typer(help="Metadata catalog: register sources, crawl them, browse them through GraphQL and REST.",
                  no_args_is_help=True)
app.add_typer(keys_app, name="keys")
app.add_typer(db_app, name="db")
app.add_typer(source_app, name="source")
app.add_typer(jobs_app, name="jobs")
app.add_typer(schedule_app, name="schedule")
app.add_typer(rule_app, name="rule")
app.add_typer(owner_app, name="owner")
app.add_typer(term_app, name="term")
app.add_typer(domain_app, name="domain")
for command in (serve, crawl, extract, profile, search, lineage, worker, scheduler, relay, demo):
    app.command()(command)


def main() -> None:
    """The `catalog` entry point: `app`, with the garbage collector held off while the command starts
    (`catalog_api.cli.common.hold_collector`)."""
    hold_collector()
    app()
