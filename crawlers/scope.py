"""Include/exclude patterns that bound what discovery reads from a source."""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

# A pattern is a glob over identifiers: letters (any script), digits, `_ $ - . space` and the glob characters
# `* ? [ ] !`. Quotes, semicolons, backslashes and control characters can never be part of one, so a pattern
# can never smuggle SQL into a source even if a future connector pushed it down into a query.
_PATTERN = re.compile(r"^[\w$\-. *?\[\]!]+$")
MAX_PATTERN_LENGTH = 255


def validate_pattern(pattern: str) -> str:
    if not pattern or len(pattern) > MAX_PATTERN_LENGTH:
        raise ValueError(f"a pattern must have 1 to {MAX_PATTERN_LENGTH} characters")
    if not _PATTERN.match(pattern):
        raise ValueError(
            "a pattern may contain only letters, digits, spaces, `_ $ - .` and the glob characters `* ? [ ] !`"
        )
    return pattern


Pattern = Annotated[str, AfterValidator(validate_pattern)]


@dataclass(frozen=True, slots=True)
class Scope:
    """Glob patterns (fnmatch, case-sensitive). Table patterns match `schema.table`, or `table` when they hold no dot.

    An empty include list means everything; an exclude always wins over an include.
    """

    include_schemas: tuple[str, ...] = ()
    exclude_schemas: tuple[str, ...] = ()
    include_tables: tuple[str, ...] = ()
    exclude_tables: tuple[str, ...] = ()

    def schema_in_scope(self, schema: str) -> bool:
        return _selected(schema, self.include_schemas, self.exclude_schemas, lambda p: schema)

    def table_in_scope(self, schema: str, table: str) -> bool:
        def subject(pattern: str) -> str:
            return f"{schema}.{table}" if "." in pattern else table

        return _selected(table, self.include_tables, self.exclude_tables, subject)


def _selected(name: str, include: tuple[str, ...], exclude: tuple[str, ...], subject) -> bool:
    if any(fnmatch.fnmatchcase(subject(p), p) for p in exclude):
        return False
    return not include or any(fnmatch.fnmatchcase(subject(p), p) for p in include)


class ScopedConfig(BaseModel):
    """Configuration fields shared by every connector that reads a catalog of schemas and tables."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    include_schemas: list[Pattern] = Field(default_factory=list, max_length=200)
    exclude_schemas: list[Pattern] = Field(default_factory=list, max_length=200)
    include_tables: list[Pattern] = Field(default_factory=list, max_length=1000)
    exclude_tables: list[Pattern] = Field(default_factory=list, max_length=1000)

    def scope(self) -> Scope:
        return Scope(
            tuple(self.include_schemas),
            tuple(self.exclude_schemas),
            tuple(self.include_tables),
            tuple(self.exclude_tables),
        )
