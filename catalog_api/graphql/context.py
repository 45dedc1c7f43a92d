"""What every resolver receives as `info.context`: the service context and this request's DataLoaders."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from strawberry.fastapi import BaseContext
from strawberry.types import Info as StrawberryInfo

from catalog_api.graphql.loaders import Loaders, in_session
from catalog_api.security.identity import Identity
from catalog_api.services.authentication import ANONYMOUS
from catalog_api.services.context import ServiceContext

R = TypeVar("R")


class GraphQLContext(BaseContext):
    """Per-request context: `ctx` for service commands, `query` for service queries, `loaders` for batched reads
    (fresh for every request), `identity` for the permission checks."""

    def __init__(self, ctx: ServiceContext, identity: Identity = ANONYMOUS) -> None:
        super().__init__()
        self.ctx = ctx
        self.loaders = Loaders(ctx)
        self.identity = identity
        self.tag_selections: dict[tuple[int, ...], bool] = {}  # by field nodes: see `types.with_tags`

    async def query(self, query: Callable[..., R], *args: Any, **kwargs: Any) -> R:
        """Runs a service query (`query(session, *args, **kwargs)`) in one catalog session on a worker thread."""
        return await in_session(self.ctx, lambda session: query(session, *args, **kwargs))


Info = StrawberryInfo[GraphQLContext, None]
