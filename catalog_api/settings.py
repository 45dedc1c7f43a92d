"""Service configuration, read from `CATALOG_*` environment variables with working embedded defaults."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every setting has an embedded default, so `catalog serve` works on a fresh machine with nothing set."""

    model_config = SettingsConfigDict(env_prefix="CATALOG_", env_file=".env", extra="ignore")

    home: Path = Field(default=Path(".catalog"), description="Folder for the embedded database and local secrets.")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL of the catalog database; default SQLite in `<home>/catalog.db`."
    )
    secret_key: str | None = Field(
        default=None,
        description="Key for the local encrypted secret store; default a random key kept in `<home>/secret.key`.",
    )
    auto_migrate: bool = Field(default=True, description="Run `db upgrade` when the service starts.")
    host: str = "127.0.0.1"
    port: int = 8000
    job_workers: int = Field(default=2, ge=1, description="Threads for in-process jobs (no broker configured).")
    source_statement_timeout_ms: int = Field(
        default=30_000, ge=100, description="Default statement timeout for discovery queries sent to a source."
    )

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'catalog.db').as_posix()}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
