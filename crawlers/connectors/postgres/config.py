"""How to reach one PostgreSQL database, and which of its schemas and tables to discover."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr

from crawlers.connectors.sql import keep_verbatim
from crawlers.scope import ScopedConfig

SslMode = Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]


class PostgresConfig(ScopedConfig):
    """How to reach one PostgreSQL database, and which of its schemas and tables to discover."""

    host: str = Field(default="127.0.0.1", min_length=1, max_length=255)
    port: int = Field(default=5432, ge=1, le=65535)
    database: str = Field(min_length=1, max_length=63)
    user: str = Field(min_length=1, max_length=63)
    password: SecretStr | None = None
    sslmode: SslMode = "prefer"
    connect_timeout_s: int = Field(default=10, ge=1, le=300)
    statement_timeout_ms: int = Field(default=30_000, ge=100, le=3_600_000)
    # The server truncates longer names to NAMEDATALEN - 1 bytes; refusing them keeps pg_stat_activity honest.
    application_name: str = Field(default="catalog-crawler", max_length=63)

    _keep_password_verbatim = keep_verbatim("password")
