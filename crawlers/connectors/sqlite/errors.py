"""SQLite's result codes as typed connector errors, each naming the field a user should look at."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from crawlers.errors import (
    ConnectorError,
    InvalidSourceConfig,
    PermissionDenied,
    SourceNotFound,
    SourceUnreachable,
)

# Primary result codes (the low byte of an extended code), from sqlite3.h.
_SQLITE_ERROR = 1
_SQLITE_PERM = 3
_SQLITE_BUSY = 5
_SQLITE_LOCKED = 6
_SQLITE_INTERRUPT = 9
_SQLITE_IOERR = 10
_SQLITE_CORRUPT = 11
_SQLITE_CANTOPEN = 14
_SQLITE_AUTH = 23
_SQLITE_NOTADB = 26


def _primary_code(error: sqlite3.Error) -> int | None:
    code = getattr(error, "sqlite_errorcode", None)
    return None if code is None else code & 0xFF


def classify(error: sqlite3.Error, path: Path, timeout_ms: int) -> ConnectorError:
    """The typed connector error for a `sqlite3.Error` on the file at `path`."""
    code = _primary_code(error)
    if code == _SQLITE_INTERRUPT:
        return SourceUnreachable(
            f"a discovery statement on {path} ran longer than the statement timeout of {timeout_ms} ms and was "
            "interrupted; raise statement_timeout_ms or narrow the scope",
            field="config.statement_timeout_ms",
        )
    if code == _SQLITE_NOTADB:
        return InvalidSourceConfig(
            f"{path} is not a SQLite database (or it is encrypted)", field="config.path"
        )
    if code == _SQLITE_CORRUPT:
        return InvalidSourceConfig(f"{path} is a damaged SQLite database: {error}", field="config.path")
    if code in (_SQLITE_BUSY, _SQLITE_LOCKED):
        return SourceUnreachable(
            f"{path} stayed locked by another connection for longer than {timeout_ms} ms", field=None
        )
    if code in (_SQLITE_PERM, _SQLITE_AUTH):
        return PermissionDenied(f"not allowed to read {path}: {error}", field="config.path")
    if code == _SQLITE_CANTOPEN:
        if not path.exists():
            return SourceNotFound(f"no SQLite database at {path}: the file does not exist", field="config.path")
        if not os.access(path, os.R_OK):
            return PermissionDenied(f"not allowed to read {path}", field="config.path")
        return SourceUnreachable(f"cannot open {path}: {error}", field="config.path")
    if code == _SQLITE_IOERR:
        return SourceUnreachable(f"input/output error while reading {path}: {error}", field="config.path")
    return ConnectorError(f"SQLite failed on {path}: {error}")
