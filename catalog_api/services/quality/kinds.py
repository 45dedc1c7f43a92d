"""What a data-quality rule may check: one typed parameter model per `kind`, validated as a discriminated union.

Every transport (REST, GraphQL, the CLI and rule files) sends the same envelope, `RuleDefinition`: the rule's name,
kind, column, severity, owner, description and `params`. `checked_rule` validates `params` against its kind's model,
so a mistake is named as `params.<field>` (or `kind`, `column`), never as pydantic's internal union path.

The parameters are what an evaluator needs to turn a rule into aggregates of the profile pass (a null count, a
distinct count, min/max, a regex match count) or, for `custom_sql`, into one read-only query.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal, Union

import sqlglot
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)
from sqlglot import exp

from catalog_api.db.models import NAME_LENGTH
from catalog_api.db.quality import RULE_NAME_LENGTH
from catalog_api.errors import InvalidInput, invalid_input_from_validation
from catalog_api.services.quality.views import definition_of
from catalog_api.services.text import reject_nul
from catalog_api.services.views import MAX_ID

RULE_NAME = rf"^[A-Za-z0-9][A-Za-z0-9_.\-]{{0,{RULE_NAME_LENGTH - 1}}}$"
MAX_OWNER = 255
MAX_DESCRIPTION = 20_000
MAX_PARAMS = 20
MAX_ACCEPTED_VALUES = 1000
MAX_VALUE_LENGTH = 1000
MAX_PATTERN = 1000
MAX_SQL = 20_000
MAX_AGE = re.compile(r"^([1-9][0-9]{0,5})([mhd])$")
_SECONDS = {"m": 60, "h": 3600, "d": 86400}

Severity = Literal["warning", "error"]
Target = Literal["column", "table", "either"]
RuleKind = Literal["not_null", "unique", "accepted_values", "range", "regex", "length", "type_conformance",
                   "row_count", "row_count_change", "freshness", "custom_sql"]
LAKE_DIALECT = "spark"
"""Custom SQL run against the lake is Spark SQL: the profiler's engine reads the lake."""


class RuleDefinition(BaseModel):
    """A rule as callers write it (and as rule files hold it): `params` depends on `kind` (docs/quality.md)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=RULE_NAME_LENGTH, pattern=RULE_NAME,
                      description="Stable key of the rule within its table: letters, digits, `_`, `.`, `-`.")
    kind: RuleKind = Field(description="What the rule checks.")
    column: str | None = Field(default=None, min_length=1, max_length=NAME_LENGTH,
                               description="The column a column rule checks (the timestamp column of `freshness`).")
    params: dict[str, Any] = Field(default_factory=dict, max_length=MAX_PARAMS,
                                   description="The kind's parameters, e.g. `{\"min\": 0, \"max\": 100}` for `range`.")
    severity: Severity = Field(default="error", description="How bad a failure is.")
    owner: str | None = Field(default=None, min_length=1, max_length=MAX_OWNER,
                              description="Who answers for the rule (a person or a team).")
    description: str | None = Field(default=None, max_length=MAX_DESCRIPTION, description="Why the rule exists.")


class _Params(BaseModel):
    """Base of every kind's parameters; `target` says whether the rule needs, refuses or may name a column."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    target: ClassVar[Target] = "column"


def _at_least_one(value: Any, info: ValidationInfo, other: str) -> Any:
    """For the second of two optional bounds (declared with `validate_default`): one of them must be given."""
    if value is None and other in info.data and info.data[other] is None:  # absent from data: it failed itself
        raise ValueError(f"give {other}, {info.field_name} or both")
    return value


def _ordered(value: Any, info: ValidationInfo, lower: str) -> Any:
    low = info.data.get(lower)
    if value is not None and low is not None and low > value:
        raise ValueError(f"must be at least {lower} ({low})")
    return value


class NotNullParams(_Params):
    kind: Literal["not_null"]


class UniqueParams(_Params):
    kind: Literal["unique"]


def _number(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError("must be a number")
    if not math.isfinite(value):  # YAML's .inf and .nan: JSON, and so the stored parameters, cannot hold them
        raise ValueError("must be a finite number")
    return value


def _scalar(value: Any) -> Any:
    if isinstance(value, str):
        if len(value) > MAX_VALUE_LENGTH:
            raise ValueError(f"a value has at most {MAX_VALUE_LENGTH} characters")
        return value
    if not isinstance(value, (int, float, bool)):
        raise ValueError("must be a string, a number or a boolean")
    return value if isinstance(value, bool) else _number(value)


# One type each (not a union), so an error names the parameter itself rather than a union member; ints stay ints.
Number = Annotated[Any, AfterValidator(_number), WithJsonSchema({"type": "number"})]
Scalar = Annotated[Any, AfterValidator(_scalar), WithJsonSchema({"type": ["string", "number", "boolean"]})]


class AcceptedValuesParams(_Params):
    kind: Literal["accepted_values"]
    values: list[Scalar] = Field(min_length=1, max_length=MAX_ACCEPTED_VALUES,
                                 description="Every non-null value is one of these.")

    @field_validator("values")
    @classmethod
    def _distinct(cls, values: list[Any]) -> list[Any]:
        if len({(type(v), v) for v in values}) != len(values):
            raise ValueError("lists a value twice")
        return values


class _Bounds(_Params):
    """Bounds `min` and `max`, at least one given, `min ≤ max` (a subclass narrows their type)."""

    min: Number | None = None
    max: Number | None = Field(default=None, validate_default=True)

    @field_validator("max")
    @classmethod
    def _bounds(cls, value: Any, info: ValidationInfo) -> Any:
        return _ordered(_at_least_one(value, info, "min"), info, "min")


class RangeParams(_Bounds):
    kind: Literal["range"]


class RegexParams(_Params):
    kind: Literal["regex"]
    pattern: str = Field(min_length=1, max_length=MAX_PATTERN, description="Every non-null value matches it.")

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, pattern: str) -> str:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"is not a valid regular expression: {exc}") from None
        return pattern


class _CountBounds(_Bounds):
    """Whole-number bounds: of a value's length, or of a table's row count."""

    min: int | None = Field(default=None, ge=0)
    max: int | None = Field(default=None, ge=0, validate_default=True)


class LengthParams(_CountBounds):
    kind: Literal["length"]


class TypeConformanceParams(_Params):
    kind: Literal["type_conformance"]
    type: Literal["integer", "decimal", "boolean", "date", "timestamp", "uuid"] = Field(
        description="Every non-null value reads as this type (for columns stored as text).")


class RowCountParams(_CountBounds):
    target: ClassVar[Target] = "table"
    kind: Literal["row_count"]


class RowCountChangeParams(_Params):
    target: ClassVar[Target] = "table"
    kind: Literal["row_count_change"]
    max_increase_pct: Number | None = Field(default=None, ge=0)
    max_decrease_pct: Number | None = Field(default=None, ge=0, le=100, validate_default=True)

    @field_validator("max_decrease_pct")
    @classmethod
    def _one(cls, value: Any, info: ValidationInfo) -> Any:
        return _at_least_one(value, info, "max_increase_pct")


class FreshnessParams(_Params):
    """The newest value of `column` (a timestamp), or without a column the last successful extraction, is at most
    `max_age` old."""

    target: ClassVar[Target] = "either"
    kind: Literal["freshness"]
    max_age: str = Field(max_length=8, description="`30m`, `6h` or `2d`.")

    @field_validator("max_age")
    @classmethod
    def _duration(cls, value: str) -> str:
        if not MAX_AGE.match(value):
            raise ValueError("a whole number of minutes, hours or days, e.g. 30m, 6h or 2d")
        return value

    @property
    def max_age_s(self) -> int:
        amount, unit = MAX_AGE.match(self.max_age).groups()  # type: ignore[union-attr]
        return int(amount) * _SECONDS[unit]


class CustomSqlParams(_Params):
    """A query that returns the failing rows: the rule passes when it returns at most `max_failing_rows` rows."""

    target: ClassVar[Target] = "table"
    kind: Literal["custom_sql"]
    run_against: Literal["source", "lake"] = "source"
    sql: str = Field(min_length=1, max_length=MAX_SQL)
    max_failing_rows: int = Field(default=0, ge=0, le=MAX_ID)

    @field_validator("sql")
    @classmethod
    def _single_select(cls, sql: str, info: ValidationInfo) -> str:
        dialects = (info.context or {}).get("dialects")
        if dialects is not None:  # the service knows the source's dialect; without it only the size is checked
            single_select(sql, dialects.get(info.data.get("run_against", "source")))
        return sql


Params = Annotated[Union[NotNullParams, UniqueParams, AcceptedValuesParams, RangeParams, RegexParams,  # noqa: UP007
                         LengthParams, TypeConformanceParams, RowCountParams, RowCountChangeParams, FreshnessParams,
                         CustomSqlParams], Field(discriminator="kind")]
_PARAMS: TypeAdapter[_Params] = TypeAdapter(Params)

# Statements (or parts of one) that write or lock: a rule's query only reads.
_WRITES = (exp.Insert, exp.Update, exp.Delete, exp.Merge, exp.Create, exp.Drop, exp.Alter, exp.TruncateTable,
           exp.Command, exp.Into, exp.Lock, exp.Copy, exp.Set, exp.Grant, exp.Use, exp.Pragma)


def single_select(sql: str, dialect: str | None) -> None:
    """Raises ValueError unless `sql` parses, in `dialect`, as exactly one query that only reads."""
    if dialect is None:
        raise ValueError("this source's kind runs no SQL; run the query against the lake (`run_against: lake`)")
    try:
        statements = [s for s in sqlglot.parse(sql, read=dialect) if s is not None]
    except sqlglot.errors.SqlglotError as exc:
        raise ValueError(f"does not parse as {dialect} SQL: {str(exc).splitlines()[0]}") from None
    if len(statements) != 1:
        raise ValueError(f"must be exactly one statement, found {len(statements)}")
    if not isinstance(statements[0], exp.Query):
        raise ValueError("must be a SELECT that returns the failing rows")
    written = next((node for node in statements[0].walk() if isinstance(node, _WRITES)), None)
    if written is not None:
        raise ValueError(f"must only read: it holds {type(written).__name__.upper()}")
    if dialect == LAKE_DIALECT and (problem := lake_query_problem(statements[0])) is not None:
        raise ValueError(problem)


_LAKE_FUNCTIONS_REFUSED = frozenset({"reflect", "java_method", "try_reflect"})
"""Spark SQL functions that call any Java method on the worker: a rule's query never needs them."""
_LAKE_TABLE_FUNCTIONS = frozenset({"range"})
"""The table-valued functions a lake query may read besides the source's tables (`read_files` would read any file)."""


def lake_query_problem(query: exp.Expression) -> str | None:
    """Why a Spark SQL query may not run against the lake, or None: it reads tables of the source (and `range`), and
    calls no function that reaches outside Spark SQL."""
    for node in query.walk():
        if isinstance(node, exp.Table) and not isinstance(node.this, exp.Identifier) and node.this is not None:
            name = node.this.name if isinstance(node.this, exp.Func) else type(node.this).__name__
            if name.casefold() not in _LAKE_TABLE_FUNCTIONS:
                return f"may read only tables of the source (and range()), not {name}()"
        elif isinstance(node, exp.Anonymous) and node.name.casefold() in _LAKE_FUNCTIONS_REFUSED:
            return f"may not call {node.name.casefold()}(): it reaches outside Spark SQL"
    return None


@dataclass(frozen=True, slots=True)
class CheckedRule:
    """A definition whose parameters were validated against its kind."""

    definition: RuleDefinition
    params: _Params

    def stored_params(self) -> dict[str, Any]:
        return self.params.model_dump(mode="json", exclude={"kind"}, exclude_none=True)

    def stored_definition(self) -> dict[str, Any]:
        """The definition as it is stored and read back (`views.definition`)."""
        spec = self.definition
        return definition_of(name=spec.name, kind=spec.kind, column=spec.column, params=self.stored_params(),
                             severity=spec.severity, owner=spec.owner, description=spec.description)


def checked_rule(definition: RuleDefinition | Mapping[str, Any], *, dialects: Mapping[str, str | None],
                 field: str = "") -> CheckedRule:
    """`definition` with its parameters validated against its kind; `InvalidInput` naming every bad field (under
    `field`, e.g. `tables.0.rules.3`), and the column a column rule needs."""
    prefix = f"{field}." if field else ""
    raw = definition.model_dump() if isinstance(definition, RuleDefinition) else definition
    for key, value in raw.items() if isinstance(raw, Mapping) else ():
        reject_nul(f"{prefix}{key}", value)  # PostgreSQL's text cannot hold NUL: refused here, not as a 500
    if not isinstance(definition, RuleDefinition):
        try:
            definition = RuleDefinition.model_validate(definition)
        except ValidationError as exc:
            raise _invalid(exc, prefix, strip_tag=False) from None
    try:
        params = _PARAMS.validate_python({**definition.params, "kind": definition.kind},
                                         context={"dialects": dialects})
    except ValidationError as exc:
        raise _invalid(exc, f"{prefix}params.", strip_tag=True) from None
    target = params.target
    if target == "column" and definition.column is None:
        raise InvalidInput(f"{prefix}column", f"a {definition.kind} rule checks a column: name it")
    if target == "table" and definition.column is not None:
        raise InvalidInput(f"{prefix}column", f"a {definition.kind} rule checks the whole table: give no column")
    return CheckedRule(definition, params)


def _invalid(exc: ValidationError, prefix: str, *, strip_tag: bool) -> InvalidInput:
    """The errors under `prefix`, less the union's tag (pydantic puts the kind first in a union member's path)."""
    parts = tuple(p for p in prefix.split(".") if p)
    return invalid_input_from_validation(
        [{**error, "loc": parts + tuple(error["loc"])[1 if strip_tag else 0:]} for error in exc.errors()],
        skip_prefixes=())
