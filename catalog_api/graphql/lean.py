"""Plain graphql-core resolvers for the strawberry fields that need none of strawberry's per-call machinery.

Strawberry wraps every field that has a resolver in a chain that converts arguments, runs field extensions
(permission classes are extensions too) and maps exceptions, and pays for it on every call, even where there is
nothing to convert, extend or map. On the frontend's page query `tags` alone is resolved for every source, schema,
table and column (~140 times a request), and that chain cost more than the resolver itself. A field with no
arguments, no extensions or permission classes and a synchronous resolver (of `self` and `info` at most) gets a resolver
that builds the `Info` and calls the resolver directly: the same call strawberry makes, without the chain.
A field without a resolver reads its attribute (`getattr`, strawberry's default resolver) in one call instead of
strawberry's two, and when it is a scalar or an enum, `LeanExecutionContext` completes it in line. Any field that has one of those keeps strawberry's resolver, so adding an extension or a permission to a field later
takes effect as usual.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import Any

from graphql import GraphQLNonNull, GraphQLObjectType, GraphQLResolveInfo, is_leaf_type
from strawberry import Schema
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField

Resolver = Callable[..., Any]


def _leanable(field: Any) -> bool:
    resolver = getattr(field, "base_resolver", None)
    if not isinstance(field, StrawberryField) or resolver is None:
        return False
    if field.extensions or field.permission_classes or field.arguments or field.is_subscription:
        return False
    return not (resolver.is_async or resolver.parent_parameter or resolver.root_parameter)


def _attribute_reader(name: str, graphql_type: Any) -> Resolver:
    def resolve(source: Any, info: GraphQLResolveInfo) -> Any:
        return getattr(source, name)

    nullable = not isinstance(graphql_type, GraphQLNonNull)
    leaf = graphql_type if nullable else graphql_type.of_type
    if is_leaf_type(leaf):
        resolve.leaf_read = (name, leaf, nullable)  # type: ignore[attr-defined]  # see LeanExecutionContext
    return resolve


class LeanExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """Completes a scalar or enum field read from an attribute (`_attribute_reader`) in line: its value, coerced by
    its type. graphql-core otherwise builds a resolve info, looks for arguments and awaitables and walks
    `complete_value` for each of them, ~750 fields a page, which together cost more than the rest of the
    execution. Anything else, and any such field whose value is missing, null where not allowed, or refused by its
    type, takes graphql-core's own path, which reports it as usual (reading an attribute again changes nothing)."""

    @cached_property
    def _no_middleware(self) -> bool:
        # Strawberry always passes a manager; it wraps resolvers only when a schema extension resolves fields.
        manager = self.middleware_manager
        return manager is None or not manager.middlewares

    def execute_field(self, parent_type: GraphQLObjectType, source: Any, field_details_list: Any, path: Any,
                      position_context: Any) -> Any:
        field_def = parent_type.fields.get(field_details_list[0].node.name.value)
        plan = getattr(field_def.resolve, "leaf_read", None) if field_def is not None else None
        if plan is not None and self._no_middleware:
            name, leaf, nullable = plan
            try:
                value = getattr(source, name)
                if value is not None:
                    return self.complete_leaf_value(leaf, value)
                if nullable:
                    return None
            except Exception:  # noqa: S110 - graphql-core's path below reports it
                pass
        return super().execute_field(parent_type, source, field_details_list, path, position_context)


def _basic(field: Any, default_resolver: Any) -> bool:
    return (isinstance(field, StrawberryField) and field.is_basic_field and not field.is_subscription
            and default_resolver is getattr)


def _lean_resolver(field: StrawberryField, info_class: type) -> Resolver:
    call = field.base_resolver.wrapped_func  # type: ignore[union-attr]
    passes_self = field.base_resolver.self_parameter is not None  # type: ignore[union-attr]
    info_parameter = field.base_resolver.info_parameter  # type: ignore[union-attr]
    info_name = info_parameter.name if info_parameter else None

    def resolve(source: Any, info: GraphQLResolveInfo) -> Any:
        args = (source,) if passes_self else ()
        if info_name is None:
            return call(*args)
        return call(*args, **{info_name: info_class(_raw_info=info, _field=field)})

    return resolve


def install_lean_resolvers(schema: Schema) -> list[str]:
    """Replaces strawberry's resolver of every field that qualifies (see the module's docstring) on `schema`'s
    object types; returns the coordinates (`Type.field`) of the fields with resolvers that take this path, so a test
can see which they are."""
    if schema.schema_converter._exception_handler_specs:  # handlers wrap resolvers: keep strawberry's
        return []
    installed = []
    info_class, default_resolver = schema.config.info_class, schema.config.default_resolver
    for graphql_type in schema._schema.type_map.values():
        if not isinstance(graphql_type, GraphQLObjectType) or graphql_type.name.startswith("__"):
            continue
        for name, graphql_field in graphql_type.fields.items():
            field = (graphql_field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
            if _leanable(field):
                graphql_field.resolve = _lean_resolver(field, info_class)
                installed.append(f"{graphql_type.name}.{name}")
            elif _basic(field, default_resolver):
                graphql_field.resolve = _attribute_reader(field.python_name, graphql_field.type)
    return sorted(installed)
