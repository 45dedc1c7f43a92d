"""REST's side of the audit: the middleware that records every state-changing request, and `GET /api/v1/audit`."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Query
from sqlalchemy.orm import Session
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from catalog_api.rest.contract import IsoDateTime, id_query
from catalog_api.rest.deps import QUERY_SESSION
from catalog_api.rest.models import rest_model
from catalog_api.rest.security import allow
from catalog_api.security.identity import Permission
from catalog_api.services import audit
from catalog_api.services.authentication import stored_identity
from catalog_api.services.context import ServiceContext

MUTATING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
REFUSED = frozenset({401, 403})


def _target(path_params: dict) -> str | None:
    if len(path_params) == 1:
        return str(next(iter(path_params.values())))
    return " ".join(f"{name}={value}" for name, value in path_params.items()) or None


def request_record(scope: Scope, status: int) -> audit.RequestRecord:
    """The audit entry of a request answered with `status`: its route template (`DELETE /api/v1/sources/{source_id}`)
    and path parameters; the concrete path of a request answered before routing (by the rate limiter, or matching no
    route)."""
    route = scope.get("route")
    template = getattr(route, "path_format", None) if route is not None else None
    client = scope.get("client")
    return audit.RequestRecord(
        action=f"{scope['method']} {template or scope['path']}",
        target=_target(scope.get("path_params") or {}) if template else None,
        outcome=str(status),
        request_id=(scope.get("state") or {}).get("request_id"),  # RequestContextMiddleware's: checked or new
        client=client[0] if client else None,
    )


class AuditMiddleware:
    """Records each POST, PUT, PATCH and DELETE once its status is known, before the response leaves.

    Add it after the authentication middleware, so that it wraps authentication and the rate limiter and sees every
    answer they and the routes' permission checks give (401/403/429); the caller is the identity authentication left
    in the scope (`caller`), anonymous for refused credentials. A GraphQL request is recorded here only when it was
    refused before GraphQL ran: otherwise `catalog_api.graphql.audit` records each of its mutation fields. Pure ASGI,
    so streamed responses pass through untouched.
    """

    def __init__(self, app: ASGIApp, ctx: ServiceContext, graphql_path: str = "/graphql") -> None:
        self.app, self.ctx, self.graphql_path = app, ctx, graphql_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in MUTATING_METHODS:
            await self.app(scope, receive, send)
            return
        started = False

        async def recording_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start" and not started:
                started = True
                await self._record(scope, message["status"])
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        except Exception:
            if not started:  # the server answers 500 once the exception has left the application
                await self._record(scope, 500)
            raise

    async def _record(self, scope: Scope, status: int) -> None:
        if scope["path"].rstrip("/") == self.graphql_path and status not in REFUSED:
            return
        await asyncio.to_thread(audit.record_request, self.ctx, request_record(scope, status), stored_identity(scope))


router = APIRouter(prefix="/api/v1", tags=["audit"])

AuditEntryOut = rest_model("AuditEntryOut", audit.AuditEntryView, "One state-changing request: who (actor, name, "
                           "authentication method, key id or token subject), what (action, target), when, from where "
                           "(client, request id), and the outcome (HTTP status, or `ok`/an error code for GraphQL).")
AuditPageOut = rest_model("AuditPageOut", audit.AuditPage, "Audit entries, newest first; pass `next_after` as "
                          "`after` for the next, older page (null on the last page).")


@router.get("/audit", dependencies=[allow(Permission.ADMIN)], response_model=AuditPageOut)
def audit_log(
    actor: str | None = Query(None, max_length=256,
                              description="One actor, e.g. `api_key:<key id>` or `entra:<object id>`."),
    action: str | None = Query(None, max_length=2048, description="Actions starting with this, e.g. "
                                                                  "`DELETE /api/v1/sources` or `mutation`."),
    since: IsoDateTime | None = Query(None, description="From this moment on (ISO 8601; no offset means UTC)."),
    until: IsoDateTime | None = Query(None, description="Before this moment."),
    outcome: str | None = Query(None, max_length=64, description="One outcome: an HTTP status such as `403`, or "
                                                                 "`ok` or an error code for GraphQL."),
    target: str | None = Query(None, max_length=4096,
                               description="One target: a path parameter's value, an id or a URN."),
    after: int | None = id_query("The `next_after` of the previous page."),
    limit: int = Query(100, ge=1, le=audit.MAX_PAGE),
    session: Session = QUERY_SESSION,
) -> AuditPageOut:
    """Who did what, when, from which key or token: the audit log, newest first."""
    return AuditPageOut.of(audit.audit_log(session, actor=actor, action=action, since=since, until=until,
                                           outcome=outcome, target=target, after=after, limit=limit))
