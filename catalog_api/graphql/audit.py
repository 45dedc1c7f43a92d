"""GraphQL's side of the audit: every mutation field records an audit entry, and the `audit` query reads them.

`audited(Mutation)` gives each field of the Mutation type the `AuditedMutation` extension, outermost, so a
mutation refused by a permission check (an inner extension) is recorded too; the Query type of
`catalog_api.graphql.schema` inherits `AuditQuery`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import FieldExtension
from strawberry.types.field import StrawberryField

from catalog_api.errors import error_payload
from catalog_api.graphql.context import Info
from catalog_api.graphql.permissions import requires
from catalog_api.graphql.views import graphql_type
from catalog_api.security.identity import Permission
from catalog_api.services import audit

TARGET_ARGUMENTS = ("id", "urn")
"""The arguments that name what a mutation acts on; bodies (`input`) and secrets are never recorded."""

AuditEntryNode = graphql_type(
    audit.AuditEntryView, "AuditEntry", "One state-changing request.",
    description="One state-changing request: who (actor, name, authentication method, key id or token subject), what "
                "(action, target), when, from where (client, request id), and the outcome (an HTTP status, or `ok` or "
                "an error code for a GraphQL mutation).")
AuditPageNode = graphql_type(audit.AuditPage, "AuditPage", "Audit entries, newest first.",
                             description="Audit entries, newest first; pass `nextAfter` as `after` for the next, "
                                         "older page (null on the last page).")


def _outcome(error: Exception) -> str:
    if isinstance(error, GraphQLError):
        return (error.extensions or {}).get("code") or "graphql_error"
    return error_payload(error)[1]["code"]


class AuditedMutation(FieldExtension):
    """Records the mutation field it wraps once it has resolved: `ok`, or the code of the error it raised."""

    target_argument: str | None = None

    def apply(self, field: StrawberryField) -> None:
        self.target_argument = next((argument.python_name for argument in field.arguments
                                     if (argument.graphql_name or argument.python_name) in TARGET_ARGUMENTS), None)

    def _entry(self, info: Info, arguments: dict[str, Any], outcome: str) -> audit.RequestRecord:
        request = info.context.request
        target = arguments.get(self.target_argument) if self.target_argument else None
        return audit.RequestRecord(
            action=f"mutation {info.field_name}", target=None if target is None else str(target), outcome=outcome,
            request_id=(request.scope.get("state") or {}).get("request_id") if request is not None else None,
            client=request.client.host if request is not None and request.client else None)

    def resolve(self, next_: Callable[..., Any], source: Any, info: Info, **kwargs: Any) -> Any:
        try:
            result = next_(source, info, **kwargs)
        except Exception as error:
            audit.record_request(info.context.ctx, self._entry(info, kwargs, _outcome(error)))
            raise
        audit.record_request(info.context.ctx, self._entry(info, kwargs, "ok"))
        return result

    async def resolve_async(self, next_: Callable[..., Awaitable[Any]], source: Any, info: Info,
                            **kwargs: Any) -> Any:
        try:
            result = await next_(source, info, **kwargs)
        except Exception as error:
            await asyncio.to_thread(audit.record_request, info.context.ctx, self._entry(info, kwargs, _outcome(error)))
            raise
        await asyncio.to_thread(audit.record_request, info.context.ctx, self._entry(info, kwargs, "ok"))
        return result


def audited(mutation: type) -> type:
    """`mutation` with `AuditedMutation` as the outermost extension of each of its fields."""
    for field in mutation.__strawberry_definition__.fields:
        if not any(isinstance(extension, AuditedMutation) for extension in field.extensions):
            field.extensions.append(AuditedMutation())
    return mutation


@strawberry.type
class AuditQuery:
    """The audit log."""

    @strawberry.field(permission_classes=requires(Permission.ADMIN),
                      description="Who did what, when, from which key or token: audit entries newest first, within "
                                  "[since, until), of one actor, actions starting with `action` (e.g. `mutation` or "
                                  "`DELETE /api/v1/sources`), one outcome (`403`, `ok`, `not_found`) or one target.")
    async def audit(self, info: Info, actor: str | None = None, action: str | None = None,
                    since: datetime | None = None, until: datetime | None = None, outcome: str | None = None,
                    target: str | None = None, after: int | None = None, limit: int = 100) -> AuditPageNode:
        page = await info.context.query(audit.audit_log, actor=actor, action=action, since=since, until=until,
                                        outcome=outcome, target=target, after=after, limit=limit)
        return AuditPageNode.of(page)
