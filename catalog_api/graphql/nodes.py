"""Relay global object identification: the `Node` interface, global ids and the `node(id: ID!)` and
`nodes(ids: [ID!]!)` queries.

Every object a client may fetch again by itself implements strawberry's `relay.Node`: its `id` is the opaque
base64 of `TypeName:key` (strawberry's `GlobalID`). The key is the URN for sources, schemas, tables and columns
(stable across re-crawls, and the only key of a dataset known only from OpenLineage) and the row's own key for the
others (a job's id, a profile run's number). The row's key stays readable as `databaseId`, which is what the
mutations that take an `id: Int` (a source's, a profile's, a rule's) expect; a job's and a webhook's own ids are text
and show as `jobId` and `webhookId`, whose look-ups and mutations take the global `id` as well.

A type becomes fetchable by `register_node(Type, lookup, lookup_many, permission)`: `lookup(session, key)` is the
same service query its own look-up field calls, so `node(id:)` answers exactly what that field answers (PII masking
included, since the service's views apply it); `lookup_many(session, keys)` answers the same views for many keys at
once (those it finds), in a fixed number of statements, for `nodes(ids:)`; `permission`, when the type's look-up
field declares one, is checked the same way. A malformed id, or one naming a type this API does not serve, is an
`invalid_input` error on `id` (`ids.<n>` for `nodes`); a well-formed id of an object that does not exist (any more)
is `not_found` for `node` and null in its place for `nodes`.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

import strawberry
from sqlalchemy.orm import Session
from strawberry import relay
from strawberry.relay.utils import to_base64

from catalog_api.errors import InvalidInput, NotFound
from catalog_api.graphql.context import Info
from catalog_api.graphql.lean import in_line
from catalog_api.security.identity import Permission
from catalog_api.services.authentication import require
from catalog_api.services.views import MAX_ID

MAX_NODE_ID = 4096
"""The longest global id `node` takes: the base64 of a type name and the longest URN, with room to spare."""
MAX_NODES = 100
"""The most ids one `nodes` call takes."""

_NOT_OURS = "not an `id` this API gave out (read an object's `id` field)"


@dataclass(frozen=True, slots=True)
class NodeKind:
    """How `node(id:)` fetches objects of one type: the type (built by `Type.of(view)`), the service query that finds
    the view by key, and the permission its own look-up field needs beyond reading the catalog, if any."""

    type: type
    lookup: Callable[[Session, str], Any]
    lookup_many: Callable[[Session, list[str]], dict[str, Any]]
    permission: Permission | None = None


NODE_KINDS: dict[str, NodeKind] = {}
"""The fetchable types by GraphQL type name."""


def _type_name(node: Any) -> str:
    return type(node).__strawberry_definition__.name


def node_id(key: str) -> Any:
    """The `id` field of a node type: the global id of the object's attribute `key`. It replaces `relay.Node`'s own,
    which strawberry resolves through its whole per-field chain: a frontend (Relay's compiler adds `id` to every
    selection of a node) asks for it on every item of a page, so it is read in line (`lean.in_line`) like `tags`."""

    def text(node: Any, _context: Any = None) -> str:
        return to_base64(_type_name(node), getattr(node, key))

    @in_line(text)
    def resolve(self: Any) -> Any:
        return relay.GlobalID(_type_name(self), str(getattr(self, key)))

    resolve.__annotations__ = {"self": Any, "return": relay.GlobalID}
    return strawberry.field(resolver=resolve, name="id", description="The Globally Unique ID of this object")


class KeyedNode(relay.Node):
    """Mixed into a node type whose key is its private `id` attribute (the row's own key); the type declares
    `_id = node_id("id")` itself (strawberry reads fields from the decorated class, not from this mixin)."""

    @classmethod
    def resolve_id(cls, root: Any, *, info: Any) -> str:  # for strawberry's own relay helpers
        return str(root.id)


def register_node(cls: type, lookup: Callable[[Session, str], Any],
                  lookup_many: Callable[[Session, list[str]], dict[str, Any]],
                  permission: Permission | None = None) -> type:
    """Makes `node(id:)` answer with objects of `cls`, found by `lookup(session, key)`, and `nodes(ids:)` with those
    `lookup_many(session, keys)` finds; returns `cls`."""
    kind = NodeKind(cls, lookup, lookup_many, permission)
    NODE_KINDS[cls.__strawberry_definition__.name] = kind  # type: ignore[attr-defined]
    return cls


def numbered(lookup_many: Callable[[Session, list[int]], dict[int, Any]]
             ) -> Callable[[Session, list[str]], dict[str, Any]]:
    """A `lookup_many` by the integer keys of the global ids (`row_number`): a key that cannot be one finds nothing."""

    def lookup(session: Session, keys: list[str]) -> dict[str, Any]:
        numbers = {key: int(key) for key in keys if key.isascii() and key.isdigit() and int(key) <= MAX_ID}
        found = lookup_many(session, list(set(numbers.values()))) if numbers else {}
        return {key: found[number] for key, number in numbers.items() if number in found}

    return lookup


def row_number(key: str) -> int:
    """The integer key inside a global id (one this API gave out holds digits only, up to `MAX_ID`)."""
    if not (key.isascii() and key.isdigit()) or int(key) > MAX_ID:
        raise NotFound(f"nothing has the id {key!r}", field="id")
    return int(key)


def global_id(type_name: str, key: Any) -> str:
    """The global id of the object of `type_name` keyed by `key`, as its `id` field shows it."""
    return to_base64(type_name, key)


def parse_global_id(value: str, field: str = "id") -> tuple[str, str]:
    """The type name and key of a global id; `InvalidInput` on `field` when it is not one this API could give out."""
    if len(value) > MAX_NODE_ID:
        raise InvalidInput(field, f"an id has at most {MAX_NODE_ID} characters")
    try:
        decoded = base64.b64decode(value.encode("ascii"), validate=True).decode("utf-8")
    except (UnicodeError, binascii.Error, ValueError):
        raise InvalidInput(field, _NOT_OURS) from None
    type_name, colon, key = decoded.partition(":")
    if not colon or not type_name or not key or global_id(type_name, key) != value:
        raise InvalidInput(field, _NOT_OURS)
    return type_name, key


def key_of(value: str, type_name: str) -> str:
    """`value` itself, or the key inside it when it is the global id of a `type_name` object: an argument that takes a
    row's own key (a job's id) takes the object's `id` too, as clients that read `id` before it became global do."""
    try:
        found, key = parse_global_id(value)
    except InvalidInput:
        return value
    return key if found == type_name else value


def database_id(description: str, *, name: str = "databaseId", kind: Any = int | None) -> Any:
    """The field that shows a node's own key (its private `id` attribute) as it is: `databaseId: Int` for the rows
    keyed by number, nullable on every type (a reported table has none) so that one selection of `databaseId`
    across types stays valid GraphQL; a key of text takes a name of its own (`jobId`), for the same reason."""

    def resolve(self: Any) -> Any:
        return self.id

    resolve.__annotations__ = {"self": Any, "return": kind}
    return strawberry.field(resolver=resolve, name=name, description=description)


async def fetch_node(info: Info, value: str) -> relay.Node:
    """The object a global id names, checked and looked up as its own look-up field would."""
    type_name, key = parse_global_id(value)
    kind = NODE_KINDS.get(type_name)
    if kind is None:
        raise InvalidInput("id", _NOT_OURS)
    if kind.permission is not None:
        require(info.context.identity, kind.permission, f"node of type {type_name}")
    return kind.type.of(await info.context.query(kind.lookup, key))  # type: ignore[attr-defined]


async def fetch_nodes(info: Info, values: list[str]) -> list[relay.Node | None]:
    """The objects these global ids name, in their order, null for those that do not exist: one session and one
    `lookup_many` per type asked, whatever the number of ids."""
    if len(values) > MAX_NODES:
        raise InvalidInput("ids", f"at most {MAX_NODES} ids per call (ask for the rest in another)")
    wanted: list[tuple[NodeKind, str]] = []
    for index, value in enumerate(values):
        type_name, key = parse_global_id(value, field=f"ids.{index}")
        kind = NODE_KINDS.get(type_name)
        if kind is None:
            raise InvalidInput(f"ids.{index}", _NOT_OURS)
        wanted.append((kind, key))
    keys: dict[NodeKind, list[str]] = {}
    for kind, key in wanted:
        keys.setdefault(kind, []).append(key)
    for kind in keys:
        if kind.permission is not None:
            require(info.context.identity, kind.permission,
                    f"nodes of type {kind.type.__strawberry_definition__.name}")  # type: ignore[attr-defined]

    def look_up(session: Session) -> dict[NodeKind, dict[str, Any]]:
        return {kind: kind.lookup_many(session, list(dict.fromkeys(asked))) for kind, asked in keys.items()}

    found = await info.context.query(look_up)
    return [None if (view := found[kind].get(key)) is None else kind.type.of(view)  # type: ignore[attr-defined]
            for kind, key in wanted]


@strawberry.type
class NodeQuery:
    """The Relay `node` query (inherited by `Query`)."""

    @strawberry.field(description="Any object by its global `id` (Relay's object identification): a source, schema, "
                                  "table, column, job, profile run, quality rule or webhook. `entity(urn:)` finds "
                                  "the first four by URN.")
    async def node(self, info: Info, node_id: Annotated[strawberry.ID, strawberry.argument(name="id")]
                   ) -> relay.Node | None:
        return await fetch_node(info, node_id)

    @strawberry.field(description=f"Objects by their global `id`s, in the order asked, null for an id of an object "
                                  f"that does not exist (any more); at most {MAX_NODES} ids. Costs the same number "
                                  "of statements for one id as for a hundred.")
    async def nodes(self, info: Info, ids: list[strawberry.ID]) -> list[relay.Node | None]:
        return await fetch_nodes(info, ids)
