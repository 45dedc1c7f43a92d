"""The `catalog` command line, run as a user would: separate processes sharing one embedded catalog."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.support.cli import catalog_env, stop, wait_until_up
from tests.support.events import free_port
from tests.support.sources import sqlite_shop


def test_db_upgrade_source_add_list_test_and_crawl(run_cli, tmp_path):
    assert "revision head" in run_cli("db", "upgrade").stdout
    (tmp_path / "sources").mkdir()  # sources may read files under ./sources when CATALOG_FILE_ROOTS is unset
    db = sqlite_shop(tmp_path / "sources" / "shop.db")
    added = run_cli("source", "add", "shop", "--kind", "sqlite", "--config", f"path={db}")
    assert "urn:catalog:source:shop" in added.stdout
    listed = run_cli("source", "list").stdout
    assert "shop" in listed and "sqlite" in listed and "never" in listed
    assert "ok: SQLite" in run_cli("source", "test", "shop").stdout
    crawled = run_cli("crawl", "shop", "--wait").stdout
    cells = {tuple(cell.strip() for cell in line.strip("│").split("│")) for line in crawled.splitlines()}
    assert {("created", "3"), ("changes recorded", "4")} <= cells  # schema main + 3 tables
    scripted = run_cli("crawl", "shop", "--json")
    assert json.loads(scripted.stdout)["tables_unchanged"] == 3  # stdout is the JSON alone
    assert "crawl job" in scripted.stderr
    assert "never" not in run_cli("source", "list").stdout
    assert "removed shop" in run_cli("source", "remove", "shop", "--yes").stdout
    assert "shop" not in run_cli("source", "list").stdout


def test_errors_are_clear_and_exit_non_zero(run_cli, tmp_path):
    missing = run_cli("source", "add", "ghost", "--kind", "sqlite", "--config",
                      f"path={tmp_path / 'sources' / 'no.db'}", ok=False)
    assert missing.returncode == 1 and "config.path" in missing.stderr and "no.db" in missing.stderr
    outside = run_cli("source", "add", "ghost", "--kind", "sqlite", "--config", f"path={tmp_path / 'no.db'}",
                      ok=False)
    assert outside.returncode == 1 and "config.path" in outside.stderr and "CATALOG_FILE_ROOTS" in outside.stderr
    unknown = run_cli("source", "add", "x", "--kind", "oracle", ok=False)
    assert unknown.returncode == 1 and "kind" in unknown.stderr and "postgres" in unknown.stderr
    assert "ghost" not in run_cli("source", "list").stdout
    nothing = run_cli("crawl", "ghost", ok=False)
    assert nothing.returncode == 1 and "no source 'ghost'" in nothing.stderr


def test_a_validation_error_names_each_field_once(run_cli):
    run_cli("db", "upgrade")
    incomplete = run_cli("source", "add", "x", "--kind", "postgres", "--no-test", ok=False)
    assert incomplete.returncode == 1
    assert incomplete.stderr.splitlines() == ["error (invalid_input): config.database: Field required",
                                              "  config.user: Field required"]


def test_serve_with_redis_fan_out_and_no_redis_url_stops_at_once_naming_the_variable(run_cli, tmp_path):
    refused = run_cli("serve", "--port", "1", settings={"events_fanout": "redis"}, ok=False)
    assert refused.returncode == 2
    assert refused.stderr.splitlines() == ["error: Value error, CATALOG_EVENTS_FANOUT_REDIS_URL is required with "
                                           "CATALOG_EVENTS_FANOUT=redis, e.g. redis://cache:6379/0"]
    assert not (tmp_path / "home" / "catalog.db").exists()  # stopped before it opened the catalog


def test_serve_prints_the_address_of_the_ui_graphiql_openapi_and_rest_and_each_answers(tmp_path):
    """What `make run` (`catalog demo`, which ends in `catalog serve`) tells a person: every address it prints is
    one the service answers with that page."""
    port = free_port()
    out, err = tmp_path / "serve.out", tmp_path / "serve.err"
    with out.open("w") as stdout, err.open("w") as stderr:
        server = subprocess.Popen([sys.executable, "-m", "catalog_api.cli", "serve"], cwd=tmp_path, stdout=stdout,
                                  stderr=stderr, start_new_session=True, env={
                                      **catalog_env(tmp_path, host="127.0.0.1", port=str(port), log_format="text"),
                                      "COLUMNS": "300", "NO_COLOR": "1"})
    try:
        wait_until_up(f"http://127.0.0.1:{port}", server, err)
        (banner,) = out.read_text().splitlines()
        printed = dict(re.findall(r"(\S+) (?:at|under) (http://\S+?)(?=[,\s]|$)", banner))
        base = f"http://127.0.0.1:{port}"
        assert printed == {"Catalog": f"{base}/ui", "GraphiQL": f"{base}/graphql", "OpenAPI": f"{base}/docs",
                           "REST": f"{base}/api/v1"}, banner
        pages = {name: httpx.get(url, headers={"Accept": "text/html"}) for name, url in printed.items()
                 if name != "REST"}
        assert all(page.status_code == 200 for page in pages.values()), pages
        assert '<div id="app">' in pages["Catalog"].text  # the UI's shell
        assert "graphiql" in pages["GraphiQL"].text.lower() and "swagger" in pages["OpenAPI"].text.lower()
        assert httpx.get(f"{printed['REST']}/sources").status_code == 200
    finally:
        stop(server)


def test_demo_builds_registers_crawls_and_profiles(run_cli, tmp_path):
    done = run_cli("demo", "--no-serve", "--json")
    result, profiled = (json.loads(line) for line in done.stdout.strip().splitlines())
    assert result["tables_created"] >= 8
    # Every table of the demo database (its views are profiled only on request), with its real row count.
    database = done.stderr.split("demo ERP database at ", 1)[1].split("\n", 1)[0].strip()
    assert Path(database) == tmp_path / "sources" / "demo" / "erp.db"  # the default file root; never the home
    with sqlite3.connect(database) as db:
        names = [n for (n,) in db.execute("select name from sqlite_master where type = 'table' "
                                          "and name not like 'sqlite_%'")]
        rows = {n: db.execute(f'select count(*) from "{n}"').fetchone()[0] for n in names}
    assert {t["urn"].rsplit(":", 1)[1]: t["rows"] for t in profiled["tables"]} == rows
    # The demo does not wait for the HTML reports: a report job renders them, left queued for the server.
    assert f"rendered in the background by job {profiled['report_job']}" in done.stderr
    again = run_cli("demo", "--no-serve", "--no-profile")
    assert "crawl succeeded" in again.stdout and "profile succeeded" not in again.stdout  # the summary table
    crawled = json.loads(run_cli("demo", "--no-serve", "--no-profile", "--json").stdout)
    assert crawled["tables_created"] == 0 and crawled["changes_recorded"] == 0
    assert crawled["tables_unchanged"] == result["tables_created"]


PROFILED = """
create schema shop;
create table shop.customers (id bigint primary key, email text);
insert into shop.customers select g, 'user' || g || '@example.com' from generate_series(1, 250) g;
"""


@pytest.mark.postgres
def test_profile_a_table_then_fail_on_an_unreachable_source(cli_in_process, make_pg_database, spark):
    from catalog_api.bootstrap import build_context
    from catalog_api.services.sources import SourceUpdate, update_source
    from catalog_api.settings import get_settings
    from catalog_api.urns import dataset_urn
    from tests.support.postgres import pg_query

    config = make_pg_database(PROFILED)
    cli_in_process("source", "add", "shop", "--kind", "postgres",
                   *[arg for key, value in config.items() for arg in ("--config", f"{key}={value}")])
    cli_in_process("crawl", "shop")
    done = cli_in_process("profile", dataset_urn("shop", "shop", "customers"))
    ((rows,),) = pg_query(config, "select count(*) from shop.customers")
    summary = next(line for line in done.stdout.splitlines() if "shop.customers" in line)
    assert [cell.strip() for cell in summary.strip("│| ").split("│")][:4] == ["shop.customers", str(rows), "2", "0"]

    ctx = build_context(get_settings())
    try:
        update_source(ctx, "shop", SourceUpdate(config={**config, "port": 1}, test_connection=False))
    finally:
        ctx.close()
    failed = cli_in_process("profile", "shop", ok=False)
    assert failed.exit_code == 1
    assert "profile failed (source_unreachable)" in failed.stderr and "127.0.0.1:1" in failed.stderr


def test_job_ids_can_be_typed_back_and_a_misspelt_source_gets_a_suggestion(cli_in_process, tmp_path, monkeypatch):
    from sqlalchemy import select, update

    from catalog_api import cli
    from catalog_api.bootstrap import build_context
    from catalog_api.db.models import Job
    from catalog_api.settings import get_settings

    monkeypatch.setattr(cli.console, "width", 80)  # a common terminal: the table must not cut the ids there
    (tmp_path / "sources").mkdir()
    cli_in_process("db", "upgrade")
    cli_in_process("source", "add", "shop", "--kind", "sqlite", "--config",
                   f"path={sqlite_shop(tmp_path / 'sources' / 'shop.db')}")
    cli_in_process("crawl", "shop")
    cli_in_process("crawl", "shop")
    ctx = build_context(get_settings())
    try:
        with ctx.db.session() as session:
            first, second = sorted(session.scalars(select(Job.id)))
            # Two ids that share their first 8 characters, to see how an ambiguous prefix is answered.
            session.execute(update(Job).where(Job.id == second).values(id=first[:8] + second[8:]))
            second = first[:8] + second[8:]
    finally:
        ctx.close()

    listed = cli_in_process("jobs", "list").stdout
    ids = [line.split("│")[1].strip() for line in listed.splitlines() if line.startswith("│")]
    ids = [shown for shown in ids if shown]  # a row's wrapped second line has an empty id cell
    assert len(ids) == 2 and all("…" not in shown for shown in ids)
    misspelt = cli_in_process("crawl", "shpo", ok=False)
    assert misspelt.exit_code == 1 and "no source 'shpo'; did you mean 'shop'?" in misspelt.stderr
    for shown in ids:  # each id as listed finds its job
        assert json.loads(cli_in_process("jobs", "show", shown).stdout)["id"] in {first, second}
    ambiguous = cli_in_process("jobs", "show", first[:8], ok=False)
    assert ambiguous.exit_code == 1
    assert "matches 2 jobs" in ambiguous.stderr and first in ambiguous.stderr and second in ambiguous.stderr
    missing = cli_in_process("jobs", "cancel", "zzz", ok=False)
    assert missing.exit_code == 1 and "no job with id 'zzz'" in missing.stderr
