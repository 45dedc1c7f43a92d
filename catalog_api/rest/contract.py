"""What the OpenAPI document promises beyond the routes' own models: the error body, the bounds of ids and URNs, and
the error statuses each operation may answer.

Every error a REST route (or the HTTP edge in front of it) answers has the body `ErrorOut`. `document_errors`
adds to each operation the statuses it can answer from what the route declares: its permission (401, 403), a path
parameter (404), parameters or a body (422), a body (413), a state-changing method (415), and for every metered
operation 429, 500 and 503; a route names any other status it answers (404 of a lookup by query, 409, 502) with
`responses=errors(...)`.
"""

from __future__ import annotations

import http
from datetime import datetime
from typing import Annotated, Any

from fastapi import FastAPI, Path, Query
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts
from pydantic import BaseModel, BeforeValidator, Field

from catalog_api.rest.security import declared_permission
from catalog_api.security.ratelimit import EXEMPT_PATHS
from catalog_api.services.views import MAX_ID
from catalog_api.urns import MAX_URN_LENGTH, EntityType, urn_pattern
from catalog_api.web.browser import STATE_CHANGING

SourceId = Annotated[int, Path(ge=1, le=MAX_ID, description="The source's id.")]
ProfileId = Annotated[int, Path(ge=1, le=MAX_ID, description="The profile run's id.")]


def _iso_8601(value: Any) -> Any:
    # pydantic also takes a number of seconds since 1970 and a bare date; the document promises an ISO date-time.
    if not isinstance(value, str) or "T" not in value.upper():
        raise ValueError("an ISO 8601 date-time such as 2026-01-31T08:00:00Z")
    return value


IsoDateTime = Annotated[datetime, BeforeValidator(_iso_8601)]
"""A date-time query parameter: ISO 8601 with a `T` between date and time (no offset means UTC)."""


def id_query(description: str) -> Any:
    """An optional id in the query string, bounded like the stored ids."""
    return Query(None, ge=1, le=MAX_ID, description=description)


def urn_path(*types: EntityType) -> Any:
    """A URN path segment of one of `types` (URL-encoded as one segment: `%` travels as `%25`).

    Documented, not checked here: servers disagree on how often they decode a path (Starlette's test client twice),
    so the route reads the URN from the raw path and the service checks it (`parse_urn`: form, type, length).
    """
    kinds = " or ".join(t.value for t in types) if types else "any entity"
    return Path(json_schema_extra={"maxLength": MAX_URN_LENGTH, "pattern": urn_pattern(*types)},
                description=f"The URN of a {kinds}, in canonical form (docs/urns.md).")


def urn_query(*types: EntityType, default: Any = None, description: str = "") -> Any:
    return Query(default, max_length=MAX_URN_LENGTH, description=description, **checked_by_service(urn_pattern(*types)))


def checked_by_service(pattern: str) -> dict[str, Any]:
    """Field arguments documenting `pattern` that the service checks itself, with a reason that says more than "should
    match pattern" (which characters a name may hold, what a URN looks like, that a text needs a letter)."""
    return {"json_schema_extra": {"pattern": pattern}}


class ProblemOut(BaseModel):
    """One invalid field and the reason."""

    field: str
    reason: str


class ErrorDetailOut(BaseModel):
    """What went wrong: a stable `code`, a message for people, and for invalid input the fields and reasons."""

    code: str = Field(examples=["invalid_input"])
    message: str
    field: str | None = Field(default=None, description="The (first) field at fault, as a dotted path.")
    problems: list[ProblemOut] | None = Field(default=None, description="Every invalid field and why.")
    request_id: str | None = Field(default=None, description="On a 500: the id under which the service logged "
                                                             "what happened.")


class ErrorOut(BaseModel):
    """The body of every error answer of the REST API (docs/api.md, Errors)."""

    error: ErrorDetailOut


ERROR_DESCRIPTIONS = {
    400: "The GraphQL document could not be run (`query_too_complex`, a syntax or validation error).",
    401: "No credentials, or credentials the catalog does not accept (`unauthenticated`); only with "
         "CATALOG_AUTH=required.",
    403: "The caller lacks the permission the operation declares (`forbidden`, `pii_withheld`).",
    404: "No entity with that id or URN (`not_found`).",
    409: "The request clashes with the catalog's state (`conflict`).",
    413: "The body is larger than CATALOG_MAX_REQUEST_BODY_BYTES (`request_too_large`).",
    415: "Neither a JSON body nor credentials on a state-changing request (`unsupported_media_type`); only with "
         "CATALOG_AUTH=none.",
    422: "A malformed parameter or body (`invalid_input`, with `field` and `problems`), or a source whose "
         "connection test failed.",
    429: "Over the caller's rate limit (`rate_limited`); `Retry-After` says when to try again.",
    500: "Anything unexpected (`internal_error`); `request_id` names the service's log entry.",
    502: "The source did not answer (`source_unreachable`).",
    503: "A catalog query ran past its time limit (`statement_timeout`), or a secret store did not answer.",
}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` of a route that answers these error statuses besides those `document_errors` derives."""
    return {status: {"description": ERROR_DESCRIPTIONS[status]} for status in statuses}


GRAPHQL_ERRORS_SCHEMA = {
    "type": "object", "required": ["errors"],
    "properties": {
        "data": {"type": ["object", "null"]},
        "errors": {"type": "array", "items": {
            "type": "object", "required": ["message"],
            "properties": {"message": {"type": "string"},
                           "extensions": {"type": "object", "description": "`code`, `status`, `field`, `problems`."}},
        }},
    },
}


def graphql_refusals(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` of the GraphQL endpoint: GraphQL refuses a document with a GraphQL response whose errors carry
    the error body's fields in `extensions` (docs/api.md, Errors)."""
    content = {"application/json": {"schema": GRAPHQL_ERRORS_SCHEMA}}
    return {status: {"description": ERROR_DESCRIPTIONS[status], "content": content} for status in statuses}


def _derived_statuses(route: RouteContext, method: str) -> set[int]:
    statuses = {500}
    if route.path_format not in EXEMPT_PATHS:
        statuses |= {429, 503}
    declared, permission = declared_permission(route.original_route)
    if declared and permission is not None:
        statuses |= {401, 403}
    if "{" in route.path_format:  # a path parameter, declared by the route or by a dependency (URNs)
        statuses.add(404)
    if route.body_field is not None:
        statuses |= {413, 422}
    if route.dependant.query_params or "{" in route.path_format or _has_parameters(route.dependant):
        statuses.add(422)
    if method in STATE_CHANGING:
        statuses.add(415)
    return statuses


def _has_parameters(dependant: Any) -> bool:
    return bool(dependant.query_params or dependant.path_params) or any(
        _has_parameters(d) for d in dependant.dependencies)


def document_errors(app: FastAPI, document: dict[str, Any], *, auth_required: bool) -> dict[str, Any]:
    """`document` (the app's generated OpenAPI) with every operation's error answers documented as `ErrorOut`.

    Without required authentication the credentials are optional (`{}` among the security requirements): the
    service takes every caller for the local operator.
    """
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    error_schema = ErrorOut.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(error_schema.pop("$defs", {}))
    schemas["ErrorOut"] = error_schema
    error_content = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}
    for route in iter_route_contexts(app.routes):
        if not isinstance(route.original_route, APIRoute) or not route.include_in_schema:
            continue
        for method in route.methods:
            operation = document["paths"].get(route.path_format, {}).get(method.lower())
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            declared = {int(code) for code in responses if code.isdigit() and int(code) >= 400}
            for status in sorted(_derived_statuses(route, method) | declared):
                entry = responses.setdefault(str(status), {})
                if "content" in entry and "HTTPValidationError" not in str(entry["content"]):
                    continue  # a body of the route's own (the readiness probe's 503)
                entry["description"] = ERROR_DESCRIPTIONS.get(status) or http.HTTPStatus(status).phrase
                entry["content"] = error_content
            if not auth_required and operation.get("security"):
                operation["security"] = [*operation["security"], {}]
    return document
