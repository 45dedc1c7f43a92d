"""The permission each GraphQL mutation, subscription and sensitive query declares:
`@strawberry.mutation(..., permission_classes=requires(Permission.OPERATE))`.

The caller is the request's identity (`info.context.identity`): set by the authentication middleware for HTTP,
and from the `connection_init` payload for graphql-transport-ws subscriptions. A refusal is the same typed error
REST answers with, so clients read `extensions.code` = `unauthenticated` or `forbidden`.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from strawberry.permission import BasePermission

from catalog_api.security.identity import Permission
from catalog_api.services.authentication import require


@cache
def _permission_class(permission: Permission) -> type[BasePermission]:
    def has_permission(self: BasePermission, source: Any, info: Any, **kwargs: Any) -> bool:
        require(info.context.identity, permission, f"{info.field_name}")
        return True

    return type(f"Requires_{permission.name}", (BasePermission,), {
        "permission": permission, "message": f"needs the {permission.value} permission",
        "has_permission": has_permission,
    })


def requires(permission: Permission) -> list[type[BasePermission]]:
    return [_permission_class(permission)]


def declared_permission(field: Any) -> Permission | None:
    for cls in getattr(field, "permission_classes", None) or ():
        if hasattr(cls, "permission"):
            return cls.permission
    return None
