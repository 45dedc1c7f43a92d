"""Names in the lake: source, schema and table names as safe path segments, run ids, chunk file names."""

from __future__ import annotations

import hashlib
import re

RUN_PREFIX = "run="
BACKFILL_RUN_PREFIX = "backfill-"
"""A backfill's run id starts with it: an extraction's crash repair leaves such runs to the backfill that wrote them."""
MAX_SEGMENT_BYTES = 255
"""Most file systems and Azure's hierarchical namespace limit one path segment to 255 bytes."""

_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_CHUNK_FILE = re.compile(r"^part-(\d{5,})\.parquet$")
# Escaped: '%' (the escape itself); '/' and '\' (separators); ':' (Hadoop's Path reads it as a URI scheme); '#' and
# '?' (fsspec and URL parsers cut there); '*', '[', ']', '{', '}' (glob syntax for fsspec and Spark); control
# characters (invisible, and some file systems refuse them).
_ESCAPED = frozenset("%/\\:#?*[]{}") | frozenset(chr(c) for c in range(0x20)) | {"\x7f"}


def escape_segment(name: str, *, what: str = "name") -> str:
    """A source, schema or table name as one safe path segment; `unescape_segment` reverses it.

    Percent-encodes (UTF-8, uppercase hex) the characters in `_ESCAPED` and a leading `.`, so `.` and `..` can
    never climb the tree and no segment is hidden. A segment longer than `MAX_SEGMENT_BYTES` after escaping is cut
    and suffixed with `~` and 16 hex digits of the SHA-256 of the name: still unique and deterministic, no longer
    reversible (names that long exist only in SQLite and files).
    """
    if not isinstance(name, str) or name == "":
        raise ValueError(f"{what} must be a non-empty string, got {name!r}")
    out = []
    for i, char in enumerate(name):
        if char in _ESCAPED or (i == 0 and char == "."):
            out.append("".join(f"%{b:02X}" for b in char.encode("utf-8")))
        else:
            out.append(char)
    segment = "".join(out)
    if len(segment.encode("utf-8")) > MAX_SEGMENT_BYTES:
        digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:16]
        head = segment.encode("utf-8")[: MAX_SEGMENT_BYTES - 17].decode("utf-8", errors="ignore")
        head = re.sub(r"%[0-9A-F]?$", "", head)  # never end on half an escape
        segment = f"{head}~{digest}"
    return segment


def unescape_segment(segment: str) -> str:
    """The name `escape_segment` encoded (for segments that were not shortened)."""
    from urllib.parse import unquote

    return unquote(segment, encoding="utf-8", errors="strict")


def check_run_id(run_id: str) -> str:
    """A run id becomes a folder name: 1-128 characters of `A-Z a-z 0-9 . _ -`, not starting with `.`, `_`, `-`."""
    if not isinstance(run_id, str) or not _RUN_ID.match(run_id):
        raise ValueError(
            f"run_id must be 1-128 characters of letters, digits, '.', '_' or '-' and start with a letter or "
            f"digit, got {run_id!r}"
        )
    return run_id


def run_id_of(folder: str) -> str | None:
    """The run id a folder name `run=<run_id>` stands for; None for any other name."""
    if folder.startswith(RUN_PREFIX) and _RUN_ID.match(folder[len(RUN_PREFIX):]):
        return folder[len(RUN_PREFIX):]
    return None


def chunk_name(chunk_no: int) -> str:
    """`part-<chunk_no:05d>.parquet`: a chunk's file name, the same on every attempt."""
    if not isinstance(chunk_no, int) or chunk_no < 0:
        raise ValueError(f"chunk_no must be a non-negative integer, got {chunk_no!r}")
    return f"part-{chunk_no:05d}.parquet"


def chunk_number(file: str) -> int | None:
    """The chunk number a file name `part-<n>.parquet` stands for; None for any other name."""
    match = _CHUNK_FILE.match(file)
    return int(match.group(1)) if match else None


def is_temporary(file: str) -> bool:
    """A hidden temporary file a writer leaves behind when it is killed mid-write."""
    return file.startswith(".") and file.endswith(".tmp")
