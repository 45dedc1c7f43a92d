"""What one GraphQL document may ask for, checked before graphql-core validates or runs it.

A refused document costs little, whatever its size, because each check bounds the work of the next:

1. **tokens** (strawberry's `MaxTokensLimiter`): the parser stops past `graphql_max_tokens` tokens, comments
   included, so a huge document never becomes a syntax tree;
2. **fields and cost** (`OperationShape`, one walk of the operation that gives up as soon as it passes the field
   limit): the fields once fragments are expanded, where a response name repeated n times in one selection counts
   n² (graphql-core's overlapping-fields rule compares every pair, which is what made floods of aliases slow), and
   the cost: each field counts 1, and a list or connection field multiplies the cost of its selection by its
   `first`/`limit` argument (by the argument's default, or by `graphql_default_list_size` when there is none);
   fields that execution merges count once;
3. **aliases and depth** (strawberry's `MaxAliasesLimiter` and `QueryDepthLimiter`). Both expand every fragment
   spread again where it is used, so a chain of fragments each spreading the next twice made them exponential
   (a 193-token document kept the depth limiter busy for 1.5 s); after step 2 they walk a bounded tree.

A refusal is a GraphQL error whose `extensions.code` is `query_too_complex` (the `QueryTooComplex` body of
`catalog_api.errors`); over HTTP it is answered with status 400 (`refusal_status`), over graphql-transport-ws as the
operation's `error` message (a document over the token limit is a syntax error there: the socket closes with 4400).
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLSyntaxError,
    GraphQLUnionType,
    InlineFragmentNode,
    NamedTypeNode,
    OperationDefinitionNode,
    SelectionSetNode,
    Undefined,
    get_named_type,
    get_nullable_type,
    is_introspection_type,
    is_list_type,
    validate,
)
from graphql.utilities import value_from_ast_untyped
from strawberry.extensions import MaxAliasesLimiter, MaxTokensLimiter, QueryDepthLimiter

from catalog_api.errors import QueryTooComplex
from catalog_api.graphql.errors import error_extensions
from catalog_api.settings import Settings

K = TypeVar("K")
V = TypeVar("V")

# Arguments that say how many items a list or connection field returns.
PAGE_ARGUMENTS = ("first", "limit")


@dataclass(frozen=True, slots=True)
class GraphQLLimits:
    """The limits a document must stay within (the `graphql_*` settings)."""

    max_tokens: int
    max_aliases: int
    max_depth: int
    max_fields: int
    max_cost: int
    default_list_size: int

    @classmethod
    def of(cls, settings: Settings) -> GraphQLLimits:
        return cls(settings.graphql_max_tokens, settings.graphql_max_aliases, settings.graphql_max_depth,
                   settings.graphql_max_fields, settings.graphql_max_cost, settings.graphql_default_list_size)


class _OverFieldLimit(Exception):
    """Stops the walk as soon as the document is known to be too large."""


_Composite = GraphQLObjectType | GraphQLInterfaceType | GraphQLUnionType
# A selection set or a field, with its parent type and the fragments spread on the way to it.
_Pending = tuple[SelectionSetNode, Any, frozenset[str]]
_Field = tuple[FieldNode, Any, frozenset[str]]


class OperationShape:
    """The fields (repeats counted squared) and the cost of an operation, fragments expanded as the validators
    expand them: a spread again wherever it is used, except inside itself."""

    def __init__(self, schema: GraphQLSchema, document: DocumentNode, *, operation_name: str | None = None,
                 variables: dict[str, Any] | None = None, default_list_size: int = 100,
                 max_fields: int | None = None) -> None:
        self.schema = schema
        self.default_list_size = default_list_size
        self.max_fields = max_fields
        self.fields = 0
        self.cost = 0
        self.sound = True  # False when a spread names an unknown fragment or itself: graphql-core reports those
        self.complete = True
        self._fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)
                      and (operation_name is None or (d.name is not None and d.name.value == operation_name))]
        try:
            for operation in operations:
                self._variables = {v.variable.name.value: value_from_ast_untyped(v.default_value)
                                   for v in operation.variable_definitions or () if v.default_value is not None}
                self._variables.update(variables or {})
                root = self.schema.get_root_type(operation.operation)
                self.cost = max(self.cost, self._selections([(operation.selection_set, root, frozenset())]))
        except _OverFieldLimit:
            self.complete = False

    def _spend(self, fields: int) -> None:
        self.fields += fields
        if self.max_fields is not None and self.fields > self.max_fields:
            raise _OverFieldLimit

    def _selections(self, pending: list[_Pending]) -> int:
        """The cost of selections that execution merges into one: fields grouped by response name."""
        groups: dict[str, list[_Field]] = {}
        for selection_set, parent, path in pending:
            self._collect(selection_set, parent, path, groups)
        return sum(self._field_cost(fields) for fields in groups.values())

    def _collect(self, selection_set: SelectionSetNode, parent: Any, path: frozenset[str],
                 groups: dict[str, list[_Field]]) -> None:
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                same = groups.setdefault((selection.alias or selection.name).value, [])
                self._spend(2 * len(same) + 1)  # n fields of one response name add up to n²
                same.append((selection, parent, path))
                continue
            self._spend(1)  # so that a chain of empty fragments cannot make the walk long for free
            if isinstance(selection, InlineFragmentNode):
                self._collect(selection.selection_set, self._type(selection.type_condition, parent), path, groups)
                continue
            assert isinstance(selection, FragmentSpreadNode)
            name = selection.name.value
            fragment = self._fragments.get(name)
            if fragment is None or name in path:
                self.sound = False
                continue
            self._collect(fragment.selection_set, self._type(fragment.type_condition, parent), path | {name}, groups)

    def _type(self, condition: NamedTypeNode | None, parent: Any) -> Any:
        return parent if condition is None else self.schema.get_type(condition.name.value)

    def _field_cost(self, fields: list[_Field]) -> int:
        node, parent, _path = fields[0]
        definition = self.schema.get_field(parent, node.name.value) if isinstance(parent, _Composite) else None
        child = get_named_type(definition.type) if definition is not None else None
        pending = [(f.selection_set, child, path) for f, _parent, path in fields if f.selection_set is not None]
        if not pending:
            return 1
        multiplier = max(self._multiplier(f, definition, parent) for f, _p, _path in fields) if definition else 1
        return 1 + multiplier * self._selections(pending)

    def _multiplier(self, node: FieldNode, definition: GraphQLField, parent: Any) -> int:
        if is_introspection_type(parent) or is_introspection_type(get_named_type(definition.type)):
            return 1  # introspection lists are as long as the schema, whatever the query asks
        for name in PAGE_ARGUMENTS:
            if name in definition.args:
                given = next((a.value for a in node.arguments or () if a.name.value == name), None)
                value = value_from_ast_untyped(given, self._variables) if given is not None else None
                if value is None or value is Undefined:
                    value = definition.args[name].default_value
                return max(1, value) if isinstance(value, int) and not isinstance(value, bool) \
                    else self.default_list_size
        if is_list_type(get_nullable_type(definition.type)) and not (
                isinstance(parent, GraphQLObjectType) and "pageInfo" in parent.fields):
            return self.default_list_size  # a connection's edges: its `first` already counted them
        return 1


def _refusal(message: str, error: GraphQLError | None = None) -> GraphQLError:
    _message, extensions = error_extensions(QueryTooComplex(message))
    return GraphQLError(message, nodes=error.nodes if error else None, extensions=extensions)


CACHED_DOCUMENT_CHARS = 16_384
"""Documents up to this length are parsed and validated once per process and set of variables (a frontend sends the
same few again and again); longer ones every time, so the caches stay small whatever clients send."""


class _Recent(Generic[K, V]):
    """The `size` most recently used entries (a bounded LRU map, safe across threads)."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)


# Parsed documents (graphql-core never changes one while it executes it), and the documents that passed validation.
_PARSED: _Recent[tuple[str, int], DocumentNode] = _Recent(64)
_PASSED: _Recent[tuple, bool] = _Recent(256)


def _document_key(query: str | None, max_tokens: int) -> tuple[str, int] | None:
    return (query, max_tokens) if query and len(query) <= CACHED_DOCUMENT_CHARS else None


class QueryLimits(MaxTokensLimiter):
    """Refuses documents over the `GraphQLLimits` (see the module's docstring) before graphql-core validates them."""

    def __init__(self, limits: GraphQLLimits) -> None:
        super().__init__(max_token_count=limits.max_tokens)
        self.limits = limits
        self._rules = (*MaxAliasesLimiter(limits.max_aliases).validation_rules,
                       *QueryDepthLimiter(max_depth=limits.max_depth).validation_rules)

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        key = _document_key(context.query, self.max_token_count)
        if key is not None and context.graphql_document is None:
            context.graphql_document = _PARSED.get(key)  # strawberry parses only when this leaves it None
        yield
        if key is not None and context.graphql_document is not None and not context.pre_execution_errors:
            _PARSED.put(key, context.graphql_document)
        for error in context.pre_execution_errors or ():
            # The parser's own error, tagged in place: strawberry holds it in two lists, and the transports read both.
            if isinstance(error, GraphQLSyntaxError) and f"more than {self.max_token_count} tokens" in error.message:
                error.extensions = _refusal(error.message).extensions

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        key = self._validation_key(context)
        if key is not None and context.pre_execution_errors is None and _PASSED.get(key):
            context.pre_execution_errors = []  # passed the limits and graphql-core's validation before
            yield
            return
        if context.graphql_document is not None and context.pre_execution_errors is None:
            errors = self.check(context.schema._schema, context.graphql_document, context.operation_name,
                                context.variables)
            if errors:
                context.pre_execution_errors = errors  # graphql-core's validation then does not run
        yield
        if key is not None and context.pre_execution_errors == []:
            _PASSED.put(key, True)

    def _validation_key(self, context: Any) -> tuple | None:
        """What the outcome of validation depends on: the schema, the limits, the document, the operation and the
        variables (the cost reads `first` and `limit` from them); None for a document not worth remembering."""
        if _document_key(context.query, self.max_token_count) is None:
            return None
        try:
            variables = json.dumps(context.variables, sort_keys=True, separators=(",", ":"))
        except (TypeError, ValueError):
            return None
        if len(variables) > CACHED_DOCUMENT_CHARS:
            return None
        return id(context.schema._schema), self.limits, context.query, context.operation_name, variables

    def check(self, schema: GraphQLSchema, document: DocumentNode, operation_name: str | None,
              variables: dict[str, Any] | None) -> list[GraphQLError]:
        limits = self.limits
        try:
            shape = OperationShape(schema, document, operation_name=operation_name, variables=variables,
                                   default_list_size=limits.default_list_size, max_fields=limits.max_fields)
        except RecursionError:
            return [_refusal("the document nests too deeply")]
        if not shape.complete:
            return [_refusal(f"the operation selects more than {limits.max_fields} fields once its fragments are "
                             "expanded (a field repeated n times under one parent counts n²)")]
        if shape.cost > limits.max_cost:
            return [_refusal(f"the operation's estimated cost {shape.cost:,} is over the budget of "
                             f"{limits.max_cost:,}: ask for smaller pages (`first`, `limit`) or fewer fields")]
        if not shape.sound:
            return []
        return [_refusal(error.message, error) for error in validate(schema, document, self._rules)]


def refusal_status(response: Any) -> int | None:
    """The HTTP status of a GraphQL-over-HTTP answer that refused the document over a limit, else None."""
    errors = response.get("errors") if isinstance(response, dict) and response.get("data") is None else None
    if errors and all((e.get("extensions") or {}).get("code") == QueryTooComplex.code for e in errors):
        return QueryTooComplex.status
    return None
