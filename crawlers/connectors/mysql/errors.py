"""MySQL's and MariaDB's error codes as typed connector errors, each naming the field a user should look at."""

from __future__ import annotations

import re

import pymysql

from crawlers.connectors.mysql.config import MysqlConfig
from crawlers.errors import (
    AuthenticationFailed, ConnectorError, InvalidSourceConfig, PermissionDenied, SourceNotFound, SourceUnreachable
)

_UNREACHABLE_CODES = {1040, 1053, 1129, 1203, 2002, 2003, 2005, 2006, 2013, 2055}
_TIMEOUT_CODES = {1969, 3024}  # MariaDB max_statement_time, MySQL max_execution_time
_PERMISSION_CODES = {1044, 1142, 1143, 1227, 1370}


def classify_error(error: pymysql.Error, cfg: MysqlConfig, address: str) -> ConnectorError:
    """The typed connector error for a PyMySQL error, naming the configuration field to fix."""
    code = error.args[0] if error.args and isinstance(error.args[0], int) else None
    detail = " ".join(str(error.args[1] if len(error.args) > 1 else error).split()) or "unknown error"
    where = f"MySQL/MariaDB at {address}"

    if code in (1045, 1698):
        if code == 1045 and "using password: NO" in detail:
            return AuthenticationFailed(
                f"{where} requires a password for user {cfg.user!r}, and none is configured", field="secrets.password"
            )
        # The server does not tell an unknown user from a wrong password (1045; MariaDB answers 1698 to a user
        # it does not know after pretending to switch the authentication plugin).
        return AuthenticationFailed(
            f"{where} rejected the user or password for user {cfg.user!r}", field="secrets.password"
        )
    if code == 1130:
        return AuthenticationFailed(f"{where} does not let user {cfg.user!r} connect from this host: {detail}",
                                    field="config.user")
    if code == 1049:
        return SourceNotFound(f"{where} has no database {cfg.database!r}", field="config.database")
    if code in (1146, 1054):
        return SourceNotFound(f"{where}: {detail}; the table changed since it was crawled")
    if code in _PERMISSION_CODES:
        return PermissionDenied(f"user {cfg.user!r} lacks a privilege on {where}: {detail}", field="config.user")
    if code in _TIMEOUT_CODES:
        return SourceUnreachable(
            f"a statement at {where} exceeded the statement timeout of {cfg.statement_timeout_ms} ms",
            field="config.statement_timeout_ms",
        )
    if code == 2026 or re.search(r"\bSSL\b|certificate", detail, re.IGNORECASE):
        return InvalidSourceConfig(f"could not establish a TLS connection to {address} (ssl={cfg.ssl}): {detail}",
                                   field="config.ssl")
    if code in (2003, 2005) and re.search(r"Name or service not known|nodename nor servname|getaddrinfo|"
                                          r"Temporary failure in name resolution|Errno -[235]\b", detail):
        return SourceUnreachable(f"cannot resolve host {cfg.host!r} (connecting to {address})", field="config.host")
    if code in _UNREACHABLE_CODES or (code is None and isinstance(error, pymysql.OperationalError)):
        if "timed out" in detail:
            return SourceUnreachable(f"{where} did not answer within {cfg.connect_timeout_s} s", field="config.host")
        return SourceUnreachable(f"cannot connect to {where}: {detail}", field="config.host")
    return ConnectorError(f"{where} failed: {detail}")
