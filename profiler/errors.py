"""Typed profiler errors. Each carries a stable `code` and, where one exists, the input `field` to fix."""

from __future__ import annotations


class ProfilerError(Exception):
    """Base of every error the profiler raises."""

    code = "profiler_error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class ProfilerUnavailable(ProfilerError):
    """The Spark engine cannot start here: no Java runtime, a too old one, or PySpark failed to launch."""

    code = "profiler_unavailable"


class InvalidProfileInput(ProfilerError):
    """An argument is out of range or malformed (a negative sample size, an unknown column, a bad threshold...)."""

    code = "invalid_profile_input"
