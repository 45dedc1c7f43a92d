"""The interface every source connector implements, and what every connector guarantees to its callers.

Every connector:

* reads a source's catalog in **bulk**: the number of statements (or requests) one discovery sends is bounded by
  the connector, never by the size of the source, and `SourceSnapshot.queries` reports it honestly;
* bounds every statement with a **timeout** (`statement_timeout_ms` where the source has statements) and reports
  one that outlives it as `SourceUnreachable`;
* only **reads**: SQL sources run discovery in one short read-only transaction, files are opened read-only;
* raises only **typed errors** (`crawlers.errors`: `SourceUnreachable`, `AuthenticationFailed`, `SourceNotFound`,
  `PermissionDenied`, `InvalidSourceConfig`, `ConnectorError`), each naming the field to fix, and never repeats the
  value of a secret field (passwords are masked).

SQL connectors get these guarantees from one skeleton, `crawlers.connectors.sql.SqlConnector`, and
`tests/crawlers/connectors/test_contract.py` holds every one of them to it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel

from crawlers.errors import InvalidSourceConfig
from crawlers.increment import IncrementRequest
from crawlers.scope import Scope
from crawlers.snapshot import SourceSnapshot

ConfigT = TypeVar("ConfigT", bound=BaseModel)

ProgressCallback = Callable[[int, int, str], None]
"""Called as `progress(done, total, message)` while a connector works."""


@dataclass(frozen=True, slots=True)
class ConnectionCheck:
    """A successful connection test: what answered and how long it took."""

    server: str
    elapsed_ms: float


@dataclass(frozen=True, slots=True)
class LineageNamespace:
    """How the source's datasets are named in OpenLineage: `namespace` plus a dataset-name prefix.

    An OpenLineage dataset of this source is (`namespace`, `prefix + schema + "." + table`).
    """

    namespace: str
    name_prefix: str = ""


class Connector(ABC, Generic[ConfigT]):
    """Discovers one kind of source. Instances hold a validated config whose secrets are already resolved.

    Subclasses declare `kind`, `config_model` (a pydantic model with `extra="forbid"`) and `secret_fields`, the
    config fields that hold credentials (typed `SecretStr`); the application stores those as secret references.
    """

    kind: ClassVar[str]
    config_model: ClassVar[type[BaseModel]]
    secret_fields: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, config: ConfigT) -> None:
        self.config = config

    @classmethod
    def from_mapping(cls, values: dict) -> "Connector":
        return cls(cls.config_model.model_validate(values))

    @abstractmethod
    def test_connection(self) -> ConnectionCheck:
        """Connect and run a trivial query; raise a `ConnectorError` subclass that says precisely what is wrong."""

    @abstractmethod
    def discover(self, scope: Scope | None = None, progress: ProgressCallback | None = None) -> SourceSnapshot:
        """Read the source's catalog in bulk, within `scope` (default: the config's own scope)."""

    @abstractmethod
    def lineage_namespace(self) -> LineageNamespace:
        """The OpenLineage naming of this source's datasets."""

    def local_paths(self) -> dict[str, Path]:
        """The local files or folders this connector opens, keyed by the registration field that names each.

        Nothing is opened on building a connector, so an application can confine these (to folders it allows) before
        any call touches the disk. Connectors of remote systems have none.
        """
        return {}

    def read_increment(self, request: IncrementRequest) -> Iterator["pyarrow.RecordBatch"]:  # noqa: F821
        """Yields the table's rows after `request.watermark` as Arrow record batches, ordered by the plan's column.

        Connectors that cannot read data leave this as is.
        """
        raise InvalidSourceConfig(f"the {self.kind} connector cannot read table data", field="kind")

    def read_query(self, statements: Sequence[str]) -> list[Any]:
        """Runs read-only queries in one read-only transaction under the statement timeout (SQL sources only):
        each one's column names and rows (`crawlers.connectors.sql.QueryAnswer`)."""
        raise InvalidSourceConfig(f"the {self.kind} connector runs no SQL", field="kind")
