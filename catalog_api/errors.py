"""Typed application errors and their one mapping to HTTP responses and GraphQL errors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crawlers.errors import (
    AuthenticationFailed,
    ConnectorError,
    InvalidSourceConfig,
    PermissionDenied,
    SourceNotFound,
    SourceUnreachable,
)


@dataclass(frozen=True, slots=True)
class FieldProblem:
    """One invalid field: a dotted path such as `config.port` and the reason in plain words."""

    field: str
    reason: str


class CatalogError(Exception):
    """Base of every error the services raise on purpose; `status` is its HTTP status."""

    code = "catalog_error"
    status = 500
    transient = False
    """Worth retrying as is (a job retries it with backoff); most errors need a change first."""

    def __init__(self, message: str, *, field: str | None = None, problems: list[FieldProblem] | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.problems = problems or ([FieldProblem(field, message)] if field else [])

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field:
            body["field"] = self.field
        if self.problems:
            body["problems"] = [{"field": p.field, "reason": p.reason} for p in self.problems]
        return body


class InvalidInput(CatalogError):
    """The request is malformed: the field and the reason say what to fix. Nothing was stored."""

    code = "invalid_input"
    status = 422

    def __init__(self, field: str, reason: str, *, problems: list[FieldProblem] | None = None):
        super().__init__(f"{field}: {reason}", field=field, problems=problems or [FieldProblem(field, reason)])


class NotFound(CatalogError):
    """The named entity does not exist (or no longer exists)."""

    code = "not_found"
    status = 404


class MethodNotAllowed(CatalogError):
    """The resource exists but does not support the request's method; the `Allow` header lists the ones it does."""

    code = "method_not_allowed"
    status = 405


class Conflict(CatalogError):
    """The request clashes with the catalog's state, e.g. a source name already taken."""

    code = "conflict"
    status = 409


class QueryTooComplex(CatalogError):
    """A GraphQL document over one of the limits (tokens, aliases, depth, cost); it was refused before running."""

    code = "query_too_complex"
    status = 400


class RequestTooLarge(CatalogError):
    """A request body (or WebSocket message) larger than `max_request_body_bytes`; it was not read further."""

    code = "request_too_large"
    status = 413


class UnsupportedMediaType(CatalogError):
    """A state-changing request that a browser could send from another site without asking: no JSON body and no
    credentials header."""

    code = "unsupported_media_type"
    status = 415


class StatementTimeout(CatalogError):
    """A statement on the catalog database ran past `catalog_statement_timeout_ms` and was cancelled."""

    code = "statement_timeout"
    status = 503


class Unauthenticated(CatalogError):
    """No credentials, or credentials the catalog does not accept (unknown, revoked or expired key; bad token)."""

    code = "unauthenticated"
    status = 401


class Forbidden(CatalogError):
    """The caller is known but lacks the permission the operation declares."""

    code = "forbidden"
    status = 403


class SecretUnavailable(CatalogError):
    """A secret reference could not be resolved (variable unset, key changed, store entry or vault secret missing,
    access to the vault denied). The message names the reference, never a value."""

    code = "secret_unavailable"
    status = 422


class SecretStoreUnavailable(CatalogError):
    """The store holding a secret (Azure Key Vault) throttled or did not answer, after its own retries. Nothing is
    wrong with the reference: try again later."""

    code = "secret_store_unavailable"
    status = 503
    transient = True


class RateLimited(CatalogError):
    """The caller sent more requests than its rate limit allows; `retry_after_s` says when one will be accepted."""

    code = "rate_limited"
    status = 429

    def __init__(self, message: str, *, retry_after_s: int):
        super().__init__(message)
        self.retry_after_s = retry_after_s


class SourceCheckFailed(CatalogError):
    """Registering or updating a source failed because its connection test failed; nothing was stored."""

    status = 422

    def __init__(self, error: ConnectorError):
        super().__init__(error.message, field=error.field)
        self.code = error.code
        self.cause = error


_CONNECTOR_STATUS: dict[type[ConnectorError], int] = {
    InvalidSourceConfig: 422,
    AuthenticationFailed: 422,
    SourceNotFound: 422,
    PermissionDenied: 422,
    SourceUnreachable: 502,
}


def error_payload(exc: Exception) -> tuple[int, dict[str, Any]]:
    """The single mapping from an exception to (HTTP status, error body); GraphQL uses the same body."""
    if isinstance(exc, CatalogError):
        return exc.status, exc.to_dict()
    if isinstance(exc, ConnectorError):
        status = next((s for cls, s in _CONNECTOR_STATUS.items() if isinstance(exc, cls)), 500)
        body = {"code": exc.code, "message": exc.message}
        if exc.field:
            body["field"] = exc.field
        return status, body
    return 500, {"code": "internal_error", "message": "internal error; see the service log"}


def clean_reason(message: str) -> str:
    """Pydantic prefixes custom validator messages with 'Value error, '; users need only the reason."""
    return message.removeprefix("Value error, ").removeprefix("Assertion failed, ")


def invalid_input_from_validation(errors: list[dict[str, Any]], skip_prefixes: tuple[str, ...] = ("body",),
                                  document: Any = None) -> InvalidInput:
    """Turns pydantic/FastAPI validation errors into one `InvalidInput` listing every field and reason.

    `document` is the request body when FastAPI could not parse it as JSON (its error gives a character offset only).
    """
    problems = []
    for item in errors:
        if item.get("type") == "json_invalid":
            problems.append(FieldProblem("body", _json_position(item, document)))
            continue
        loc = [str(p) for p in item.get("loc", ())]
        if loc and loc[0] in skip_prefixes:
            loc = loc[1:]
        reason = "unknown field" if item.get("type") == "extra_forbidden" else clean_reason(item.get("msg", "invalid"))
        problems.append(FieldProblem(".".join(loc) or "body", reason))
    if not problems:
        problems = [FieldProblem("body", "invalid request")]
    return InvalidInput(problems[0].field, problems[0].reason, problems=problems)


def _json_position(item: dict[str, Any], document: Any) -> str:
    # FastAPI's loc is ("body", <character offset>); a user finds the mistake by line and column.
    loc, detail = item.get("loc", ()), (item.get("ctx") or {}).get("error", "invalid")
    offset = loc[1] if len(loc) > 1 and isinstance(loc[1], int) else None
    if offset is None or not isinstance(document, (str, bytes)):
        return f"invalid JSON: {detail}"
    text = document.decode("utf-8", "replace") if isinstance(document, bytes) else document
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return f"invalid JSON at line {line}, column {column}: {detail}"


class PiiWithheld(CatalogError):
    """What was asked for shows values of columns tagged `pii.*`, which the caller may not read without `pii:read`."""

    code = "pii_withheld"
    status = 403
