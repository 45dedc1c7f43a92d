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

from graphql import GraphQLList, GraphQLNonNull, GraphQLObjectType, GraphQLResolveInfo, Undefined, is_leaf_type
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


NOT_IN_LINE = object()
"""What an in-line reader or completion answers when the field must take graphql-core's own path."""

Completion = Callable[[Any], Any]


def _completion(graphql_type: Any) -> Completion | None:
    """How a plain value of `graphql_type` completes in line, when that type is a scalar or an enum, or a list of
    them (each optionally non-null): the value coerced by the type. None for other types."""
    nullable = not isinstance(graphql_type, GraphQLNonNull)
    inner = graphql_type if nullable else graphql_type.of_type
    if is_leaf_type(inner):
        coerce = inner.coerce_output_value

        def complete_leaf(value: Any) -> Any:
            if value is None:
                return None if nullable else NOT_IN_LINE
            coerced = coerce(value)
            return NOT_IN_LINE if coerced is None or coerced is Undefined else coerced

        return complete_leaf
    if isinstance(inner, GraphQLList) and (complete_item := _completion(inner.of_type)) is not None:

        def complete_list(values: Any) -> Any:
            if values is None:
                return None if nullable else NOT_IN_LINE
            if type(values) is not list:
                return NOT_IN_LINE
            completed = [complete_item(value) for value in values]
            return NOT_IN_LINE if NOT_IN_LINE in completed else completed

        return complete_list
    return None


def in_line(reader: Callable[[Any, Any], Any]) -> Callable[[Resolver], Resolver]:
    """Marks a resolver whose value `reader(source, info.context)` can give without an `Info` when the request
    has it already (else `NOT_IN_LINE`, and the resolver runs as usual): a scalar or list of scalars, completed in
    line by `LeanExecutionContext` (e.g. `tags`, loaded with the page its entity came in)."""

    def mark(resolver: Resolver) -> Resolver:
        resolver.in_line_reader = reader  # type: ignore[attr-defined]
        return resolver

    return mark


def _plan(resolve: Resolver, reader: Callable[[Any, Any], Any] | None, graphql_type: Any) -> Resolver:
    completion = _completion(graphql_type) if reader is not None else None
    if completion is not None:
        resolve.in_line = (reader, completion)  # type: ignore[attr-defined]  # see LeanExecutionContext
    return resolve


def _attribute_reader(name: str, graphql_type: Any) -> Resolver:
    def resolve(source: Any, info: GraphQLResolveInfo) -> Any:
        return getattr(source, name)

    return _plan(resolve, lambda source, context: getattr(source, name), graphql_type)


class LeanExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """Completes in line a scalar or enum field (or list of them) whose value is at hand: read from an attribute
    (`_attribute_reader`) or from the request (`in_line`), coerced by its type. graphql-core otherwise builds a
    resolve info, looks for arguments and awaitables and walks `complete_value` for each of them, ~700 fields a
    page, which together cost more than the rest of the execution. Anything else, and any such field whose value is
    not at hand, missing, null where not allowed, or refused by its type, takes graphql-core's own path, which
    resolves and reports it as usual (the readers only read, so reading again changes nothing)."""

    @cached_property
    def _no_middleware(self) -> bool:
        # Strawberry always passes a manager; it wraps resolvers only when a schema extension resolves fields.
        manager = self.middleware_manager
        return manager is None or not manager.middlewares

    def execute_field(self, parent_type: GraphQLObjectType, source: Any, field_details_list: Any, path: Any,
                      position_context: Any) -> Any:
        field_def = parent_type.fields.get(field_details_list[0].node.name.value)
        plan = getattr(field_def.resolve, "in_line", None) if field_def is not None else None
        if plan is not None and self._no_middleware and not field_details_list[0].node.arguments:
            reader, complete = plan
            try:
                value = reader(source, self.context_value)
                completed = NOT_IN_LINE if value is NOT_IN_LINE else complete(value)
                if completed is not NOT_IN_LINE:
                    return completed
            except Exception:  # noqa: S110 - graphql-core's path below reports it
                pass
        return super().execute_field(parent_type, source, field_details_list, path, position_context)


def _basic(field: Any, default_resolver: Any) -> bool:
    return (isinstance(field, StrawberryField) and field.is_basic_field and not field.is_subscription
            and default_resolver is getattr)


def _lean_resolver(field: StrawberryField, info_class: type, graphql_type: Any) -> Resolver:
    call = field.base_resolver.wrapped_func  # type: ignore[union-attr]
    passes_self = field.base_resolver.self_parameter is not None  # type: ignore[union-attr]
    info_parameter = field.base_resolver.info_parameter  # type: ignore[union-attr]
    info_name = info_parameter.name if info_parameter else None

    def resolve(source: Any, info: GraphQLResolveInfo) -> Any:
        args = (source,) if passes_self else ()
        if info_name is None:
            return call(*args)
        return call(*args, **{info_name: info_class(_raw_info=info, _field=field)})

    return _plan(resolve, getattr(call, "in_line_reader", None), graphql_type)


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
                graphql_field.resolve = _lean_resolver(field, info_class, graphql_field.type)
                installed.append(f"{graphql_type.name}.{name}")
            elif _basic(field, default_resolver):
                graphql_field.resolve = _attribute_reader(field.python_name, graphql_field.type)
    return sorted(installed)
