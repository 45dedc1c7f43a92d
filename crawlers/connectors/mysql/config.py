"""How to reach one MySQL or MariaDB server, and which of its schemas ("databases") and tables to discover."""

from __future__ import annotations

from pydantic import Field, SecretStr

from crawlers.connectors.sql import keep_verbatim
from crawlers.scope import ScopedConfig


class MysqlConfig(ScopedConfig):
    """How to reach one MySQL or MariaDB server, and which of its schemas ("databases") and tables to discover."""

    host: str = Field(default="127.0.0.1", min_length=1, max_length=255)
    port: int = Field(default=3306, ge=1, le=65535)
    database: str | None = Field(default=None, min_length=1, max_length=64)
    """One schema to discover; `None` discovers every non-system schema the user can see."""
    user: str = Field(min_length=1, max_length=80)
    password: SecretStr | None = None
    connect_timeout_s: int = Field(default=10, ge=1, le=300)
    statement_timeout_ms: int = Field(default=30_000, ge=100, le=3_600_000)
    ssl: bool = False
    """True: TLS is required and the server certificate is verified against the system CAs and the host name.
    False: TLS is used when the server offers it, without verification (PyMySQL's "preferred" mode)."""

    _keep_password_verbatim = keep_verbatim("password")
