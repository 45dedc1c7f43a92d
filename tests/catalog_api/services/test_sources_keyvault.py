"""Sources whose credentials are `keyvault:` references, through the API: registration reads the vault once and is
refused, naming the field, when the secret is missing or unreadable; crawls use the value, retry a busy vault and
pick up a rotated password.

The catalog's bootstrap builds the resolver from `CATALOG_KEYVAULT_URL`; Azure's network edge (the vault and the
managed-identity endpoint) is the local stand-in of tests/support/keyvault.py, reached by the SDK's real client.
The source is a real PostgreSQL server that checks passwords.
"""

from __future__ import annotations

import logging
import time
import uuid

import psycopg
import pytest

from catalog_api.bootstrap import build_context
from catalog_api.errors import InvalidInput
from catalog_api.security.keyvault import KeyVaultSecrets
from catalog_api.services.sources import SourceRegistration, register_source
from tests.support.api import register
from tests.support.graphql import error
from tests.support.jobs import rest_job
from tests.support.secrets import secret

pytestmark = pytest.mark.postgres


@pytest.fixture
def catalog_settings(catalog_settings, key_vault):
    return catalog_settings.model_copy(update={"keyvault_url": f"{key_vault.url}/", "keyvault_retries": 0})


def _trust_vault(ctx, key_vault, **settings) -> None:
    """Swaps the resolver bootstrap built for one with the same settings (and `settings` changes) that also trusts
    the test vault's CA and challenge resource."""
    ctx.secrets.keyvault.close()
    ctx.secrets.keyvault = KeyVaultSecrets.from_settings(ctx.settings.model_copy(update=settings),
                                                         **key_vault.client_options)


@pytest.fixture
def catalog_ctx(catalog_ctx, key_vault):
    assert catalog_ctx.secrets.keyvault.vault_url == key_vault.url  # bootstrap read CATALOG_KEYVAULT_URL
    _trust_vault(catalog_ctx, key_vault)
    return catalog_ctx


class PgLogin:
    """A login role of its own on the password-checking server: rotating its password disturbs no other test."""

    def __init__(self, server: dict) -> None:
        self._admin = {k: server[k] for k in ("host", "port", "user", "password")}
        self.user, self.password = f"kv_{uuid.uuid4().hex[:10]}", secret()
        self.config = {"host": server["host"], "port": server["port"], "user": self.user, "database": "postgres"}
        self._run(f"create role {self.user} login password '{self.password}'")

    def rotate(self) -> str:
        self.password = secret()
        self._run(f"alter role {self.user} password '{self.password}'")
        return self.password

    def drop(self) -> None:
        self._run(f"drop role {self.user}")

    def _run(self, sql: str) -> None:
        with psycopg.connect(dbname="postgres", autocommit=True, **self._admin) as conn:
            conn.execute(sql)


@pytest.fixture
def login(pg_password_server):
    role = PgLogin(pg_password_server)
    yield role
    role.drop()


def _register(client, login: PgLogin, reference: str = "keyvault:pg-password"):
    return client.post("/api/v1/sources", json={"name": "vaulted", "kind": "postgres", "config": login.config,
                                                "secret_refs": {"password": reference}})


def _crawl(client, source_id: int) -> dict:
    return rest_job(client, client.post(f"/api/v1/sources/{source_id}/crawl").json())


def test_registration_reads_the_vault_once_and_the_crawl_uses_the_value(api_client, key_vault, login, caplog):
    caplog.set_level(logging.DEBUG)
    key_vault.set_secret("pg-password", login.password)
    created = _register(api_client, login)
    assert created.status_code == 201, created.text
    assert created.json()["secret_refs"] == {"password": "keyvault:pg-password"}
    job = _crawl(api_client, created.json()["id"])
    assert job["status"] == "succeeded", job
    assert len(key_vault.reads("pg-password")) == 1  # the crawl used the value registration had just read
    assert login.password not in created.text + api_client.get("/api/v1/sources").text
    assert login.password not in caplog.text


def _refused(client, login: PgLogin, reference: str, status: int = 422) -> dict:
    response = _register(client, login, reference)
    assert response.status_code == status, response.text
    assert client.get("/api/v1/sources").json() == []
    return response.json()["error"]


def test_a_missing_or_unreadable_secret_is_refused_naming_the_field(api_client, key_vault, login):
    missing = _refused(api_client, login, "keyvault:pg-password")
    assert (missing["code"], missing["field"]) == ("invalid_input", "secret_refs.password")
    assert f"secret pg-password not found in Key Vault {key_vault.url}" in missing["message"]

    key_vault.set_secret("pg-password", login.password)
    key_vault.deny("pg-password")
    denied = _refused(api_client, login, "keyvault:pg-password")
    assert denied["field"] == "secret_refs.password"
    assert "the catalog's identity needs the Key Vault Secrets User role" in denied["message"]

    malformed = _refused(api_client, login, "keyvault:pg_password")
    assert malformed["field"] == "secret_refs.password" and "'keyvault:NAME/VERSION'" in malformed["message"]


def test_graphql_registration_is_refused_the_same_way(api_client, key_vault, login):
    found = error(api_client, "mutation($input: RegisterSourceInput!) { registerSource(input: $input) { id } }",
                  input={"name": "vaulted", "kind": "postgres", "config": login.config,
                         "secretRefs": {"password": "keyvault:pg-password"}})
    assert (found["extensions"]["status"], found["extensions"]["field"]) == (422, "secret_refs.password")
    assert "not found in Key Vault" in found["message"]


def test_a_throttling_vault_answers_503_and_stores_nothing(api_client, key_vault, login):
    key_vault.set_secret("pg-password", login.password)
    key_vault.throttle("pg-password", times=1)
    busy = _refused(api_client, login, "keyvault:pg-password", status=503)
    assert busy["code"] == "secret_store_unavailable"
    assert _register(api_client, login).status_code == 201  # the same request, once the vault has calmed down


def test_a_crawl_retries_when_the_vault_throttles(api_client, catalog_ctx, key_vault, login):
    _trust_vault(catalog_ctx, key_vault, keyvault_cache_ttl_s=0)
    key_vault.set_secret("pg-password", login.password)
    source = register(api_client, login.config, name="vaulted", secret_refs={"password": "keyvault:pg-password"})
    key_vault.throttle("pg-password", times=1)
    job = _crawl(api_client, source["id"])
    assert (job["status"], job["attempts"]) == ("succeeded", 2), job


def test_a_rotated_password_is_read_after_the_ttl(api_client, catalog_ctx, key_vault, login):
    _trust_vault(catalog_ctx, key_vault, keyvault_cache_ttl_s=0.5)
    key_vault.set_secret("pg-password", login.password)
    source = register(api_client, login.config, name="vaulted", secret_refs={"password": "keyvault:pg-password"})
    key_vault.set_secret("pg-password", login.rotate())
    time.sleep(0.6)
    assert _crawl(api_client, source["id"])["status"] == "succeeded"


def test_a_refused_cached_password_is_read_again_by_the_next_attempt(api_client, catalog_ctx, key_vault, login):
    _trust_vault(catalog_ctx, key_vault, keyvault_cache_ttl_s=3600)
    key_vault.set_secret("pg-password", login.password)
    source = register(api_client, login.config, name="vaulted", secret_refs={"password": "keyvault:pg-password"})
    key_vault.set_secret("pg-password", login.rotate())
    stale = _crawl(api_client, source["id"])
    assert (stale["status"], stale["error_code"]) == ("failed", "authentication_failed")
    assert _crawl(api_client, source["id"])["status"] == "succeeded"
    assert len(key_vault.reads("pg-password")) == 2


def test_a_connection_test_and_an_update_read_the_vault_afresh(api_client, catalog_ctx, key_vault, login):
    _trust_vault(catalog_ctx, key_vault, keyvault_cache_ttl_s=3600)
    key_vault.set_secret("pg-password", login.password)
    source = register(api_client, login.config, name="vaulted", secret_refs={"password": "keyvault:pg-password"})
    key_vault.set_secret("pg-password", login.rotate())
    assert api_client.post(f"/api/v1/sources/{source['id']}/test").json()["ok"] is True
    key_vault.set_secret("pg-password", login.rotate())
    updated = api_client.patch(f"/api/v1/sources/{source['id']}",  # tests the connection with the vault's value
                               json={"secret_refs": {"password": "keyvault:pg-password"}})
    assert updated.status_code == 200, updated.text


def test_a_vault_reference_without_a_configured_vault_is_refused(catalog_settings, key_vault, login):
    ctx = build_context(catalog_settings.model_copy(update={"keyvault_url": None}), migrate=True)
    try:
        assert ctx.secrets.keyvault is None
        with pytest.raises(InvalidInput) as refused:
            register_source(ctx, SourceRegistration(name="vaulted", kind="postgres", config=login.config,
                                                    secret_refs={"password": "keyvault:pg-password"}))
    finally:
        ctx.close()
    assert refused.value.field == "secret_refs.password"
    assert "no vault is configured (set CATALOG_KEYVAULT_URL)" in refused.value.message
    assert key_vault.requests == []
