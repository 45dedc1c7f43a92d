"""Where the SQLite file is and how long one discovery statement may run."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

from pydantic import Field

from crawlers.scope import ScopedConfig
from crawlers.validators import without_nul


class SqliteConfig(ScopedConfig):
    """Where the SQLite file is and how long one discovery statement may run.

    `path` is stored as the user typed it; `~` is expanded and a relative path made absolute only when the
    connector opens the file, so a registration does not silently change meaning when it is edited.
    """

    path: Annotated[str, without_nul("a path")] = Field(
        min_length=1, max_length=4096, description="Path of the SQLite database file."
    )
    statement_timeout_ms: int = Field(
        default=30_000, ge=100, le=3_600_000, description="A discovery statement running longer is interrupted."
    )

    def resolved_path(self) -> Path:
        """The absolute path the connector opens: `~` expanded, `.`/`..` folded, symbolic links kept."""
        return Path(os.path.abspath(os.path.expanduser(self.path)))
