"""Which local files sources may read: only what lies under `CATALOG_FILE_ROOTS`, and never the catalog's own files.

A path is judged by where it really leads: `~` expanded, `.`/`..` folded by text first (so `..` cannot step out of a
folder through a symbolic link and back), then every symbolic link resolved. It must then lie under one of the roots
(also resolved) and neither lie in nor contain the catalog's home, its SQLite database (with its journal files), its
local lake or its events file. A refusal says the same words whether or not the path exists, so registering sources
cannot be used to learn which files the server has.

`sources.open_connector` applies this to every local path a connector names (`Connector.local_paths`), each time a
connector is built: at registration and update, and at the start of every connection test, crawl, extraction and
profile, so a root removed from the settings or a symbolic link swapped since registration is caught before anything
is opened.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy.engine import make_url

from catalog_api.errors import InvalidInput
from catalog_api.settings import Settings

REFUSED = ("not a place sources may read: a path must lie under a folder of CATALOG_FILE_ROOTS, outside the "
           "catalog's own files")
_SQLITE_COMPANIONS = ("", "-wal", "-shm", "-journal")


def _real(path: str | os.PathLike[str]) -> str:
    return os.path.realpath(os.path.abspath(os.path.expanduser(path)))


def _under(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def catalog_files(settings: Settings) -> list[str]:
    """The catalog's own files and folders, resolved: what no source may read, whatever the roots say."""
    own: list[str | Path] = [settings.home, settings.effective_events_jsonl_path]
    url = make_url(settings.effective_database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        own.extend(f"{url.database}{suffix}" for suffix in _SQLITE_COMPANIONS)
    lake = settings.effective_lake_url
    if "://" not in lake or lake.startswith("file://"):
        own.append(lake.removeprefix("file://"))
    return [_real(path) for path in own]


def allowed(settings: Settings, path: str | os.PathLike[str]) -> bool:
    """Whether a source may read `path` (see the module docstring)."""
    try:
        real = _real(path)
        roots = [_real(root) for root in settings.file_roots]
        own = catalog_files(settings)
    except (OSError, ValueError):  # a path the system cannot even resolve is nowhere a source may read
        return False
    return (any(_under(real, root) for root in roots)
            and not any(_under(real, mine) or _under(mine, real) for mine in own))


def check_path(settings: Settings, field: str, path: Path) -> None:
    """Raises `InvalidInput(field)` unless a source may read `path`. The message is always `REFUSED`: it does not
    repeat the path (resolved, it would show the server's folders and links) nor depend on whether it exists."""
    if not allowed(settings, path):
        raise InvalidInput(field, REFUSED)
