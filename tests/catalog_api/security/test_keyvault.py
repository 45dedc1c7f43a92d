"""`keyvault:` references resolved by the SDK's real `SecretClient` with a real `DefaultAzureCredential`.

Azure cannot exist here, so only its network edge is replaced: the vault is a local HTTPS server speaking the Key
Vault REST API (its certificate from a throw-away CA that only these clients trust), and the identity is App
Service's managed-identity endpoint, served locally (tests/support/keyvault.py). Everything between the catalog and
those sockets (challenge authentication, token acquisition, retries, error mapping) is the SDK's own code.
"""

from __future__ import annotations

import logging

import pytest

from catalog_api.errors import InvalidInput, SecretStoreUnavailable, SecretUnavailable
from catalog_api.security.keyvault import KeyVaultReference, KeyVaultSecrets
from catalog_api.security.secrets import SecretStore, validate_reference
from catalog_api.settings import Settings
from tests.support.keyvault import RESOURCE
from tests.support.secrets import secret

HEX32 = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def resolver(key_vault):
    """A resolver on the local vault with production's options, except the test CA and the challenge resource."""
    made: list[KeyVaultSecrets] = []

    def make(**options) -> KeyVaultSecrets:
        made.append(KeyVaultSecrets(key_vault.url, **{"retries": 2, **options}, **key_vault.client_options))
        return made[-1]

    yield make
    for item in made:
        item.close()


def test_reads_the_latest_version_or_a_pinned_one(key_vault, resolver):
    first = key_vault.set_secret("db-password", "first-value")
    key_vault.set_secret("db-password", "second-value")
    vault = resolver()
    assert vault.get(KeyVaultReference.parse("db-password")) == "second-value"
    assert vault.get(KeyVaultReference.parse(f"db-password/{first}")) == "first-value"
    # Key Vault's challenge flow ran: an unauthenticated request, then a token for the challenge's resource.
    assert (key_vault.requests[0].authorized, key_vault.requests[0].status) == (False, 401)
    assert [r["resource"] for r in key_vault.token_requests] == [RESOURCE]
    assert all(r.authorized for r in key_vault.requests[1:])


def test_values_are_cached_until_the_ttl_and_a_rotation_shows_after_it(key_vault, resolver, clock):
    key_vault.set_secret("db-password", "before-rotation")
    vault = resolver(cache_ttl_s=300, clock=clock)
    assert vault.get(KeyVaultReference("db-password")) == "before-rotation"
    key_vault.set_secret("db-password", "after-rotation")
    clock.advance(299.5)
    assert vault.get(KeyVaultReference("DB-Password")) == "before-rotation"  # names are case-insensitive, as in the vault
    assert len(key_vault.reads("db-password")) == 1
    clock.advance(0.5)
    assert vault.get(KeyVaultReference("db-password")) == "after-rotation"
    assert len(key_vault.reads("db-password")) == 2


def test_fresh_reads_forget_and_close_skip_the_cache(key_vault, resolver):
    key_vault.set_secret("db-password", "before-rotation")
    vault = resolver(cache_ttl_s=3600)
    reference = KeyVaultReference("db-password")
    vault.get(reference)
    key_vault.set_secret("db-password", "after-rotation")
    assert vault.get(reference, fresh=True) == "after-rotation"
    key_vault.set_secret("db-password", "third-value")
    vault.forget(reference)
    assert vault.get(reference) == "third-value"
    assert vault.get(reference) == "third-value"
    assert len(key_vault.reads("db-password")) == 3
    vault.close()  # as the service does when it stops: the cache goes with the client
    assert vault.get(reference) == "third-value"
    assert len(key_vault.reads("db-password")) == 4


def test_a_missing_secret_says_so(key_vault, resolver):
    with pytest.raises(SecretUnavailable) as raised:
        resolver().get(KeyVaultReference("no-such-secret"))
    assert raised.value.message == f"secret no-such-secret not found in Key Vault {key_vault.url}"
    assert not raised.value.transient


def test_a_missing_version_says_so(key_vault, resolver):
    key_vault.set_secret("db-password", "value")
    with pytest.raises(SecretUnavailable, match=f"secret db-password/{HEX32} not found"):
        resolver().get(KeyVaultReference("db-password", HEX32))


def test_access_denied_names_the_role_the_identity_needs(key_vault, resolver):
    key_vault.set_secret("db-password", "value")
    key_vault.deny("db-password")
    with pytest.raises(SecretUnavailable) as raised:
        resolver().get(KeyVaultReference("db-password"))
    assert "access denied to secret db-password" in raised.value.message
    assert "ForbiddenByRbac" in raised.value.message
    assert "needs the Key Vault Secrets User role" in raised.value.message
    assert not raised.value.transient


def test_a_disabled_secret_says_so(key_vault, resolver):
    key_vault.set_secret("db-password", "value")
    key_vault.disable("db-password")
    with pytest.raises(SecretUnavailable, match="secret db-password is disabled in Key Vault"):
        resolver().get(KeyVaultReference("db-password"))


def test_throttling_is_retried_after_the_vaults_retry_after(key_vault, resolver):
    key_vault.set_secret("db-password", "value")
    key_vault.throttle("db-password", times=1, retry_after_s=1)
    assert resolver().get(KeyVaultReference("db-password")) == "value"
    throttled, served = key_vault.reads("db-password")
    assert (throttled.status, served.status) == (429, 200)
    assert served.at - throttled.at >= 0.95


def test_persistent_throttling_is_a_transient_error_after_the_retries(key_vault, resolver):
    key_vault.set_secret("db-password", "value")
    key_vault.throttle("db-password", times=100, retry_after_s=1)
    with pytest.raises(SecretStoreUnavailable) as raised:
        resolver(retries=1).get(KeyVaultReference("db-password"))
    assert raised.value.transient and raised.value.status == 503
    assert "429 (Throttled)" in raised.value.message and "after 1 retries" in raised.value.message
    assert [r.status for r in key_vault.reads("db-password")] == [429, 429]


def test_an_unreachable_vault_is_a_transient_error(key_vault):
    closed = KeyVaultSecrets("https://127.0.0.1:9", retries=0, timeout_s=2, **key_vault.client_options)
    with pytest.raises(SecretStoreUnavailable, match=r"Key Vault https://127.0.0.1:9 did not answer"):
        closed.get(KeyVaultReference("db-password"))


def test_an_identity_the_platform_refuses_is_reported(key_vault, resolver, monkeypatch):
    monkeypatch.setenv("AZURE_TOKEN_CREDENTIALS", "ManagedIdentityCredential")  # production's way to pin the chain
    key_vault.identity_refuses = True
    with pytest.raises(SecretUnavailable, match="no Azure identity could sign in to Key Vault"):
        resolver().get(KeyVaultReference("db-password"))


def test_no_value_reaches_a_log_or_an_error(key_vault, resolver, caplog):
    caplog.set_level(logging.DEBUG)  # the root logger: the SDK's azure.*, msal and urllib3 loggers included
    first, second = secret(), secret()
    key_vault.set_secret("db-password", first)
    key_vault.set_secret("other", second)
    key_vault.deny("other")
    vault = resolver(cache_ttl_s=0)
    assert vault.get(KeyVaultReference("db-password")) == first
    key_vault.set_secret("db-password", second)
    key_vault.throttle("db-password", times=1, retry_after_s=1)
    assert vault.get(KeyVaultReference("db-password")) == second
    errors = []
    for name in ("other", "missing"):
        with pytest.raises(SecretUnavailable) as raised:
            vault.get(KeyVaultReference(name))
        errors.append(raised.value)
    assert "read secret db-password from Key Vault" in caplog.text  # the capture did see the resolver and the SDK
    assert "azure.core.pipeline.policies.http_logging_policy" in caplog.text
    for value in (first, second):
        assert value not in caplog.text
        for error in errors:
            assert value not in f"{error.message} {error!r} {error.__cause__!r} {error.__context__!r}"


@pytest.mark.parametrize("reference", ["keyvault:db-password", f"keyvault:db-password/{HEX32}",
                                       f"keyvault:{'a' * 127}", f"keyvault:Db-Password-2/{HEX32.upper()}"])
def test_well_formed_references_are_accepted(reference):
    assert validate_reference(reference, "secret_refs.password") == reference


@pytest.mark.parametrize("reference", ["keyvault:", "keyvault:db_password", "keyvault:db.password",
                                       f"keyvault:{'a' * 128}", "keyvault:db-password/1234",
                                       f"keyvault:db-password/{HEX32}/x", "keyvault:db-password/", "keyvault:/x"])
def test_malformed_references_are_refused_with_the_syntax(reference):
    with pytest.raises(InvalidInput) as raised:
        validate_reference(reference, "secret_refs.password")
    assert raised.value.field == "secret_refs.password"
    assert "'keyvault:NAME/VERSION': NAME has 1 to 127 letters, digits and '-'" in raised.value.message


def test_env_names_take_no_slash():
    with pytest.raises(InvalidInput, match="looks like 'env:NAME'"):
        validate_reference("env:A/B", "secret_refs.password")


def test_a_vault_reference_without_a_vault_names_the_setting():
    store = SecretStore("key")
    with pytest.raises(SecretUnavailable, match="set CATALOG_KEYVAULT_URL"):
        store.resolve(None, "keyvault:db-password")  # type: ignore[arg-type]  # no catalog database needed


@pytest.mark.parametrize("url", ["http://kv.vault.azure.net/", "https://kv.vault.azure.net/secrets/x",
                                 "https://user@kv.vault.azure.net/", "kv.vault.azure.net"])
def test_the_vault_url_must_be_a_plain_https_url(url):
    with pytest.raises(ValueError, match="https://<name>.vault.azure.net/"):
        Settings(keyvault_url=url)
    assert Settings(keyvault_url="https://kv.vault.azure.net/").keyvault_url == "https://kv.vault.azure.net/"
