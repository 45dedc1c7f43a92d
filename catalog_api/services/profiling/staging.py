"""Where report samples wait for their `report` job: the catalog's home, or the lake when the lake is remote.

A profile job writes each masked sample to `<home>/staging/reports/<profile job id>/` first (pyarrow writes a local
file). With a local lake (the default) that is where it stays, as the worker rendering reports shares the home.
With a remote lake (`abfs://…`) every worker replica has a home of its own (an EmptyDir on Azure Container Apps)
but all share the lake, so the sample is uploaded to `<lake>/_catalog/staging/reports/<profile job id>/` and the
report job downloads it into its own home before rendering. Lake tables live under `<lake>/<source>/…`, and a
source's name starts with a letter or digit, so `_catalog` never holds a table; the files crawler skips folders
whose name starts with `_`, so a files source on the lake never lists it either.

A staged file is named by its path relative to the staging root (`<profile job id>/<file>`); `confined` refuses a
name that would lead outside it, in the home as in the lake.
"""

from __future__ import annotations

import logging
import posixpath
import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

from fsspec import AbstractFileSystem
from fsspec.implementations.local import LocalFileSystem

from catalog_api.services.extraction import lake
from catalog_api.settings import Settings

log = logging.getLogger(__name__)

LAKE_STAGING_PREFIX = "_catalog/staging/reports"
"""The staging root inside a remote lake: a folder no source, table or files crawl can ever name."""


class OutsideStaging(ValueError):
    """A staged file's name leads outside the staging root."""


def staging_root(settings: Settings) -> Path:
    """Where staged samples live locally: inside the catalog's home, never anywhere a job's input could point."""
    return (settings.home / "staging" / "reports").resolve()


def confined(root: Path, file: str) -> Path:
    """`root / file`, refused when it resolves outside `root` (`..`, an absolute name, a symbolic link)."""
    path = (root / file).resolve()
    if not path.is_relative_to(root) or path == root:
        raise OutsideStaging(f"staged sample {file!r} lies outside the staging folder")
    return path


def _remote_confined(root: str, file: str) -> str:
    path = posixpath.normpath(posixpath.join(root, file))
    if file.startswith("/") or not path.startswith(root + "/"):
        raise OutsideStaging(f"staged sample {file!r} lies outside the staging folder")
    return path


def _timestamp(info: dict[str, Any]) -> float | None:
    """When an object was last written, from an fsspec listing (`mtime` locally, `last_modified` in Azure)."""
    value = info.get("mtime", info.get("last_modified", info.get("created")))
    if isinstance(value, datetime):
        return value.timestamp()
    return float(value) if isinstance(value, (int, float)) else None


class SampleStaging:
    """The staging store of a catalog's settings: its home's staging folder, plus the lake's when that is remote."""

    def __init__(self, settings: Settings) -> None:
        self.local_root = staging_root(settings)
        self.fs: AbstractFileSystem | None = None
        self.remote_root = ""
        if settings.lake_url:
            target = lake(settings)
            if not isinstance(target.fs, LocalFileSystem):
                self.fs = target.fs
                self.remote_root = posixpath.join(target.root, LAKE_STAGING_PREFIX)

    @property
    def remote(self) -> bool:
        return self.fs is not None

    def local_folder(self, profile_job_id: str) -> Path:
        return confined(self.local_root, profile_job_id)

    def publish(self, file: str) -> None:
        """Makes the locally written staged `file` readable by every worker: uploads it to the lake and removes
        the local copy (a local lake's workers share the home: nothing to do)."""
        if self.fs is None:
            return
        local = confined(self.local_root, file)
        try:
            self.fs.put_file(str(local), _remote_confined(self.remote_root, file))
        finally:
            local.unlink(missing_ok=True)

    def fetch(self, file: str) -> Path | None:
        """The staged `file` as a local path, downloaded from the lake if it is remote; None when it is gone."""
        local = confined(self.local_root, file)
        if self.fs is None:
            return local if local.exists() else None
        remote = _remote_confined(self.remote_root, file)
        local.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.fs.get_file(remote, str(local))
        except FileNotFoundError:
            return None
        return local if local.exists() else None

    def remove(self, profile_job_id: str) -> None:
        """Removes a profile job's staged folder, locally and in the lake (quietly: it may be gone already)."""
        shutil.rmtree(self.local_folder(profile_job_id), ignore_errors=True)
        if self.fs is None:
            return
        try:
            self.fs.rm(_remote_confined(self.remote_root, profile_job_id), recursive=True)
        except FileNotFoundError:
            pass
        except Exception:
            log.warning("removing the staged samples of %s from the lake failed", profile_job_id, exc_info=True)

    def folders_older_than(self, cutoff: float) -> list[str]:
        """The staged folders (profile job ids) last written before `cutoff` (seconds since the epoch), locally
        by the folder's time, in the lake by its newest object's (object stores keep no folder times)."""
        names: set[str] = set()
        if self.local_root.is_dir():
            names |= {p.name for p in self.local_root.iterdir() if p.is_dir() and p.stat().st_mtime < cutoff}
        if self.fs is not None:
            newest = self._remote_newest()
            names |= {name for name, written in newest.items() if written < cutoff}
            # A folder written recently in the lake is live, whatever its local leftovers say.
            names -= {name for name, written in newest.items() if written >= cutoff}
        return sorted(names)

    def _remote_newest(self) -> dict[str, float]:
        assert self.fs is not None
        self.fs.invalidate_cache(self.remote_root)  # another replica staged or removed folders since we listed
        try:
            found: dict[str, dict[str, Any]] = self.fs.find(self.remote_root, detail=True)
        except FileNotFoundError:
            return {}
        newest: dict[str, float] = {}
        prefix = self.remote_root + "/"
        for path, info in found.items():
            if path.startswith(prefix):
                name = path[len(prefix):].split("/", 1)[0]
                newest[name] = max(newest.get(name, 0.0), _timestamp(info) or 0.0)
        return newest
