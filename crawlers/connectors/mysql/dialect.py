"""What differs between MySQL and MariaDB (and their versions), and how identifiers are quoted."""

from __future__ import annotations

import dataclasses
import re

SYSTEM_SCHEMAS = ("mysql", "information_schema", "performance_schema", "sys")


@dataclasses.dataclass(frozen=True, slots=True)
class ServerFlavour:
    """MySQL or MariaDB and its version, read from the handshake; decides the few statements that differ."""

    mariadb: bool
    version: tuple[int, int, int]

    @classmethod
    def parse(cls, banner: str) -> ServerFlavour:
        mariadb = "mariadb" in banner.lower()
        # MariaDB 10+ prefixes "5.5.5-" for the sake of old replication clients.
        text = banner.removeprefix("5.5.5-") if mariadb else banner
        numbers = [int(n) for n in re.findall(r"\d+", text.split("-", 1)[0])[:3]]
        return cls(mariadb, tuple((numbers + [0, 0, 0])[:3]))  # type: ignore[arg-type]

    @property
    def name(self) -> str:
        return "MariaDB" if self.mariadb else "MySQL"

    def timeout_statement(self, timeout_ms: int) -> tuple[str, tuple]:
        # MariaDB counts seconds (a double), MySQL milliseconds; MySQL's limit applies to read-only SELECTs only,
        # which is all discovery sends.
        if self.mariadb:
            return "SET SESSION max_statement_time = %s", (timeout_ms / 1000,)
        return "SET SESSION max_execution_time = %s", (timeout_ms,)

    @property
    def quoted_defaults(self) -> bool:
        """Whether `COLUMN_DEFAULT` is an SQL expression (MariaDB ≥ 10.2.7) rather than a bare literal."""
        return self.mariadb and self.version >= (10, 2, 7)

    @property
    def schema_comments(self) -> bool:
        return self.mariadb and self.version >= (10, 5, 0)

    @property
    def index_expressions(self) -> bool:
        """Whether `STATISTICS.EXPRESSION` exists (functional key parts, MySQL ≥ 8.0.13)."""
        return not self.mariadb and self.version >= (8, 0, 13)


def quote_identifier(name: str) -> str:
    """A MySQL identifier in backticks, backticks inside doubled."""
    return "`" + name.replace("`", "``") + "`"
