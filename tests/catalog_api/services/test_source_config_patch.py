"""`config_patch`: a source update that changes only the config keys it names, merged inside the update's own
transaction with the source's row locked, on a catalog kept in real PostgreSQL.

The oracle is the catalog's own `data_sources` row, read with plain SQL.
"""

from __future__ import annotations

import json
import threading

import psycopg
import pytest

from catalog_api.services.sources import SourceUpdate, update_source
from tests.support.api import register

pytestmark = pytest.mark.postgres


@pytest.fixture
def catalog_settings(catalog_settings, pg_catalog_url):
    """The shared fixtures' catalog (`catalog_ctx`, `api_client`), kept in PostgreSQL instead of SQLite."""
    return catalog_settings.model_copy(update={"database_url": pg_catalog_url})


def _catalog(pg_catalog_url: str) -> psycopg.Connection:
    return psycopg.connect(pg_catalog_url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)


def _stored_config(pg_catalog_url: str, source_id: int) -> dict:
    with _catalog(pg_catalog_url) as conn:
        (config,) = conn.execute("select config from data_sources where id = %s", (source_id,)).fetchone()
    return json.loads(config) if isinstance(config, str) else config


def test_a_patch_sets_and_drops_only_the_keys_it_names(api_client, pg_catalog_url, make_pg_database):
    source = register(api_client, {**make_pg_database(), "include_schemas": ["public"]}, name="erp")
    before = _stored_config(pg_catalog_url, source["id"])

    patched = api_client.patch(f"/api/v1/sources/{source['id']}",
                              json={"config_patch": {"application_name": "nightly", "include_schemas": None}})
    assert patched.status_code == 200, patched.text
    after = _stored_config(pg_catalog_url, source["id"])
    assert after["application_name"] == "nightly"
    assert after["include_schemas"] != ["public"]  # dropped: back to the default
    assert {k: v for k, v in after.items() if k not in ("application_name", "include_schemas")} == \
        {k: v for k, v in before.items() if k not in ("application_name", "include_schemas")}
    assert patched.json()["config"] == after

    # `config` keeps its meaning: the whole config, replaced.
    replaced = api_client.patch(f"/api/v1/sources/{source['id']}", json={"config": before})
    assert replaced.status_code == 200, replaced.text
    assert _stored_config(pg_catalog_url, source["id"]) == before


@pytest.mark.parametrize(("body", "field"), [
    ({"config": {}, "config_patch": {"port": 5433}}, "config_patch"),
    ({"config_patch": {"port": "not a port"}}, "config.port"),
    ({"config_patch": {"colour": "blue"}}, "config.colour"),
    ({"config_patch": {"database": None}}, "config.database"),
    ({"config_patch": {"password": "in the clear"}}, "config.password"),
    ({"config_patch": {"application_name": "a\x00b"}}, "config_patch.application_name"),
    ({"config_patch": ["not", "an", "object"]}, "config_patch"),
])
def test_a_refused_patch_names_the_field_and_stores_nothing(api_client, pg_catalog_url, make_pg_database, body,
                                                             field):
    source = register(api_client, make_pg_database(), name="erp")
    before = _stored_config(pg_catalog_url, source["id"])
    refused = api_client.patch(f"/api/v1/sources/{source['id']}", json=body)
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["field"] == field
    assert "in the clear" not in refused.text
    assert _stored_config(pg_catalog_url, source["id"]) == before


def test_a_patched_source_keeps_its_secret_masked(api_client, pg_catalog_url, pg_password_server):
    password = pg_password_server["password"]
    config = {k: v for k, v in pg_password_server.items() if k != "password"}
    source = register(api_client, config, name="guarded", secrets={"password": password})

    # The connection is tested again with the stored secret: the patch reaches the password-protected server.
    patched = api_client.patch(f"/api/v1/sources/{source['id']}", json={"config_patch": {"connect_timeout_s": 5}})
    assert patched.status_code == 200, patched.text
    assert password not in patched.text
    assert patched.json()["secret_refs"]["password"].startswith("local:")
    assert patched.json()["secret_refs"] == source["secret_refs"]
    assert password not in api_client.get(f"/api/v1/sources/{source['id']}").text
    assert "password" not in _stored_config(pg_catalog_url, source["id"])


def test_a_patch_waits_for_a_concurrent_update_and_keeps_its_change(catalog_ctx, api_client, pg_catalog_url,
                                                                    make_pg_database):
    """Another transaction holds the row and changes one key; a patch of another key issued meanwhile must wait for
    it and merge into its result. Read-modify-write outside the lock would put the old value of that key back."""
    source = register(api_client, make_pg_database(), name="erp")
    with _catalog(pg_catalog_url) as other:
        with other.transaction():
            other.execute("select 1 from data_sources where id = %s for update", (source["id"],))
            done = threading.Event()
            patcher = threading.Thread(target=lambda: (update_source(catalog_ctx, source["id"], SourceUpdate(
                config_patch={"application_name": "nightly"}, test_connection=False)), done.set()))
            patcher.start()
            assert not done.wait(1.0), "the patch did not wait for the row lock"
            other.execute("update data_sources set config = jsonb_set(config::jsonb, '{connect_timeout_s}', '7')"
                          "::json where id = %s", (source["id"],))
        patcher.join(30)
    assert done.is_set()
    stored = _stored_config(pg_catalog_url, source["id"])
    assert (stored["application_name"], stored["connect_timeout_s"]) == ("nightly", 7)


def test_graphql_update_takes_a_config_patch(api_client, pg_catalog_url, make_pg_database):
    from tests.support.graphql import data, error

    source = register(api_client, make_pg_database(), name="erp")
    mutation = "mutation($id: Int!, $input: UpdateSourceInput!) { updateSource(id: $id, input: $input) { config } }"
    updated = data(api_client, mutation, id=source["id"], input={"configPatch": {"application_name": "nightly"}})
    assert updated["updateSource"]["config"] == _stored_config(pg_catalog_url, source["id"])
    assert updated["updateSource"]["config"]["application_name"] == "nightly"
    assert updated["updateSource"]["config"]["database"] == source["config"]["database"]
    both = error(api_client, mutation, id=source["id"], input={"config": {}, "configPatch": {"port": 1}})
    assert (both["extensions"]["code"], both["extensions"]["field"]) == ("invalid_input", "config_patch")
