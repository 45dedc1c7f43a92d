"""GraphQL for API keys (admin only) and for the caller's own identity (merged into `Query` and `Mutation`)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated

import strawberry

from catalog_api.graphql.context import Info
from catalog_api.graphql.permissions import requires
from catalog_api.graphql.views import graphql_type
from catalog_api.security.identity import Permission
from catalog_api.services import api_keys
from catalog_api.services.authentication import IdentityView, identity_view

ApiKeyNode = graphql_type(api_keys.ApiKeyView, "ApiKey", "An API key: never its secret.",
                          description="An API key: its name, roles, expiry and last use (never its secret).")
CreatedApiKeyNode = graphql_type(api_keys.CreatedApiKey, "CreatedApiKey", "A new key with its secret.",
                                 description="A new API key with, this once, the whole key (`secret`): store it now.")


Viewer = graphql_type(IdentityView, "Viewer", "The caller as GraphQL shows it.",
                      description="Who the catalog takes the caller for, and what they may do.")


@strawberry.type
class KeysQuery:
    """Identity and key queries (inherited by `Query`)."""

    @strawberry.field(description="The caller: actor, name, how they authenticated, roles and permissions.")
    def me(self, info: Info) -> Viewer:
        return Viewer.of(identity_view(info.context.identity))

    @strawberry.field(permission_classes=requires(Permission.ADMIN),
                      description="API keys, oldest first; revoked ones only with `includeRevoked: true`.")
    async def api_keys(self, info: Info, include_revoked: bool = False) -> list[ApiKeyNode]:
        return [ApiKeyNode.of(k) for k in await info.context.query(api_keys.list_keys, include_revoked)]


@strawberry.type
class KeysMutation:
    """Key mutations (inherited by `Mutation`)."""

    @strawberry.mutation(permission_classes=requires(Permission.ADMIN),
                         description="Creates an API key; the answer holds the whole key, which is not shown again.")
    async def create_api_key(self, info: Info, name: str, roles: list[str],
                             expires_at: datetime | None = None) -> CreatedApiKeyNode:
        return CreatedApiKeyNode.of(await asyncio.to_thread(api_keys.create_key, info.context.ctx, name, roles,
                                                            expires_at))

    @strawberry.mutation(permission_classes=requires(Permission.ADMIN),
                         description="Revokes an API key: requests made with it are refused from now on.")
    async def revoke_api_key(self, info: Info, key_id: Annotated[str, strawberry.argument(name="id")]) -> ApiKeyNode:
        return ApiKeyNode.of(await asyncio.to_thread(api_keys.revoke_key, info.context.ctx, key_id))
