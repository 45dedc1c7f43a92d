"""Checks that more than one connector's config applies to its fields, written once."""

from __future__ import annotations

from pydantic import AfterValidator


def without_nul(noun: str) -> AfterValidator:
    """Refuses text holding a NUL character, naming what it is (`a path`, `a URL`): no file name or address can
    hold one, and letting it through would surface later as an obscure OS error."""

    def check(value: str) -> str:
        if "\x00" in value:
            raise ValueError(f"{noun} cannot contain a NUL character")
        return value

    return AfterValidator(check)
