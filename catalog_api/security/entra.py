"""Microsoft Entra ID bearer tokens: an access token checked against the tenant's signing keys, turned into an
`Identity`.

`EntraVerifier.verify(token)` checks, and names in `InvalidToken.reason` what failed (short, and never a claim's
value):
- the header: RS256 and nothing else, decided before any key is looked up, so `alg: none`, or HS256 signed with the
  public key as an HMAC secret, never reaches a key; a `kid`;
- the signature, with the tenant's published key of that `kid`;
- `exp` and `iat` (required) and `nbf` (when present), with `entra_clock_leeway_s` of tolerance;
- `aud`: one of `entra_audience`; `iss`: the tenant's v2 (`{authority}/{tenant}/v2.0`) or v1
  (`https://sts.windows.net/{tenant}/`) issuer, or one of `entra_issuers` when they are set.

Signing keys (`KeySet`). PyJWT's `PyJWKClient` fetches and parses the JWKS; the refresh policy is ours, as Microsoft
asks of a resource server: keys are fetched when first needed, again once `entra_jwks_cache_s` old, and again at once
when a token names a `kid` we do not hold (Entra rotates without notice). No fetch, whatever asks for it, starts
within `entra_jwks_refresh_interval_s` of the previous attempt, so tokens with made-up `kid`s cannot make us hammer
the endpoint nor stall requests on it. A failed fetch is logged and the keys already held stay in use; with none,
tokens are refused as "signing keys unavailable".

Roles: each value of the `roles` claim (app roles, for users and for applications) is looked up in
`entra_role_map`, each object id of the `groups` claim in `entra_group_map`. A token granting no mapped role still
yields an `Identity`, with no roles: authenticated, not authorised, which the transport answers with 403.
Unmapped values are ignored. When a user is in too many groups Entra leaves `groups` out of the token (the "overage"
claims `_claim_names`/`_claim_sources` point at Microsoft Graph instead); the catalog does not call Graph, so only
app roles (or groups assigned to the application, which Entra can emit alone) work for such users.
"""

from __future__ import annotations

import http.client
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import jwt
from jwt import PyJWK, PyJWKClient

from catalog_api.errors import CatalogError
from catalog_api.security.identity import ROLE_NAMES, Identity
from catalog_api.settings import Settings

log = logging.getLogger(__name__)

ALGORITHM = "RS256"
MAX_TOKEN_CHARS = 16_384
"""Entra access tokens stay well under 8 KiB (at most 200 group ids); anything larger is refused unparsed."""
_MULTI_TENANT = frozenset({"common", "organizations", "consumers"})


class InvalidToken(CatalogError):
    """A bearer token was refused; `reason` says why in a few words a client may see ("token expired", "wrong
    audience", "unknown signing key", ...), never echoing the token or its claims."""

    code = "invalid_token"
    status = 401

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def default_jwks_url(authority: str, tenant_id: str) -> str:
    return f"{authority.rstrip('/')}/{tenant_id}/discovery/v2.0/keys"


def default_issuers(authority: str, tenant_id: str) -> list[str]:
    """The tenant's public-cloud issuers: v2 tokens name the authority; v1 tokens (issued when the API's registration
    leaves `accessTokenAcceptedVersion` null or 1) name sts.windows.net. Sovereign clouds set `entra_issuers`."""
    return [f"{authority.rstrip('/')}/{tenant_id}/v2.0", f"https://sts.windows.net/{tenant_id}/"]


class KeySet:
    """The tenant's RSA signing keys by `kid`, fetched through `PyJWKClient` under the refresh policy of the module
    docstring. Thread-safe; `key()` does network I/O only when a fetch is due."""

    def __init__(self, url: str, *, max_age_s: float, refresh_interval_s: float, timeout_s: float,
                 clock: Callable[[], float] = time.monotonic):
        # PyJWKClient's own cache is off: it would re-fetch on every request once expired while Microsoft is down,
        # and drop the keys we hold. We keep the last good set and decide when to fetch.
        self._client = PyJWKClient(url, cache_jwk_set=False, timeout=timeout_s)
        self.url = url
        self._max_age_s = max_age_s
        self._refresh_interval_s = refresh_interval_s
        self._clock = clock
        self._keys: dict[str, PyJWK] = {}
        self._fetched_at: float | None = None
        self._attempted_at: float | None = None
        self._lock = threading.Lock()

    def key(self, kid: str) -> PyJWK:
        with self._lock:
            attempted = False
            if self._fetched_at is None or self._clock() - self._fetched_at >= self._max_age_s:
                attempted = self._fetch()
            if kid not in self._keys and not attempted:
                self._fetch()
            if not self._keys:
                raise InvalidToken("signing keys unavailable")
            if kid not in self._keys:
                raise InvalidToken("unknown signing key")
            return self._keys[kid]

    def _fetch(self) -> bool:
        """Fetches the keys unless the last attempt is too recent; says whether it tried."""
        now = self._clock()
        if self._attempted_at is not None and now - self._attempted_at < self._refresh_interval_s:
            return False
        self._attempted_at = now
        try:
            keys = self._client.get_signing_keys()
        except (jwt.PyJWTError, ValueError, OSError, http.client.HTTPException) as error:
            # Network or HTTP errors, a body that is not JSON or holds no usable key: PyJWT versions differ in
            # which of these they wrap in PyJWKClientError.
            log.warning("Entra ID signing keys could not be fetched from %s (%s); keeping the %d keys held",
                        self.url, error, len(self._keys))
            return True
        fetched = {k.key_id: k for k in keys if k.key_id and k.key_type == "RSA"}
        if not fetched:
            log.warning("Entra ID signing keys at %s hold no RSA key; keeping the %d keys held",
                        self.url, len(self._keys))
            return True
        self._keys = fetched
        self._fetched_at = now
        return True


def _map_roles(values: Any, mapping: Mapping[str, frozenset[str]], *, fold: bool = False) -> set[str]:
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, list):
        return set()
    granted: set[str] = set()
    for value in values:
        if isinstance(value, str):
            granted |= mapping.get(value.lower() if fold else value, frozenset())
    return granted


def _checked_map(name: str, mapping: Mapping[str, Iterable[str]], *, fold: bool = False) -> dict[str, frozenset[str]]:
    checked = {}
    for key, roles in mapping.items():
        unknown = sorted(set(roles) - set(ROLE_NAMES))
        if unknown:
            raise ValueError(f"{name}[{key!r}]: unknown catalog roles {unknown}; known: {', '.join(ROLE_NAMES)}")
        checked[key.lower() if fold else key] = frozenset(roles)
    return checked


_REASONS: tuple[tuple[type[jwt.PyJWTError], str], ...] = (
    (jwt.ExpiredSignatureError, "token expired"),
    (jwt.ImmatureSignatureError, "token not yet valid"),
    (jwt.InvalidAudienceError, "wrong audience"),
    (jwt.InvalidIssuerError, "wrong issuer"),
    (jwt.InvalidIssuedAtError, "invalid issue time"),
    (jwt.InvalidSignatureError, "bad signature"),
    (jwt.InvalidAlgorithmError, "algorithm not allowed"),
    (jwt.DecodeError, "malformed token"),
)


def _reason(error: jwt.PyJWTError) -> str:
    if isinstance(error, jwt.MissingRequiredClaimError):
        return f"token lacks the {error.claim} claim"
    return next((reason for kind, reason in _REASONS if isinstance(error, kind)), "invalid token")


class EntraVerifier:
    """Verifies Entra ID access tokens of one tenant and maps them to an `Identity` (see the module docstring).

    `verify()` is synchronous and, when a fetch is due, fetches the signing keys (blocking urllib I/O of at most
    `jwks_timeout_s`, during which other verifications wait); async callers run it in a worker thread
    (`anyio.to_thread.run_sync`, starlette's `run_in_threadpool`). Between fetches it does no I/O: one RSA signature
    check over the keys held in memory.
    Build one per process and share it: the key cache and the fetch rate limit live in the instance.
    """

    def __init__(self, *, audience: Sequence[str], issuers: Sequence[str], jwks_url: str,
                 role_map: Mapping[str, Iterable[str]] | None = None,
                 group_map: Mapping[str, Iterable[str]] | None = None,
                 jwks_cache_s: float = 3600, jwks_refresh_interval_s: float = 300, jwks_timeout_s: float = 5,
                 leeway_s: float = 60, clock: Callable[[], float] = time.monotonic):
        if not audience:
            raise ValueError("Entra ID: at least one accepted audience is required (CATALOG_ENTRA_AUDIENCE)")
        if not issuers:
            raise ValueError("Entra ID: at least one accepted issuer is required")
        self.audience = tuple(audience)
        self.issuers = frozenset(issuers)
        self.leeway_s = leeway_s
        self._role_map = _checked_map("entra_role_map", role_map or {})
        # Group object ids are GUIDs, which Entra writes in lower case but people paste in any case.
        self._group_map = _checked_map("entra_group_map", group_map or {}, fold=True)
        self.keys = KeySet(jwks_url, max_age_s=jwks_cache_s, refresh_interval_s=jwks_refresh_interval_s,
                           timeout_s=jwks_timeout_s, clock=clock)

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> EntraVerifier:
        """The verifier `CATALOG_ENTRA_*` describe; `overrides` replace constructor arguments (e.g. `clock`)."""
        tenant = settings.entra_tenant_id
        if not tenant:
            raise ValueError("Entra ID: CATALOG_ENTRA_TENANT_ID is not set")
        if tenant.lower() in _MULTI_TENANT and not settings.entra_issuers:
            # The issuer would be the signing-in user's tenant: any Entra tenant's tokens would pass.
            raise ValueError(f"Entra ID: tenant {tenant!r} is multi-tenant; set the directory (tenant) id, or the "
                             "exact accepted issuers in CATALOG_ENTRA_ISSUERS")
        arguments: dict[str, Any] = {
            "audience": settings.entra_audience,
            "issuers": settings.entra_issuers or default_issuers(settings.entra_authority, tenant),
            "jwks_url": settings.entra_jwks_url or default_jwks_url(settings.entra_authority, tenant),
            "role_map": settings.entra_role_map, "group_map": settings.entra_group_map,
            "jwks_cache_s": settings.entra_jwks_cache_s,
            "jwks_refresh_interval_s": settings.entra_jwks_refresh_interval_s,
            "jwks_timeout_s": settings.entra_jwks_timeout_s, "leeway_s": settings.entra_clock_leeway_s,
        }
        return cls(**(arguments | overrides))

    def verify(self, token: str) -> Identity:
        """The identity a valid access token carries; `InvalidToken` otherwise."""
        return self.identity_of(self.claims(token))

    def claims(self, token: str) -> dict[str, Any]:
        """The claims of a valid access token, all checks of the module docstring passed; `InvalidToken` otherwise."""
        if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_CHARS:
            raise InvalidToken("malformed token")
        try:
            header = jwt.get_unverified_header(token)
        except (jwt.PyJWTError, RecursionError, ValueError):
            raise InvalidToken("malformed token") from None
        if header.get("alg") != ALGORITHM:
            raise InvalidToken("algorithm not allowed")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise InvalidToken("token names no signing key")
        key = self.keys.key(kid)
        try:
            claims = jwt.decode(
                token, key.key, algorithms=[ALGORITHM], audience=self.audience, leeway=self.leeway_s,
                options={"require": ["exp", "iat", "iss", "aud"]},
            )
        except jwt.PyJWTError as error:
            raise InvalidToken(_reason(error)) from None
        # Checked here rather than by PyJWT: older PyJWT releases compare `iss` with a single string.
        if claims.get("iss") not in self.issuers:
            raise InvalidToken("wrong issuer")
        return claims

    def identity_of(self, claims: Mapping[str, Any]) -> Identity:
        subject = claims.get("oid") or claims.get("sub")
        if not isinstance(subject, str) or not subject:
            raise InvalidToken("token lacks the oid claim")
        # v2 user tokens carry preferred_username, v1 ones upn/unique_name; app-only tokens only the client id.
        name = next((value for claim in ("preferred_username", "upn", "unique_name", "name", "azp", "appid")
                     if isinstance(value := claims.get(claim), str) and value), subject)
        roles = _map_roles(claims.get("roles"), self._role_map)
        roles |= _map_roles(claims.get("groups"), self._group_map, fold=True)
        if "groups" not in claims and ("_claim_names" in claims or claims.get("hasgroups")):
            log.debug("Entra ID token of %s has too many groups to list them; only its app roles are mapped", subject)
        return Identity(subject=subject, name=name, method="entra", roles=frozenset(roles))
