"""What REST routes receive from FastAPI: the service context for commands, a catalog session for queries."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from catalog_api.services.context import ServiceContext
from catalog_api.settings import Settings


def context(request: Request) -> ServiceContext:
    return request.app.state.ctx


def catalog_session(request: Request) -> Iterator[Session]:
    """One catalog session for a route's queries, closed when the route has answered."""
    with request.app.state.ctx.db.session() as session:
        yield session


QUERY_SESSION = Depends(catalog_session, scope="function")
"""A route's catalog session, committed before the response is sent (so a client never reads ahead of it)."""


def settings(request: Request) -> Settings:
    """The settings a query reads (limits, the lake's URL)."""
    return request.app.state.ctx.settings
