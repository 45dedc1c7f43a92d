"""Request authentication for SuiteTalk REST.

- Token-based authentication is OAuth 1.0a with HMAC-SHA256 and the account id as `realm`; oauthlib signs.
- OAuth 2.0 client credentials: a JWT assertion (header `kid` = certificate id, claims `iss` = client id, `scope`,
  `aud` = the token endpoint, `iat`, `exp`) signed with the certificate's private key is exchanged for a bearer
  access token. PyJWT is not a declared dependency (only a transitive one), and `cryptography` signs PS256,
  RS256 and ES256 directly.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from oauthlib.oauth1 import SIGNATURE_HMAC_SHA256, Client

from crawlers.errors import AuthenticationFailed, InvalidSourceConfig
from crawlers.netsuite.config import NetsuiteConfig

TOKEN_PATH = "/services/rest/auth/oauth2/v1/token"
CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
SCOPES = ("rest_webservices",)
ASSERTION_LIFETIME_S = 300  # NetSuite accepts at most one hour between `iat` and `exp`
EXPIRY_MARGIN_S = 60  # renew a little early rather than send a token that expires in flight


class TbaSigner:
    """Signs each request with OAuth 1.0a (HMAC-SHA256): a fresh nonce and timestamp every time, body hash included."""

    def __init__(self, config: NetsuiteConfig) -> None:
        assert config.consumer_secret is not None and config.token_secret is not None
        self._client = Client(
            config.consumer_key,
            client_secret=config.consumer_secret.get_secret_value(),
            resource_owner_key=config.token_id,
            resource_owner_secret=config.token_secret.get_secret_value(),
            signature_method=SIGNATURE_HMAC_SHA256,
            realm=config.realm,
        )

    def authorization(self, method: str, url: str, body: str | None, content_type: str | None) -> str:
        headers = {"Content-Type": content_type} if content_type else {}
        _, signed, _ = self._client.sign(url, http_method=method, body=body, headers=headers)
        return signed["Authorization"]


@dataclass(slots=True)
class _AccessToken:
    value: str
    expires_at: float


class ClientCredentials:
    """Holds the OAuth 2.0 access token of a client-credentials integration and builds the assertion to renew it."""

    def __init__(self, config: NetsuiteConfig, clock=time.time) -> None:
        assert config.private_key is not None
        self._config = config
        self._clock = clock
        self._key = load_private_key(config.private_key.get_secret_value())
        self.algorithm = jwt_algorithm_for(self._key, config.jwt_algorithm)
        self._token: _AccessToken | None = None

    def current(self) -> str | None:
        """The cached access token, or None when there is none or it is about to expire."""
        if self._token is None or self._clock() >= self._token.expires_at - EXPIRY_MARGIN_S:
            return None
        return self._token.value

    def invalidate(self) -> None:
        self._token = None

    def token_request_form(self, token_url: str) -> dict[str, str]:
        return {
            "grant_type": "client_credentials",
            "client_assertion_type": CLIENT_ASSERTION_TYPE,
            "client_assertion": self.assertion(token_url),
        }

    def assertion(self, token_url: str) -> str:
        now = int(self._clock())
        header = {"alg": self.algorithm, "typ": "JWT", "kid": self._config.certificate_id}
        claims = {
            "iss": self._config.client_id,
            "scope": list(SCOPES),
            "aud": token_url,
            "iat": now,
            "exp": now + ASSERTION_LIFETIME_S,
            "jti": uuid.uuid4().hex,
        }
        return sign_jwt(header, claims, self._key, self.algorithm)

    def store(self, payload: Any) -> str:
        """Keep the token from a token-endpoint answer (`expires_in` arrives as a string from NetSuite)."""
        if not isinstance(payload, dict) or not isinstance(payload.get("access_token"), str):
            raise AuthenticationFailed(
                "NetSuite's token endpoint answered without an access token", field="secrets.private_key"
            )
        try:
            lifetime = float(payload.get("expires_in", 3600))
        except (TypeError, ValueError):
            lifetime = 3600.0
        self._token = _AccessToken(payload["access_token"], self._clock() + lifetime)
        return self._token.value


def load_private_key(pem: str) -> rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey:
    try:
        key = serialization.load_pem_private_key(pem.strip().encode(), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise InvalidSourceConfig(
            "private_key is not an unencrypted PEM private key (-----BEGIN PRIVATE KEY----- ...)",
            field="secrets.private_key",
        ) from None
    if not isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
        raise InvalidSourceConfig("private_key must be an RSA or EC (P-256) key", field="secrets.private_key")
    return key


def jwt_algorithm_for(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, wanted: str | None) -> str:
    if isinstance(key, ec.EllipticCurvePrivateKey):
        if not isinstance(key.curve, ec.SECP256R1):
            raise InvalidSourceConfig("an EC private_key must use the P-256 curve (ES256)", field="secrets.private_key")
        if wanted not in (None, "ES256"):
            raise InvalidSourceConfig(f"an EC key signs ES256, not {wanted}", field="config.jwt_algorithm")
        return "ES256"
    if wanted == "ES256":
        raise InvalidSourceConfig("ES256 needs an EC P-256 key, but private_key is RSA", field="config.jwt_algorithm")
    return wanted or "PS256"


def sign_jwt(header: dict, claims: dict, key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, algorithm: str) -> str:
    """A compact JWS (RFC 7515) over the JSON header and claims."""
    signing_input = f"{_b64(_json(header))}.{_b64(_json(claims))}".encode()
    if algorithm == "ES256":
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        r, s = decode_dss_signature(key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
        signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")  # JWS wants raw R || S, not DER
    else:
        assert isinstance(key, rsa.RSAPrivateKey)
        pad = (
            padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=hashes.SHA256.digest_size)
            if algorithm == "PS256"
            else padding.PKCS1v15()
        )
        signature = key.sign(signing_input, pad, hashes.SHA256())
    return f"{signing_input.decode()}.{_b64(signature)}"


def _json(value: dict) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
