"""Entra ID access tokens: RS256 tokens minted with real keys, verified against a JWKS served over local HTTP."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from catalog_api.security.entra import EntraVerifier, InvalidToken
from catalog_api.security.identity import Identity
from catalog_api.settings import Settings
from tests.support.entra import (
    API_APP_ID_URI,
    CLIENT_APP_ID,
    TENANT_ID,
    USER_OID,
    access_token_claims,
    entra_tenant,
    signing_key,
)

GROUP_ANALYSTS = "5c1f0e4a-0000-4000-8000-0000000000f1"


@pytest.fixture
def tenant():
    with entra_tenant(signing_key("k1")) as tenant:
        yield tenant


@pytest.fixture
def make_verifier(tenant, clock, tmp_path):
    def make(**settings) -> EntraVerifier:
        return EntraVerifier.from_settings(Settings(home=tmp_path, **tenant.settings(**settings)), clock=clock)

    return make


@pytest.fixture
def verifier(make_verifier):
    return make_verifier(entra_role_map={"Catalog.Admin": ["admin", "pii:read"], "Catalog.Viewer": ["viewer"]},
                         entra_group_map={GROUP_ANALYSTS.upper(): ["curator"]})


def refused(verifier: EntraVerifier, token: str) -> str:
    with pytest.raises(InvalidToken) as raised:
        verifier.verify(token)
    assert raised.value.status == 401 and raised.value.code == "invalid_token"
    return raised.value.reason


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hand_made_token(header: dict, claims: dict, sign) -> str:
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    return f"{signing_input}.{_b64(sign(signing_input.encode()))}"


# -- valid tokens ------------------------------------------------------------------------------------------------

def test_a_valid_token_maps_its_app_roles(tenant, verifier):
    identity = verifier.verify(tenant.token(roles=["Catalog.Admin", "Some.Other.App.Role"]))
    assert identity == Identity(subject=USER_OID, name="ada@contoso.example", method="entra",
                                roles=frozenset({"admin", "pii:read"}))
    assert identity.actor == f"entra:{USER_OID}"


def test_group_object_ids_map_to_roles_whatever_their_case(tenant, verifier):
    identity = verifier.verify(tenant.token(groups=[GROUP_ANALYSTS, "8a0a0000-0000-4000-8000-000000000000"],
                                            roles=["Catalog.Viewer"]))
    assert identity.roles == {"curator", "viewer"}


def test_a_token_granting_no_mapped_role_is_an_identity_without_roles(tenant, verifier):
    identity = verifier.verify(tenant.token(roles=["Unmapped.Role"], groups=["11111111-0000-4000-8000-000000000000"]))
    assert identity.subject == USER_OID and identity.roles == frozenset() and identity.permissions == frozenset()


def test_a_v1_token_for_the_application_id_uri(tenant, verifier):
    claims = access_token_claims(issuer=tenant.issuer_v1, audience=API_APP_ID_URI, ver="1.0",
                                 preferred_username=None, azp=None, appid=CLIENT_APP_ID,
                                 upn="ada@contoso.example", unique_name="ada@contoso.example", roles=["Catalog.Viewer"])
    identity = verifier.verify(tenant.signing_key.sign(claims))
    assert (identity.name, identity.roles) == ("ada@contoso.example", {"viewer"})


def test_an_app_only_token_is_named_by_its_client_id(tenant, verifier):
    daemon_oid = "00000000-0000-4000-8000-00000000da01"
    identity = verifier.verify(tenant.token(oid=daemon_oid, sub=daemon_oid, name=None, preferred_username=None,
                                            scp=None, idtyp="app", roles=["Catalog.Viewer"]))
    assert (identity.subject, identity.name, identity.roles) == (daemon_oid, CLIENT_APP_ID, {"viewer"})


def test_without_oid_the_subject_is_sub(tenant, verifier):
    assert verifier.verify(tenant.token(oid=None)).subject == "pairwise-subject-of-ada"


def test_clock_skew_within_the_leeway_is_tolerated(tenant, verifier):
    verifier.verify(tenant.token(lifetime_s=3600, issued_ago_s=3600 + 30))  # expired 30 s ago, leeway 60 s


# -- refused tokens ----------------------------------------------------------------------------------------------

def test_an_expired_token_is_refused(tenant, verifier):
    assert refused(verifier, tenant.token(lifetime_s=3600, issued_ago_s=3600 + 120)) == "token expired"


def test_a_token_not_yet_valid_is_refused(tenant, verifier):
    assert refused(verifier, tenant.token(nbf=int(time.time()) + 600)) == "token not yet valid"


def test_a_token_for_another_audience_is_refused(tenant, verifier):
    assert refused(verifier, tenant.token(aud="api://someone-else")) == "wrong audience"


@pytest.mark.parametrize("issuer", [
    "https://login.microsoftonline.com/00000000-0000-4000-8000-0000000000ff/v2.0",  # another tenant
    "https://sts.windows.net/00000000-0000-4000-8000-0000000000ff/",
    f"https://evil.example/{TENANT_ID}/v2.0",
])
def test_a_token_from_another_issuer_is_refused(tenant, verifier, issuer):
    assert refused(verifier, tenant.token(iss=issuer)) == "wrong issuer"


@pytest.mark.parametrize("claim", ["exp", "iat", "iss", "aud"])
def test_a_token_lacking_a_required_claim_is_refused(tenant, verifier, claim):
    assert refused(verifier, tenant.token(**{claim: None})) == f"token lacks the {claim} claim"


def test_a_token_naming_a_key_the_tenant_does_not_publish_is_refused(tenant, verifier):
    assert refused(verifier, signing_key("stranger").sign(tenant.claims())) == "unknown signing key"


def test_a_token_signed_by_another_key_under_a_published_kid_is_refused(tenant, verifier):
    assert refused(verifier, signing_key("stranger").sign(tenant.claims(), kid="k1")) == "bad signature"


def test_a_tampered_payload_is_refused(tenant, verifier):
    header, _, signature = tenant.token(roles=["Catalog.Viewer"]).split(".")
    forged = _b64(json.dumps(tenant.claims(roles=["Catalog.Admin"])).encode())
    assert refused(verifier, f"{header}.{forged}.{signature}") == "bad signature"


def test_hs256_signed_with_the_public_key_is_refused_before_any_key_is_fetched(tenant, verifier):
    secret = tenant.signing_key.public_pem()
    token = hand_made_token({"alg": "HS256", "typ": "JWT", "kid": "k1"}, tenant.claims(roles=["Catalog.Admin"]),
                            lambda data: hmac.new(secret, data, hashlib.sha256).digest())
    assert refused(verifier, token) == "algorithm not allowed"
    assert tenant.hits == 0


def test_an_unsigned_token_is_refused(tenant, verifier):
    unsigned = hand_made_token({"alg": "none", "typ": "JWT", "kid": "k1"}, tenant.claims(), lambda data: b"")
    assert refused(verifier, unsigned) == "algorithm not allowed"
    assert refused(verifier, tenant.token().rsplit(".", 1)[0] + ".") == "bad signature"


def test_a_token_without_kid_is_refused(tenant, verifier):
    token = tenant.signing_key.sign(tenant.claims(), headers={"kid": None})
    assert refused(verifier, token) == "token names no signing key"


@pytest.mark.parametrize("token", ["", "not-a-token", "a.b.c", "e30." * 2 + "x", "x" * 20_000,
                                   _b64(b"[" * 5000) + ".e30.c2ln"])
def test_malformed_tokens_are_refused(verifier, token):
    assert refused(verifier, token) == "malformed token"


# -- signing keys: caching, rotation, rate limiting, outages -----------------------------------------------------

def test_keys_are_fetched_once_and_then_served_from_memory(tenant, verifier):
    for _ in range(20):
        verifier.verify(tenant.token())
    assert tenant.hits == 1


def test_concurrent_first_requests_fetch_the_keys_once(tenant, verifier):
    tokens = [tenant.token() for _ in range(16)]
    with ThreadPoolExecutor(8) as pool:
        assert all(i.subject == USER_OID for i in pool.map(verifier.verify, tokens))
    assert tenant.hits == 1


def test_keys_are_fetched_again_once_they_are_old(tenant, verifier, clock):
    verifier.verify(tenant.token())
    clock.advance(3599)
    verifier.verify(tenant.token())
    assert tenant.hits == 1
    clock.advance(2)
    verifier.verify(tenant.token())
    assert tenant.hits == 2


def test_a_rotated_key_is_picked_up_and_a_withdrawn_one_refused_without_a_restart(tenant, make_verifier, clock):
    verifier = make_verifier(entra_jwks_refresh_interval_s=60)
    old, new = signing_key("k1"), signing_key("k2")
    old_token = tenant.token(old)
    verifier.verify(old_token)

    tenant.publish(old, new)  # Entra publishes the next key before signing with it
    clock.advance(61)
    assert verifier.verify(tenant.token(new)).subject == USER_OID  # unknown kid: one refresh finds it
    assert tenant.hits == 2

    tenant.publish(new)  # the old key is withdrawn
    assert verifier.verify(old_token)  # still held until the key set is fetched again
    clock.advance(61)
    assert refused(verifier, signing_key("k3").sign(tenant.claims())) == "unknown signing key"  # triggers a fetch
    assert tenant.hits == 3
    assert refused(verifier, old_token) == "unknown signing key"
    assert verifier.verify(tenant.token(new))


def test_made_up_kids_cannot_make_the_verifier_hammer_the_jwks_endpoint(tenant, verifier, clock):
    verifier.verify(tenant.token())
    made_up = [signing_key("stranger").sign(tenant.claims(), kid=f"made-up-{i}") for i in range(50)]
    for token in made_up:
        assert refused(verifier, token) == "unknown signing key"
    assert tenant.hits == 1  # the key set was fetched a moment ago: no refresh within the interval

    clock.advance(301)
    for token in made_up:
        refused(verifier, token)
    assert tenant.hits == 2  # one refresh per interval, whatever the number of unknown kids


def test_an_unreachable_key_set_refuses_tokens_with_a_log_line(tenant, verifier, caplog):
    tenant.fail_with = 503
    caplog.set_level(logging.WARNING, logger="catalog_api.security.entra")
    assert refused(verifier, tenant.token()) == "signing keys unavailable"
    assert "signing keys could not be fetched" in caplog.text and tenant.jwks_url in caplog.text
    assert refused(verifier, tenant.token()) == "signing keys unavailable"
    assert tenant.hits == 1  # a failed fetch is not retried within the refresh interval


def test_an_outage_keeps_the_keys_already_held(tenant, verifier, clock, caplog):
    verifier.verify(tenant.token())
    tenant.fail_with = 500
    clock.advance(3601)  # the keys are due for a refresh, which fails
    caplog.set_level(logging.WARNING, logger="catalog_api.security.entra")
    assert verifier.verify(tenant.token()).subject == USER_OID
    assert "keeping the 1 keys held" in caplog.text
    assert tenant.hits == 2

    tenant.fail_with = None
    clock.advance(301)
    verifier.verify(tenant.token())
    assert tenant.hits == 3


@pytest.mark.parametrize("body", [
    b"<html>Service Unavailable</html>",
    b'{"keys": []}',
    b'["not", "a", "key", "set"]',
    b'{"keys": [{"kty": "oct", "kid": "k1", "k": "c2VjcmV0"}]}',  # an HMAC key must never verify anything
])
def test_a_body_that_is_no_rsa_key_set_counts_as_unavailable(tenant, verifier, caplog, body):
    tenant.fail_with, tenant.fail_body = 200, body
    caplog.set_level(logging.WARNING, logger="catalog_api.security.entra")
    assert refused(verifier, tenant.token()) == "signing keys unavailable"
    assert "Entra ID signing keys" in caplog.text


def test_a_closed_port_counts_as_unavailable(clock):
    verifier = EntraVerifier(audience=["aud"], issuers=["iss"], jwks_url="http://127.0.0.1:9/keys", clock=clock,
                             jwks_timeout_s=2)  # the discard port: nothing listens
    token = signing_key("k1").sign(access_token_claims(issuer="iss", audience="aud"))
    assert refused(verifier, token) == "signing keys unavailable"


# -- configuration -----------------------------------------------------------------------------------------------

def test_the_default_settings_derive_the_public_cloud_endpoints(tmp_path):
    verifier = EntraVerifier.from_settings(Settings(home=tmp_path, entra_tenant_id=TENANT_ID, entra_audience=["a"]))
    assert verifier.keys.url == f"https://login.microsoftonline.com/{TENANT_ID}/discovery/v2.0/keys"
    assert verifier.issuers == {f"https://login.microsoftonline.com/{TENANT_ID}/v2.0",
                                f"https://sts.windows.net/{TENANT_ID}/"}


def test_explicit_issuers_replace_the_derived_ones(tenant, make_verifier):
    verifier = make_verifier(entra_issuers=["https://sts.chinacloudapi.cn/tenant/"])
    assert refused(verifier, tenant.token()) == "wrong issuer"
    assert verifier.verify(tenant.token(iss="https://sts.chinacloudapi.cn/tenant/"))


@pytest.mark.parametrize(("settings", "message"), [
    ({"entra_tenant_id": None}, "CATALOG_ENTRA_TENANT_ID is not set"),
    ({"entra_tenant_id": "common"}, "multi-tenant"),
    ({"entra_audience": []}, "audience"),
    ({"entra_role_map": {"Catalog.Boss": ["superuser"]}}, "unknown catalog roles ['superuser']"),
    ({"entra_group_map": {GROUP_ANALYSTS: ["viewer", "root"]}}, "unknown catalog roles ['root']"),
])
def test_an_unusable_configuration_is_refused_at_start(make_verifier, settings, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        make_verifier(**settings)


def test_the_default_role_map_names_the_documented_app_roles(tenant, make_verifier):
    identity = make_verifier().verify(tenant.token(roles=["Catalog.Operator", "Catalog.PiiReader"]))
    assert identity.roles == {"operator", "pii:read"}
