"""Throw-away secrets, and the check that an error never repeats one."""

from __future__ import annotations

import uuid


def secret() -> str:
    return f"S3cr3t-{uuid.uuid4().hex}"


def assert_password_hidden(error: Exception, password: str) -> None:
    for text in (str(error), repr(error), getattr(error, "message", ""), str(error.__cause__ or "")):
        assert password not in text
