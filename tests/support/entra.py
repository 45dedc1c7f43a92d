"""A local stand-in for one Microsoft Entra ID tenant: real RS256 keys, access tokens shaped like Entra's, and the
tenant's JWKS served over real HTTP on 127.0.0.1.

Only the network edge is replaced: the verifier fetches the key set with PyJWT's real urllib client from
`{authority}/{tenant}/discovery/v2.0/keys`, exactly the path it derives for login.microsoftonline.com, and the tokens
are signed with `cryptography` RSA keys. The server counts its key-set requests (`hits`), can publish a new key set
while running (rotation) and can fail (`fail_with`), so tests see what the verifier asks of Microsoft.

    with entra_tenant(signing_key("k1")) as tenant:
        settings = Settings(**tenant.settings(entra_role_map={"Catalog.Admin": ["admin"]}))
        token = tenant.token(roles=["Catalog.Admin"])
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

TENANT_ID = "72f988bf-0000-4000-8000-0000000000ab"
API_CLIENT_ID = "6e74172b-0000-4000-8000-00000000c47a"
API_APP_ID_URI = "api://catalog-tests"
USER_OID = "00000000-0000-4000-8000-0000000000a1"
CLIENT_APP_ID = "1950a258-0000-4000-8000-0000000000c1"


@dataclass(frozen=True)
class SigningKey:
    """One RS256 key pair as Entra holds it: `kid` names it in the JWKS and in token headers."""

    kid: str
    private_key: rsa.RSAPrivateKey

    def jwk(self) -> dict[str, Any]:
        """The public half, as the tenant's JWKS lists it."""
        public = json.loads(RSAAlgorithm.to_jwk(self.private_key.public_key()))
        return {"kty": "RSA", "use": "sig", "kid": self.kid, "n": public["n"], "e": public["e"]}

    def public_pem(self) -> bytes:
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)

    def sign(self, claims: dict[str, Any], *, kid: str | None = None, headers: dict[str, Any] | None = None) -> str:
        """An RS256 token over `claims`, its header naming `kid` (default: this key's own); `headers` add or replace
        header fields, a field given as None is left out."""
        header = {"typ": "JWT", "kid": self.kid if kid is None else kid} | (headers or {})
        header = {k: v for k, v in header.items() if v is not None}
        return jwt.encode(claims, self.private_key, algorithm="RS256", headers=header)


@cache
def signing_key(kid: str) -> SigningKey:
    """The test key named `kid`, generated once per test session (RSA generation is the slow part)."""
    return SigningKey(kid, rsa.generate_private_key(public_exponent=65537, key_size=2048))


def access_token_claims(*, issuer: str, audience: str, lifetime_s: float = 3600, issued_ago_s: float = 60,
                        **claims: Any) -> dict[str, Any]:
    """The claims of a delegated v2 access token for a user, as Entra issues them; `claims` add or replace
    (`roles=[...]`, `groups=[...]`, `exp=...`); a claim given as None is left out."""
    now = int(time.time())
    base: dict[str, Any] = {
        "aud": audience, "iss": issuer, "iat": now - int(issued_ago_s), "nbf": now - int(issued_ago_s),
        "exp": now - int(issued_ago_s) + int(lifetime_s), "aio": uuid.uuid4().hex, "azp": CLIENT_APP_ID,
        "azpacr": "0", "name": "Ada Lovelace", "oid": USER_OID, "preferred_username": "ada@contoso.example",
        "rh": "0.AAAA", "scp": "Catalog.Access", "sub": "pairwise-subject-of-ada", "tid": TENANT_ID,
        "uti": uuid.uuid4().hex[:22], "ver": "2.0",
    }
    return {k: v for k, v in (base | claims).items() if v is not None}


class EntraTenant:
    """The stand-in tenant behind `entra_tenant()`: its URLs, the key set it publishes, and how often it was asked."""

    def __init__(self, base_url: str, keys: list[SigningKey]):
        self.authority = base_url
        self.tenant_id = TENANT_ID
        self.jwks_path = f"/{TENANT_ID}/discovery/v2.0/keys"
        self.jwks_url = base_url + self.jwks_path
        self.issuer = f"{base_url}/{TENANT_ID}/v2.0"
        self.issuer_v1 = f"https://sts.windows.net/{TENANT_ID}/"
        self.audience = API_CLIENT_ID
        self.signing_key = keys[0]
        self.fail_with: int | None = None
        """An HTTP status the key-set path answers with `fail_body` instead of the keys (e.g. 503), while set."""
        self.fail_body = b'{"error":"temporarily_unavailable"}'

        self._keys = list(keys)
        self._hits = 0
        self._lock = threading.Lock()

    def publish(self, *keys: SigningKey) -> None:
        """Serve this key set from now on (rotation: add the next key, later drop the old one)."""
        with self._lock:
            self._keys = list(keys)

    @property
    def hits(self) -> int:
        """Requests for the key set so far, failed ones included."""
        with self._lock:
            return self._hits

    def jwks(self) -> tuple[int, bytes]:
        with self._lock:
            self._hits += 1
            if self.fail_with is not None:
                return self.fail_with, self.fail_body
            return 200, json.dumps({"keys": [key.jwk() for key in self._keys]}).encode()

    def claims(self, **claims: Any) -> dict[str, Any]:
        """Claims of a valid v2 access token of this tenant for the catalog's API (see `access_token_claims`)."""
        return access_token_claims(issuer=self.issuer, audience=self.audience, **claims)

    def token(self, key: SigningKey | None = None, **claims: Any) -> str:
        """A valid v2 access token signed with `key` (default: the tenant's first key)."""
        return (key or self.signing_key).sign(self.claims(**claims))

    def settings(self, **overrides: Any) -> dict[str, Any]:
        """`Settings` keyword arguments that point the catalog at this tenant, accepting the API's client id and
        Application ID URI as audiences."""
        return {
            "entra_tenant_id": self.tenant_id, "entra_authority": self.authority,
            "entra_audience": [API_CLIENT_ID, API_APP_ID_URI],
        } | overrides


@contextmanager
def entra_tenant(*keys: SigningKey) -> Iterator[EntraTenant]:
    """Runs the stand-in tenant on a free port of 127.0.0.1, publishing `keys` (default: `signing_key("k1")`)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _JwksHandler)
    server.daemon_threads = True
    tenant = EntraTenant(f"http://127.0.0.1:{server.server_address[1]}", list(keys) or [signing_key("k1")])
    server.tenant = tenant  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="entra-jwks",
                              daemon=True)
    thread.start()
    try:
        yield tenant
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


class _JwksHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        tenant: EntraTenant = self.server.tenant  # type: ignore[attr-defined]
        status, body = tenant.jwks() if self.path == tenant.jwks_path else (404, b'{"error":"not_found"}')
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: tests read `hits`, not the access log
