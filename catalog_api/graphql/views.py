"""GraphQL objects derived from the services' views in one generic way.

`graphql_type` declares the object type of a view: the view's fields, in order, with free-form values as JSON.
Any type that mixes in `FromView` (derived or declared, where GraphQL shapes an entity its own way) is built by
`Type.of(view)`: each of its fields (private ones included) takes the view's attribute of the same name (a field with
a default keeps it when the view has no such attribute), and a field whose type is another `FromView` object type
(or a list or optional of one) converts the nested view the same way. So whatever a view shows (or hides) reaches
GraphQL unchanged.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable, Mapping
from functools import cache
from operator import attrgetter
from typing import Any, Self, Union

import strawberry
from strawberry.scalars import JSON
from strawberry.types.base import StrawberryList, StrawberryOptional, has_object_definition

from catalog_api.graphql.nodes import KeyedNode, database_id, node_id

Convert = Callable[[Any], Any]


def _identity(value: Any) -> Any:
    return value


def _converter(field_type: Any) -> Convert:
    if isinstance(field_type, StrawberryOptional):
        inner = _converter(field_type.of_type)
        return _identity if inner is _identity else (lambda value: None if value is None else inner(value))
    if isinstance(field_type, StrawberryList):
        inner = _converter(field_type.of_type)
        return _identity if inner is _identity else (lambda values: [inner(v) for v in values])
    if isinstance(field_type, type) and has_object_definition(field_type) and issubclass(field_type, FromView):
        return field_type.of
    return _identity


_REQUIRED = object()


@cache
def _fields(cls: type) -> tuple[tuple[str, Convert, Any], ...]:
    """The constructor arguments of a strawberry type with the conversion each needs and its default (or
    `_REQUIRED`)."""
    types = {f.python_name: f.type for f in cls.__strawberry_definition__.fields if f.base_resolver is None}
    return tuple((f.name, _converter(types[f.name]) if f.name in types else _identity,
                  _REQUIRED if f.default is dataclasses.MISSING else f.default)
                 for f in dataclasses.fields(cls) if f.init)


@cache
def _plain(cls: type) -> tuple[tuple[str, ...], Callable[[Any], tuple[Any, ...]]] | None:
    """For a type whose fields all pass through unchanged: their names and one reader of all of them."""
    fields = _fields(cls)
    if any(convert is not _identity or default is not _REQUIRED for _, convert, default in fields):
        return None
    names = tuple(name for name, _, _ in fields)
    get = attrgetter(*names)
    return names, (get if len(names) > 1 else (lambda view: (get(view),)))


class FromView:
    """Mixed into a strawberry type whose fields are read, by name, from a service view."""

    @classmethod
    def of(cls, view: Any) -> Self:
        plain = _plain(cls)
        if plain is not None:  # the hot path of every page
            names, read = plain
            return cls(**dict(zip(names, read(view), strict=True)))
        return cls(**{name: convert(getattr(view, name) if default is _REQUIRED else getattr(view, name, default))
                      for name, convert, default in _fields(cls)})


_DERIVED: dict[type, type] = {}


def _graphql_type(hint: Any) -> Any:
    """A view's field type as GraphQL shows it: nested views as their derived types, free-form values as JSON."""
    if hint in _DERIVED:
        return _DERIVED[hint]
    if hint is Any:
        return JSON | None
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is dict:
        return JSON
    if origin is list:
        return list[_graphql_type(args[0])]
    if origin in (Union, types.UnionType):
        return Union[tuple(_graphql_type(a) for a in args)]  # noqa: UP007 - built from a tuple
    return hint


def graphql_type(view: type, name: str, doc: str, *, description: str | None = None,
                 descriptions: Mapping[str, str] | None = None, exclude: frozenset[str] = frozenset(),
                 node: str | None = None) -> type[FromView]:
    """The GraphQL object type `name` of `view`: its fields (less `exclude`) in order, documented by `doc` (for
    readers of the code), `description` (the schema's description of the type) and `descriptions` (of fields);
    built from a view by `Type.of(view)`. With `node` (the GraphQL name of the field of its own key), the type
    implements Relay's `Node`: its `id` is the global id of the view's `id`, which the `node` field shows as it is
    (`catalog_api.graphql.nodes.database_id`)."""
    hints = typing.get_type_hints(view)
    annotations: dict[str, Any] = {}
    namespace: dict[str, Any] = {"__doc__": doc, "__module__": __name__, "__annotations__": annotations}
    for f in dataclasses.fields(view):
        if f.name in exclude:
            continue
        annotations[f.name] = _graphql_type(hints[f.name])
        if descriptions and f.name in descriptions and not (node and f.name == "id"):
            namespace[f.name] = strawberry.field(description=descriptions[f.name])
    bases: tuple[type, ...] = (FromView,)
    if node:
        key = annotations["id"]
        annotations["id"] = strawberry.Private[key]
        namespace["_id"] = node_id("id")
        namespace["own_key"] = database_id((descriptions or {}).get("id", f"The {name}'s own id."), name=node,
                                           kind=int | None if key is int else key)
        bases = (FromView, KeyedNode)
    derived = strawberry.type(type(f"{name}Node", bases, namespace), name=name, description=description)
    _DERIVED.setdefault(view, derived)
    return derived
