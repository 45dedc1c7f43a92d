"""From credentials to an `Identity`: the one decision every transport (REST, GraphQL over HTTP and WebSocket,
SSE) delegates to.

A caller presents an API key (`Authorization: Bearer cat_…` or `X-API-Key: cat_…`) or a Microsoft Entra ID
access token (`Authorization: Bearer <JWT>`). With `CATALOG_AUTH=none` every caller is the local operator; that
mode is refused off a loopback address unless forced (`check_exposure`).
"""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass
from typing import Any

from catalog_api.errors import Forbidden, Unauthenticated
from catalog_api.security.entra import EntraVerifier, InvalidToken
from catalog_api.security.identity import LOCAL_OPERATOR, Identity, Permission
from catalog_api.services import api_keys
from catalog_api.services.context import ServiceContext
from catalog_api.settings import Settings

log = logging.getLogger(__name__)

ANONYMOUS = Identity(subject="anonymous", name="anonymous", method="none", roles=frozenset())
"""A caller who presented no credentials while authentication is required: it may reach only public routes."""

CREDENTIALS_HINT = "send `Authorization: Bearer <API key or Entra ID access token>`"


class UnsafeExposure(RuntimeError):
    """The service would accept anonymous callers on a network address."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_exposure(settings: Settings, host: str | None = None) -> None:
    """Refuses to serve without authentication on anything but a loopback address, unless that was forced."""
    host = host or settings.host
    if settings.auth == "required" or is_loopback(host):
        return
    if not settings.auth_none_off_loopback:
        raise UnsafeExposure(
            f"refusing to serve on {host} without authentication: set CATALOG_AUTH=required (and create a key with "
            "`catalog keys create`), or bind to 127.0.0.1; CATALOG_AUTH_NONE_OFF_LOOPBACK=true forces it"
        )
    log.warning("serving on %s WITHOUT AUTHENTICATION (CATALOG_AUTH=none forced): anyone who reaches the port "
                "may do anything", host)


def bearer(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, credential = authorization.strip().partition(" ")
    return credential.strip() or None if scheme.lower() == "bearer" else None


class Authenticator:
    """Identifies callers for one service context. `identify` may read the catalog (API keys) or fetch signing
    keys (Entra ID): async callers run it in a worker thread."""

    def __init__(self, ctx: ServiceContext) -> None:
        self._ctx = ctx
        self.required = ctx.settings.auth == "required"
        # Built now, so a misconfigured tenant stops the service at start rather than failing its first caller.
        self._entra = EntraVerifier.from_settings(ctx.settings) if ctx.settings.entra_tenant_id else None

    def identify(self, authorization: str | None = None, api_key: str | None = None) -> Identity:
        """The caller's identity: the local operator without authentication, `ANONYMOUS` without credentials.

        Raises `Unauthenticated` for credentials that are present but not accepted, with a reason that does not
        tell an unknown key from a revoked or expired one.
        """
        if not self.required:
            return LOCAL_OPERATOR
        credential = (api_key or "").strip() or bearer(authorization)
        if credential is None:
            if authorization:
                raise Unauthenticated(f"unsupported authorization scheme: {CREDENTIALS_HINT}")
            return ANONYMOUS
        if api_keys.looks_like_key(credential):
            identity = api_keys.identify(self._ctx, credential)
            if identity is None:
                raise Unauthenticated("the API key is unknown, revoked or expired")
            return identity
        if self._entra is None:
            raise Unauthenticated("bearer tokens are not accepted here (Entra ID is not configured); use an API key")
        try:
            return self._entra.verify(credential)
        except InvalidToken as exc:
            raise Unauthenticated(f"the access token was refused: {exc.reason}") from None


AUTH_REFUSAL = "auth_refusal"
"""Where the authentication middleware leaves the `Unauthenticated` error of credentials it did not accept."""


def stored_identity(scope: dict[str, Any]) -> Identity:
    """The identity the authentication middleware stored in an ASGI scope (anonymous when there is none). It stays
    there after the request has left the middleware's `acting_as`, e.g. for the audit of a 500."""
    return (scope.get("state") or {}).get("identity", ANONYMOUS)


def scope_identity(scope: dict[str, Any]) -> Identity:
    """`stored_identity`, for a permission check: raises the middleware's `Unauthenticated` when the request
    carried credentials it refused."""
    refusal = (scope.get("state") or {}).get(AUTH_REFUSAL)
    if refusal is not None:
        raise refusal
    return stored_identity(scope)


@dataclass(frozen=True, slots=True)
class IdentityView:
    """Who the catalog takes the caller for, and what they may do."""

    actor: str
    name: str
    method: str
    roles: list[str]
    permissions: list[str]


def identity_view(identity: Identity) -> IdentityView:
    return IdentityView(actor=identity.actor, name=identity.name, method=identity.method,
                        roles=sorted(identity.roles), permissions=sorted(p.value for p in identity.permissions))


def require(identity: Identity, permission: Permission, what: str) -> None:
    """Raises 401 for an anonymous caller and 403 for one without `permission`."""
    if identity is ANONYMOUS:
        raise Unauthenticated(f"authentication required to {what}: {CREDENTIALS_HINT}")
    if not identity.can(permission):
        raise Forbidden(f"{what} needs the {permission.value} permission, which {identity.name} does not have")
