"""Files that appear whole or not at all, and stay once written.

On a local folder a file is written to a hidden temporary name in its folder, flushed to disk (fsync), renamed
into place (atomic on POSIX), and the folder itself is flushed so the rename survives a crash. On an object store
(`abfs://`, `s3://`, …) it is uploaded straight to its final name: a blob only becomes visible, whole, when its
upload is committed.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from typing import IO, TypeVar

from fsspec import AbstractFileSystem

T = TypeVar("T")


def temporary_name(folder: str, name: str) -> str:
    """A fresh hidden temporary path for `name` in `folder` (`.<name>.<random>.tmp`)."""
    return f"{folder}/.{name}.{uuid.uuid4().hex}.tmp"


def write_durably(fs: AbstractFileSystem, local: bool, folder: str, name: str, write: Callable[[IO[bytes]], T]) -> T:
    """Writes `folder/name` with `write(handle)` (returning what it returns) so that it is durable and never seen
    half-written; on a local folder (`local`) through a temporary file, removed again if `write` fails."""
    final = f"{folder}/{name}"
    if not local:
        with fs.open(final, "wb") as handle:
            return write(handle)
    tmp = temporary_name(folder, name)
    try:
        with open(tmp, "wb") as handle:
            result = write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, final)
    except BaseException:
        _remove_quietly(tmp)
        raise
    _fsync_dir(folder)
    return result


def _fsync_dir(path: str) -> None:
    # The rename is durable only once the directory entry is: fsync the folder (POSIX; a no-op where unsupported).
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _remove_quietly(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass
