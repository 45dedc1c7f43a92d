"""Free text a caller sends (descriptions, names, search text, config values): one check for every transport.

NUL (U+0000) is refused everywhere: PostgreSQL's text and JSONB cannot hold it (the INSERT would fail with a 500
after validation passed), and on other stores it cuts the text short for every reader that treats it as a C string.
"""

from __future__ import annotations

from typing import Any

from catalog_api.errors import InvalidInput

NUL = "\x00"


def reject_nul(field: str, value: Any) -> None:
    """Raises InvalidInput on `field` (or `field.key` / `field.N` inside a dict or list) when text holds NUL."""
    if isinstance(value, str):
        if NUL in value:
            raise InvalidInput(field, "cannot contain NUL characters (U+0000)")
    elif isinstance(value, dict):
        for key, item in value.items():
            reject_nul(field, key)
            reject_nul(f"{field}.{key}", item)
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            reject_nul(f"{field}.{index}", item)


def free_text(field: str, value: str | None, *, max_length: int, noun: str = "the text") -> str | None:
    """`value` when it has at most `max_length` characters and no NUL; None stays None."""
    if value is None:
        return None
    if len(value) > max_length:
        raise InvalidInput(field, f"{noun} has at most {max_length} characters")
    if NUL in value:
        raise InvalidInput(field, f"{noun} cannot contain NUL characters (U+0000)")
    return value
