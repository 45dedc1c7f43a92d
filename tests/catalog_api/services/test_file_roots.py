"""Sources read local files only under CATALOG_FILE_ROOTS and never the catalog's own files, checked when a source
is registered or updated and again whenever its connector is built for a test, crawl or extraction.

Each test gets a root `data/` in its folder; the catalog's home (`home/`) sits beside it, outside the root.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import select

from catalog_api.db.models import Table
from catalog_api.services import file_roots
from catalog_api.services.jobs import get_job, wait_for_job
from catalog_api.settings import Settings
from tests.support.jobs import rest_crawl
from tests.support.sources import ORDERS
from tests.support.sqlite import build_database

REFUSED = f"config.path: {file_roots.REFUSED}"


@pytest.fixture
def data(catalog_ctx, tmp_path) -> Path:
    root = tmp_path / "data"
    root.mkdir()
    catalog_ctx.settings.file_roots = [root]
    return root


def sqlite_source(client, path: Path | str, name: str = "shop", **extra):
    return client.post("/api/v1/sources", json={"name": name, "kind": "sqlite", "config": {"path": str(path)},
                                                **extra})


def files_source(client, url: str):
    return client.post("/api/v1/sources", json={"name": "drop", "kind": "files", "config": {"url": url}})


def refusal(answer, field: str = "config.path") -> str:
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["field"] == field
    return answer.json()["error"]["message"]


def test_a_database_inside_a_root_is_accepted_and_crawled(api_client, data):
    source = sqlite_source(api_client, build_database(data / "shop.db", ORDERS))
    assert source.status_code == 201, source.text
    assert rest_crawl(api_client, source.json()["id"])["tables_created"] == 1


def test_the_catalogs_own_database_is_refused_even_inside_a_root(api_client, catalog_ctx, tmp_path, data):
    catalog_db = catalog_ctx.settings.home / "catalog.db"
    assert catalog_db.exists()
    assert refusal(sqlite_source(api_client, catalog_db)) == REFUSED
    catalog_ctx.settings.file_roots = [tmp_path]  # a root holding the home: the home stays refused
    for own in (catalog_db, catalog_ctx.settings.home / "secret.key", tmp_path / "home" / "." / "catalog.db",
                data / ".." / "home" / "catalog.db"):
        assert refusal(sqlite_source(api_client, own)) == REFUSED
    assert api_client.get("/api/v1/sources").json() == []


def test_a_catalog_database_kept_outside_the_home_is_refused_with_its_journals(tmp_path):
    settings = Settings(home=tmp_path / "home", database_url=f"sqlite:///{tmp_path / 'data' / 'catalog.db'}",
                        file_roots=[tmp_path / "data"])
    assert file_roots.allowed(settings, tmp_path / "data" / "shop.db")
    for own in ("catalog.db", "catalog.db-wal", "catalog.db-shm", "catalog.db-journal"):
        assert not file_roots.allowed(settings, tmp_path / "data" / own)


def test_outside_the_roots_an_existing_and_a_missing_file_get_the_same_answer(api_client, tmp_path, data):
    existing = build_database(tmp_path / "elsewhere.db", ORDERS)
    answers = {refusal(sqlite_source(api_client, path)) for path in (
        existing, tmp_path / "missing.db", "/etc/passwd", "/etc/nonexistent", "/etc/shadow/../passwd")}
    assert answers == {REFUSED}
    assert "elsewhere" not in REFUSED and str(tmp_path) not in REFUSED
    # `..` is folded before links are followed: it cannot climb out of the root and back in elsewhere
    assert refusal(sqlite_source(api_client, f"{data}/../elsewhere.db")) == REFUSED


def test_a_symbolic_link_leading_out_of_a_root_is_refused(api_client, catalog_ctx, tmp_path, data):
    outside = build_database(tmp_path / "secret.db", ORDERS)
    (data / "innocent.db").symlink_to(outside)
    (data / "folder").symlink_to(tmp_path)
    (data / "home").symlink_to(catalog_ctx.settings.home)
    for path in (data / "innocent.db", data / "folder" / "secret.db", data / "home" / "catalog.db"):
        assert refusal(sqlite_source(api_client, path)) == REFUSED
    # a link that stays inside the root is fine
    build_database(data / "real.db", ORDERS)
    (data / "alias.db").symlink_to(data / "real.db")
    assert sqlite_source(api_client, data / "alias.db").status_code == 201


def test_a_link_swapped_after_registration_is_refused_when_the_connector_is_next_built(api_client, catalog_ctx,
                                                                                       tmp_path, data):
    build_database(data / "real.db", ORDERS)
    (data / "shop.db").symlink_to(data / "real.db")
    source = sqlite_source(api_client, data / "shop.db").json()
    (data / "shop.db").unlink()
    (data / "shop.db").symlink_to(catalog_ctx.settings.home / "catalog.db")

    tested = api_client.post(f"/api/v1/sources/{source['id']}/test").json()
    assert (tested["ok"], tested["error_message"]) == (False, REFUSED)
    job = api_client.post(f"/api/v1/sources/{source['id']}/crawl").json()
    finished = wait_for_job(catalog_ctx, job["id"], timeout=60)
    assert (finished.status, finished.error_message) == ("failed", REFUSED)
    with catalog_ctx.db.session() as session:
        assert get_job(session, job["id"]).error_code == "invalid_input"
        assert session.scalars(select(Table)).all() == []


def test_a_source_whose_root_was_removed_from_the_settings_is_refused_at_its_next_crawl(api_client, catalog_ctx,
                                                                                        tmp_path, data):
    source = sqlite_source(api_client, build_database(data / "shop.db", ORDERS)).json()
    catalog_ctx.settings.file_roots = [tmp_path / "other"]
    finished = wait_for_job(catalog_ctx, api_client.post(f"/api/v1/sources/{source['id']}/crawl").json()["id"],
                            timeout=60)
    assert (finished.status, finished.error_message) == ("failed", REFUSED)
    moved = api_client.patch(f"/api/v1/sources/{source['id']}", json={"config": {"path": str(tmp_path / "x.db")}})
    assert refusal(moved) == REFUSED


def test_files_folders_are_confined_the_same_way(api_client, catalog_ctx, tmp_path, data):
    (data / "drop").mkdir()
    (data / "drop" / "orders.csv").write_text("id,total\n1,2.5\n")
    (tmp_path / "private").mkdir()
    (tmp_path / "private" / "salaries.csv").write_text("name,salary\nann,1\n")
    (data / "escape").symlink_to(tmp_path / "private")
    refused = {refusal(files_source(api_client, url), "config.url") for url in (
        str(tmp_path / "private"), f"file://{tmp_path / 'private'}", str(tmp_path / "missing"),
        str(data / "escape"), f"file://{data}/../private", str(catalog_ctx.settings.home))}
    assert refused == {f"config.url: {file_roots.REFUSED}"}
    # a folder that holds the catalog's home would list its files: refused too
    catalog_ctx.settings.file_roots = [tmp_path]
    assert refusal(files_source(api_client, str(tmp_path)), "config.url") == f"config.url: {file_roots.REFUSED}"
    catalog_ctx.settings.file_roots = [data]

    accepted = files_source(api_client, f"file://{data / 'drop'}")
    assert accepted.status_code == 201, accepted.text
    assert rest_crawl(api_client, accepted.json()["id"])["tables_created"] == 1


def test_azure_lake_urls_are_not_local_paths(api_client, data):
    """No root names a container: Azure sources are not files on this machine, whatever their path says."""
    for name, config in (("lake", {"url": "abfs://landing/sales", "account_name": "acct1"}),
                         ("lake2", {"url": "abfss://landing@acct1.dfs.core.windows.net/etc/passwd"})):
        answer = api_client.post("/api/v1/sources", json={"name": name, "kind": "files", "config": config,
                                                          "test_connection": False})
        assert answer.status_code == 201, answer.text


def test_no_roots_means_no_local_files(api_client, catalog_ctx, data):
    catalog_ctx.settings.file_roots = []
    assert refusal(sqlite_source(api_client, build_database(data / "shop.db", ORDERS))) == REFUSED


def test_the_default_root_is_sources_under_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CATALOG_FILE_ROOTS", raising=False)
    settings = Settings(_env_file=None)
    assert settings.file_roots == [Path("sources")]
    assert file_roots.allowed(settings, tmp_path / "sources" / "demo" / "erp.db")
    assert not file_roots.allowed(settings, tmp_path / "shop.db")
    assert not file_roots.allowed(settings, tmp_path / ".catalog" / "catalog.db")


def test_roots_are_a_json_list_in_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("CATALOG_FILE_ROOTS", f'["{tmp_path / "a"}", "{tmp_path / "b"}"]')
    settings = Settings(_env_file=None, home=tmp_path / "home")
    assert settings.file_roots == [tmp_path / "a", tmp_path / "b"]
    assert file_roots.allowed(settings, tmp_path / "b" / "x.db")
    assert not file_roots.allowed(settings, tmp_path / "c" / "x.db")
    assert os.sep not in file_roots.REFUSED
