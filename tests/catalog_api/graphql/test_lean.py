"""The lean execution path (catalog_api.graphql.lean) answers exactly what strawberry and graphql-core answer: the
same schema run with and without it is the oracle, on values it completes in line and on those it hands back."""

from enum import Enum

import strawberry

from catalog_api.graphql.lean import NOT_IN_LINE, LeanExecutionContext, in_line, install_lean_resolvers


@strawberry.enum
class Colour(Enum):
    RED = "red"


@strawberry.type
class Thing:
    name: str
    note: str | None
    colour: Colour
    count: int

    @strawberry.field
    @in_line(lambda thing, context: context.get(thing.name, NOT_IN_LINE))
    def labels(self, info: strawberry.Info) -> list[str]:
        return ["resolved"]


THINGS = [Thing(name="a", note=None, colour=Colour.RED, count=1), Thing(name="b", note="n", colour=Colour.RED, count=2),
          Thing(name=None, note="x", colour=Colour.RED, count=2**40)]  # type: ignore[arg-type]


@strawberry.type
class Query:
    @strawberry.field
    def things(self) -> list[Thing]:
        return THINGS


QUERY = "{ things { name note colour count labels } }"


def _run(lean: bool) -> dict:
    schema = strawberry.Schema(Query, execution_context_class=LeanExecutionContext if lean else None)
    if lean:
        install_lean_resolvers(schema)
    result = schema.execute_sync(QUERY, context_value={"a": ["in", "line"], "b": None})
    return {"data": result.data, "errors": sorted((e.message, tuple(e.path)) for e in result.errors or [])}


def test_lean_execution_answers_what_graphql_core_answers():
    lean, plain = _run(lean=True), _run(lean=False)
    assert lean == plain
    # the null of a non-null name is reported by graphql-core's own path, and nulls the whole list
    assert lean["errors"] == [("Cannot return null for non-nullable field Thing.name.", ("things", 2, "name"))]
    assert lean["data"] is None or lean["data"]["things"] is None


def test_values_a_type_refuses_are_reported_as_graphql_core_reports_them():
    THINGS[2].name = "c"  # an Int out of range is left
    try:
        lean, plain = _run(lean=True), _run(lean=False)
    finally:
        THINGS[2].name = None  # type: ignore[assignment]
    assert lean == plain
    assert [path for _, path in lean["errors"]] == [("things", 2, "count")]


def test_in_line_readers_give_the_value_the_request_has():
    schema = strawberry.Schema(Query, execution_context_class=LeanExecutionContext)
    install_lean_resolvers(schema)
    result = schema.execute_sync("{ things { labels } }", context_value={"a": ["in", "line"]})
    assert result.errors is None
    assert [t["labels"] for t in result.data["things"]] == [["in", "line"], ["resolved"], ["resolved"]]
