"""Typed connector errors. Each names the configuration field a user should look at, when there is one."""

from __future__ import annotations


class ConnectorError(Exception):
    """Base of every error a connector raises; `field` points at the registration field to fix, if any."""

    code = "connector_error"
    transient = False

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidSourceConfig(ConnectorError):
    """The configuration is malformed: a missing, unknown or out-of-range field."""

    code = "invalid_source_config"


class SourceUnreachable(ConnectorError):
    """The source did not answer: host down, DNS failure, refused connection, timeout. Worth retrying."""

    code = "source_unreachable"
    transient = True


class AuthenticationFailed(ConnectorError):
    """The source answered and refused the credentials. Retrying will not help."""

    code = "authentication_failed"


class SourceNotFound(ConnectorError):
    """The source answered but the database or file named in the configuration does not exist."""

    code = "source_not_found"


class PermissionDenied(ConnectorError):
    """The credentials are valid but lack the privileges discovery needs."""

    code = "permission_denied"
