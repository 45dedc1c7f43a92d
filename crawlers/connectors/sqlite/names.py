"""SQLite's schema name and how it compares and quotes identifiers."""

from __future__ import annotations

SCHEMA = "main"
"""SQLite's name for the database file's own schema; attached databases are not part of a source."""

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def fold(name: str) -> str:
    """SQLite's identifier comparison key: it ignores the case of ASCII letters only, so `Ä` and `ä` differ."""
    return name.translate(_ASCII_LOWER)


def quote(name: str) -> str:
    """An SQL identifier: double-quoted, embedded quotes doubled, so no name can change the statement."""
    return '"' + name.replace('"', '""') + '"'
