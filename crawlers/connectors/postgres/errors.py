"""PostgreSQL's errors as typed connector errors, each naming the configuration field a user should look at."""

from __future__ import annotations

import re

import psycopg

from crawlers.connectors.postgres.config import PostgresConfig
from crawlers.errors import (
    AuthenticationFailed, ConnectorError, InvalidSourceConfig, PermissionDenied, SourceNotFound, SourceUnreachable
)

# libpq reports connection failures as text only (psycopg's OperationalError carries no sqlstate for them), so
# after the sqlstate check the server's (English) FATAL messages are matched; anything else is "unreachable".
_QUOTED = r'"((?:[^"]|"")*)"'
_MESSAGE_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"password authentication failed for user"), "28P01"),
    (re.compile(r"fe_sendauth: no password supplied"), "no_password"),
    (re.compile(r"role " + _QUOTED + r" does not exist"), "28000_role"),
    (re.compile(r"no pg_hba\.conf entry"), "28000_hba"),
    (re.compile(r"database " + _QUOTED + r" does not exist"), "3D000"),
    (re.compile(r"permission denied for database|does not have CONNECT privilege"), "42501"),
    (re.compile(r"server does not support SSL|SSL (?:is )?(?:off|required)|certificate|SSL error", re.I), "ssl"),
    (re.compile(r"timeout expired|timed out", re.I), "timeout"),
    (re.compile(r"could not translate host name|failed to resolve host|Name or service not known", re.I), "dns"),
)


def _message_kind(text: str) -> str | None:
    for pattern, kind in _MESSAGE_RULES:
        if pattern.search(text):
            return kind
    return None


# What each kind of failure means: the error type, its message (formatted with the address, the config and the
# server's detail) and the configuration field a user should look at.
_KINDS: dict[str, tuple[type[ConnectorError], str, str]] = {
    "28P01": (AuthenticationFailed, "PostgreSQL at {address} rejected the password for user {cfg.user!r}",
              "secrets.password"),
    "no_password": (AuthenticationFailed, "PostgreSQL at {address} requires a password for user {cfg.user!r}, and "
                                          "none is configured", "secrets.password"),
    "28000_role": (AuthenticationFailed, "PostgreSQL at {address} has no login role {cfg.user!r}", "config.user"),
    "28000_hba": (AuthenticationFailed, "PostgreSQL at {address} does not allow user {cfg.user!r} to connect to "
                                        "database {cfg.database!r} from this host with sslmode={cfg.sslmode} "
                                        "(pg_hba.conf): {detail}", "config.user"),
    "3D000": (SourceNotFound, "PostgreSQL at {address} has no database {cfg.database!r}", "config.database"),
    "42501": (PermissionDenied, "user {cfg.user!r} lacks a privilege discovery needs on database {cfg.database!r}: "
                                "{detail}", "config.user"),
    "57014": (SourceUnreachable, "a statement on {cfg.database!r} at {address} exceeded the statement timeout of "
                                 "{cfg.statement_timeout_ms} ms", "config.statement_timeout_ms"),
    "ssl": (InvalidSourceConfig, "could not establish the connection to {address} with sslmode={cfg.sslmode}: "
                                 "{detail}", "config.sslmode"),
    "timeout": (SourceUnreachable, "PostgreSQL at {address} did not answer within {cfg.connect_timeout_s} s",
                "config.host"),
    "dns": (SourceUnreachable, "cannot resolve host {cfg.host!r} (connecting to {address})", "config.host"),
}


def _classify(error: psycopg.Error, cfg: PostgresConfig, address: str) -> ConnectorError:
    sqlstate = error.sqlstate or ""
    text = str(error)
    kind = sqlstate or _message_kind(text)
    if kind == "28000":  # invalid authorization: a missing role, or else pg_hba.conf refused the connection
        kind = "28000_role" if "role" in text and "does not exist" in text else "28000_hba"
    # Server-side detail, without psycopg's "connection failed: connection to server at ..." preamble.
    detail = _server_detail(text)
    if kind in _KINDS:
        error_type, message, field = _KINDS[kind]
        return error_type(message.format(address=address, cfg=cfg, detail=detail), field=field)
    if sqlstate.startswith(("08", "53", "57P")) or (not sqlstate and isinstance(error, psycopg.OperationalError)):
        return SourceUnreachable(f"cannot connect to PostgreSQL at {address}: {detail}", field="config.host")
    return ConnectorError(f"PostgreSQL at {address} failed: {detail}")


def _server_detail(text: str) -> str:
    # psycopg prefixes "connection failed: connection to server at "h" (ip), port p failed: "; keep the reason.
    reason = text.rsplit("failed: ", 1)[-1] if "failed: " in text else text
    reason = reason.replace("FATAL:  ", "").strip()
    return " ".join(reason.split()) or "unknown error"
