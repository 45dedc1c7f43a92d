"""What every resolver receives as `info.context`: the service context and this request's DataLoaders."""

from __future__ import annotations

from strawberry.fastapi import BaseContext
from strawberry.types import Info as StrawberryInfo

from catalog_api.graphql.loaders import Loaders
from catalog_api.services.context import ServiceContext


class GraphQLContext(BaseContext):
    """Per-request context: `ctx` for service calls, `loaders` for batched reads (fresh for every request)."""

    def __init__(self, ctx: ServiceContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.loaders = Loaders(ctx)


Info = StrawberryInfo[GraphQLContext, None]
