"""The one place where exceptions raised in resolvers become GraphQL errors.

The error body comes from `catalog_api.errors.error_payload`, the same mapping REST uses, so a client sees the same
code, message, field and problems whichever API it calls. Anything unexpected is reported as `internal_error`
without its text, which may hold connection strings or SQL.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionContext

from catalog_api.errors import CatalogError, error_payload
from crawlers.errors import ConnectorError

log = logging.getLogger(__name__)

_EXPECTED = (CatalogError, ConnectorError)


def _original(error: GraphQLError) -> Exception | None:
    """The exception a resolver raised, or None for parse/validation errors that are already meant for the client."""
    original = error.original_error
    return None if original is None or isinstance(original, GraphQLError) else original


def error_extensions(exc: Exception) -> tuple[str, dict[str, Any]]:
    """The client-facing message and `extensions` of an exception: code, status, field and problems."""
    status, body = error_payload(exc)
    return body["message"], {
        "code": body["code"],
        "status": status,
        "field": body.get("field"),
        "problems": body.get("problems", []),
    }


def to_client_error(error: GraphQLError) -> GraphQLError:
    """A resolver's exception rewritten for the client; other GraphQL errors pass through unchanged."""
    original = _original(error)
    if original is None:
        return error
    message, extensions = error_extensions(original)
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=None,  # dropped so nothing downstream can serialise the original text
        extensions=extensions,
    )


def _rewrite(result: Any) -> None:
    errors = getattr(result, "errors", None)
    if errors:
        result.errors = [to_client_error(e) for e in errors]


class CatalogErrors(SchemaExtension):
    """Rewrites every resolver error of an operation with `to_client_error` once execution is over, and every
    result of a subscription (or of an operation over WebSocket) before it is sent: those go out one by one while
    the operation still runs, so rewriting them at its end would be too late."""

    def on_operation(self) -> Iterator[None]:
        yield
        _rewrite(self.execution_context.result)

    def on_stream_result(self, result: Any) -> Iterator[None]:  # type: ignore[override]
        _rewrite(result)
        yield


class CatalogSchema(strawberry.Schema):
    """The strawberry schema with error logging that separates the user's mistakes from the service's faults."""

    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        # Strawberry calls this with the original errors, before `CatalogErrors` hides unexpected ones from the
        # client, so this is where their tracebacks reach the service log.
        for error in errors:
            original = _original(error)
            if original is None or isinstance(original, _EXPECTED):
                log.info("GraphQL request error at %s: %s", error.path, error.message)
            else:
                log.error("unexpected error in GraphQL resolver at %s", error.path,
                          exc_info=(type(original), original, original.__traceback__))
