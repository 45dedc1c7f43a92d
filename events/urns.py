"""The shape of catalog URNs, as far as events need it (docs/urns.md is the full story).

The application's `catalog_api.urns` parses and canonicalises URNs; this library only checks an event's subject
has the right form for its type and derives the partition key from it. Names inside a URN are percent-escaped, so a
name never contains `:` or whitespace and splitting on `:` is exact.

Sources, schemas, datasets and columns are named by where they are (`urn:catalog:dataset:erp:sales:orders`) and
share their source's partition key. Glossary terms and domains belong to no source and can be renamed, so they are
named by their catalog id (`urn:catalog:glossary_term:12`, `urn:catalog:domain:3`), which a rename keeps, and each is
its own partition key: every event about one term stays in order, across renames too.
"""

from __future__ import annotations

import re
from enum import StrEnum

PREFIX = "urn:catalog:"
MAX_URN_LENGTH = 2048

_SOURCE_NAME = r"[A-Za-z0-9_.-]{1,128}"
SOURCE_NAME_PATTERN = rf"^{_SOURCE_NAME}$"
"""A source's name as a whole, as the source URNs spell it."""
_NAME = r"[^:\s]+"
_ID = r"[1-9][0-9]{0,17}"


class UrnKind(StrEnum):
    """The kinds of entity a catalog URN names."""

    SOURCE = "source"
    SCHEMA = "schema"
    DATASET = "dataset"
    COLUMN = "column"
    GLOSSARY_TERM = "glossary_term"
    DOMAIN = "domain"


SOURCELESS_KINDS = (UrnKind.GLOSSARY_TERM, UrnKind.DOMAIN)
"""Kinds of entity outside any source: each one is its own partition key."""

# One ECMA-262-compatible pattern per kind: used both here and in the JSON Schemas.
URN_PATTERNS: dict[UrnKind, str] = {
    UrnKind.SOURCE: rf"^urn:catalog:source:{_SOURCE_NAME}$",
    UrnKind.SCHEMA: rf"^urn:catalog:schema:{_SOURCE_NAME}:{_NAME}$",
    UrnKind.DATASET: rf"^urn:catalog:dataset:{_SOURCE_NAME}:{_NAME}:{_NAME}$",
    UrnKind.COLUMN: rf"^urn:catalog:column:{_SOURCE_NAME}:{_NAME}:{_NAME}:{_NAME}$",
    UrnKind.GLOSSARY_TERM: rf"^urn:catalog:glossary_term:{_ID}$",
    UrnKind.DOMAIN: rf"^urn:catalog:domain:{_ID}$",
}
_COMPILED = {kind: re.compile(pattern) for kind, pattern in URN_PATTERNS.items()}


def pattern_for(kinds: tuple[UrnKind, ...]) -> str:
    """One regular expression accepting a URN of any of `kinds`."""
    if len(kinds) == 1:
        return URN_PATTERNS[kinds[0]]
    return "^(?:" + "|".join(URN_PATTERNS[k][1:-1] for k in kinds) + ")$"


def urn_kind(urn: str) -> UrnKind:
    """The kind of entity `urn` names; `ValueError` with the expected form when it is not a catalog URN."""
    if not isinstance(urn, str) or not urn.startswith(PREFIX):
        raise ValueError(f"a catalog URN starts with {PREFIX!r}, e.g. 'urn:catalog:dataset:erp:sales:orders'")
    if len(urn) > MAX_URN_LENGTH:
        raise ValueError(f"a URN has at most {MAX_URN_LENGTH} characters")
    kind_name = urn[len(PREFIX):].partition(":")[0]
    try:
        kind = UrnKind(kind_name)
    except ValueError:
        kinds = ", ".join(k.value for k in UrnKind)
        raise ValueError(f"unknown entity kind {kind_name!r} in URN; expected one of {kinds}") from None
    if not _COMPILED[kind].match(urn):
        raise ValueError(f"malformed {kind.value} URN {urn!r}; expected the form {URN_PATTERNS[kind]}")
    return kind


def source_urn_of(urn: str) -> str:
    """The URN of the source an entity belongs to."""
    if urn_kind(urn) in SOURCELESS_KINDS:
        raise ValueError(f"a {urn_kind(urn).value} belongs to no source: {urn!r}")
    return PREFIX + "source:" + urn.split(":")[3]


def partition_key_of(urn: str) -> str:
    """The partition key of events about `urn`: its source's URN, or for an entity outside any source (a glossary term,
    a domain) its own URN. Events with one key are published in order."""
    return urn if urn_kind(urn) in SOURCELESS_KINDS else source_urn_of(urn)


def partition_kinds(subject_kinds: tuple[UrnKind, ...]) -> tuple[UrnKind, ...]:
    """The kinds of URN the partition key of an event about one of `subject_kinds` can be."""
    kinds = [UrnKind.SOURCE] if any(k not in SOURCELESS_KINDS for k in subject_kinds) else []
    return (*kinds, *(k for k in subject_kinds if k in SOURCELESS_KINDS))


def entity_id_of(urn: str) -> int:
    """The catalog id of a glossary term or domain from its URN."""
    if urn_kind(urn) not in SOURCELESS_KINDS:
        raise ValueError(f"expected a glossary term or domain URN, got {urn!r}")
    return int(urn.rsplit(":", 1)[1])


def dataset_urn_of(column_urn: str) -> str:
    """The URN of the dataset a column belongs to."""
    if urn_kind(column_urn) is not UrnKind.COLUMN:
        raise ValueError(f"expected a column URN, got {column_urn!r}")
    parts = column_urn.split(":")
    return ":".join(["urn", "catalog", "dataset", *parts[3:6]])
