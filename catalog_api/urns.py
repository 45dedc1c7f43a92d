"""Stable, human-readable URNs for every catalog entity (see docs/urns.md).

    urn:catalog:source:<source>
    urn:catalog:schema:<source>:<schema>
    urn:catalog:dataset:<source>:<schema>:<table>
    urn:catalog:column:<source>:<schema>:<table>:<column>

Glossary terms and domains belong to no source and can be renamed: they are named by their catalog id instead,
`urn:catalog:glossary_term:<id>` and `urn:catalog:domain:<id>`, as their events' subjects (they are not entities of
`parse_urn`).

Each name is kept as is, except that `%`, `:`, `/`, `?`, `#`, whitespace, control characters and the characters
`" < > \\ ^ ` { | }` are percent-encoded (UTF-8, upper-case hex), so names with separators stay unambiguous.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import unquote

from catalog_api.errors import InvalidInput

PREFIX = "urn:catalog:"
MAX_URN_LENGTH = 2048


class EntityType(StrEnum):
    """The kinds of entity a URN can name, with the number of names each carries."""

    SOURCE = "source"
    SCHEMA = "schema"
    DATASET = "dataset"
    COLUMN = "column"

    @property
    def depth(self) -> int:
        return {"source": 1, "schema": 2, "dataset": 3, "column": 4}[self.value]


def _needs_escape(ch: str) -> bool:
    return ch in '%:/?#"<>\\^`{|}' or ch.isspace() or ord(ch) < 0x20 or 0x7F <= ord(ch) < 0xA0


def escape(name: str) -> str:
    return "".join("".join(f"%{b:02X}" for b in ch.encode()) if _needs_escape(ch) else ch for ch in name)


def unescape(part: str) -> str:
    return unquote(part, errors="strict")


@dataclass(frozen=True, slots=True)
class Urn:
    """A parsed URN: the entity type and its names from the source down."""

    type: EntityType
    names: tuple[str, ...]

    def __str__(self) -> str:
        return PREFIX + self.type.value + ":" + ":".join(escape(n) for n in self.names)

    @property
    def source(self) -> str:
        return self.names[0]


def source_urn(source: str) -> str:
    return str(Urn(EntityType.SOURCE, (source,)))


def schema_urn(source: str, schema: str) -> str:
    return str(Urn(EntityType.SCHEMA, (source, schema)))


def dataset_urn(source: str, schema: str, table: str) -> str:
    return str(Urn(EntityType.DATASET, (source, schema, table)))


def column_urn(source: str, schema: str, table: str, column: str) -> str:
    return str(Urn(EntityType.COLUMN, (source, schema, table, column)))


def glossary_term_urn(term_id: int) -> str:
    return f"{PREFIX}glossary_term:{term_id}"


def domain_urn(domain_id: int) -> str:
    return f"{PREFIX}domain:{domain_id}"


def column_of_dataset(dataset: str, column: str) -> str:
    """The URN of `column` of the dataset whose (well-formed) URN is `dataset`."""
    return column_urn(*(unescape(n) for n in dataset.split(":")[3:]), column)


# One name in canonical form: a character that needs no escape, or the escape of an ASCII one that does (the escapes
# of non-ASCII whitespace and C1 controls are accepted too, but left out of the documented pattern for brevity).
_NAME = (r'(?:[^%:/?#"<>\\^`{|}\s\x00-\x1f\x7f-\x9f]'
         r"|%(?:25|3A|2F|3F|23|22|3C|3E|5C|5E|60|7B|7C|7D|20|[01][0-9A-F]|7F))+")


# A source's part: a registered source's name (services.sources.SOURCE_NAME), or a placeholder owner such as
# `_openlineage` (datasets of a namespace no source has). Change events refuse anything else.
_SOURCE = r"[A-Za-z0-9_.\-]{1,128}"
SOURCE_NAME = re.compile(_SOURCE)


def urn_pattern(*types: EntityType) -> str:
    """The regular expression (JSON Schema dialect) of canonical URNs of `types` (all types when none is given)."""
    chosen = types or tuple(EntityType)
    alternatives = "|".join(f"{t.value}:{_SOURCE}" + (f"(?::{_NAME}){{{t.depth - 1}}}" if t.depth > 1 else "")
                            for t in chosen)
    return f"^{PREFIX}(?:{alternatives})$"


_ESCAPE_SEQUENCE = re.compile(r"%(?![0-9A-Fa-f]{2})")


def parse_urn(text: str, *, field: str = "urn", expected: EntityType | None = None) -> Urn:
    """Parse and validate a URN; a malformed one raises `InvalidInput` naming `field` and the reason."""
    if not isinstance(text, str) or not text.startswith(PREFIX):
        raise InvalidInput(field, f"a URN starts with {PREFIX!r}, e.g. 'urn:catalog:dataset:erp:public:orders'")
    if len(text) > MAX_URN_LENGTH:
        raise InvalidInput(field, f"a URN has at most {MAX_URN_LENGTH} characters")
    entity, _, rest = text[len(PREFIX):].partition(":")
    try:
        entity_type = EntityType(entity)
    except ValueError:
        kinds = ", ".join(t.value for t in EntityType)
        raise InvalidInput(field, f"unknown entity type {entity!r} in URN; expected one of {kinds}") from None
    parts = rest.split(":") if rest else []
    if len(parts) != entity_type.depth or any(p == "" for p in parts):
        raise InvalidInput(
            field, f"a {entity_type.value} URN has {entity_type.depth} non-empty name(s) separated by ':'"
        )
    if any(_ESCAPE_SEQUENCE.search(p) for p in parts):
        raise InvalidInput(field, "'%' in a URN must start an escape such as %3A")
    try:
        names = tuple(unescape(p) for p in parts)
    except UnicodeDecodeError:
        raise InvalidInput(field, "the URN's percent-escapes are not valid UTF-8") from None
    urn = Urn(entity_type, names)
    if str(urn) != text:
        raise InvalidInput(field, f"the URN is not in canonical form; expected {str(urn)!r}")
    if expected is not None and entity_type is not expected:
        raise InvalidInput(field, f"expected a {expected.value} URN, got a {entity_type.value} URN")
    return urn
