"""Files connector: CSV, TSV, JSON, JSON lines and Parquet files in a local folder or an Azure container.

The root folder is the source; its first-level folders are schemas (files directly in the root belong to
`default`); a file is a table named after its stem, and a folder of part files or Hive partitions
(`events/dt=2024-01-01/region=eu/part-0.parquet`) is one table named after the folder, with the partition keys as
typed columns. The rules are in `crawlers.files.layout`, sampling and type reconciliation in
`crawlers.files.discovery`, reading in `crawlers.files.reading`.

OpenLineage: a local source has namespace `file`, an Azure source `abfss://<container>@<account>.dfs.core.windows.net`.
The catalog names a dataset `name_prefix + schema + "." + table`, with `name_prefix` the root folder's dataset name
plus `/` (`/data/lake/` locally, `lake/` in a container), e.g. `/data/lake/sales.orders`. That name identifies the
table but is not a path; the table's own OpenLineage name (its file or folder, e.g. `/data/lake/sales/orders.csv`,
which is what Spark or dbt report) is `properties["lineage_name"]`, also given by `lineage_dataset_name()`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, ClassVar

import pyarrow as pa
from pydantic import Field, SecretStr, field_validator

from crawlers.connector import ConnectionCheck, Connector, LineageNamespace, ProgressCallback
from crawlers.errors import InvalidSourceConfig
from crawlers.files.discovery import DiscoveryOptions, discover_tables, find_table
from crawlers.files.formats import FileFormat
from crawlers.files.location import Location, parse_location
from crawlers.files.reading import read_rows
from crawlers.files.storage import AzureCredentials, Storage, open_storage
from crawlers.increment import IncrementRequest
from crawlers.scope import Scope, ScopedConfig
from crawlers.snapshot import SourceSnapshot, TableSnapshot
from crawlers.validators import without_nul


class FilesConfig(ScopedConfig):
    """Where the files are, how to read them, and (for Azure) how to authenticate.

    Azure authentication, first match wins: `connection_string`; `account_name` + `account_key`; `account_name` +
    `sas_token`; `anon` (public containers); otherwise `DefaultAzureCredential` (environment, managed identity,
    Azure CLI login…).
    """

    url: Annotated[str, without_nul("a URL")] = Field(
        min_length=1,
        max_length=4096,
        description="A local folder (path or file:///path), or abfs://container/path, az://container/path, "
        "abfss://container@account.dfs.core.windows.net/path.",
    )
    formats: list[FileFormat] | None = Field(
        default=None,
        min_length=1,
        description="Formats to catalogue (default: all, recognised by extension). With exactly one, files "
        "without a known extension are read as that format.",
    )
    csv_delimiter: str | None = Field(default=None, description="Delimiter of .csv files (default ','); .tsv uses tab.")
    sample_rows: int = Field(default=10_000, ge=1, le=1_000_000, description="Rows read per file to infer types.")
    max_files_per_table: int = Field(
        default=100, ge=1, le=10_000, description="Files sampled per table (the newest); the others are only listed."
    )
    account_name: str | None = Field(default=None, min_length=3, max_length=24)
    account_key: SecretStr | None = None
    connection_string: SecretStr | None = None
    sas_token: SecretStr | None = None
    anon: bool = Field(default=False, description="Read a public Azure container without credentials.")
    timeout_s: float = Field(default=30.0, gt=0, le=600, description="Connect and read timeout of one request.")
    retries: int = Field(default=2, ge=0, le=10, description="Retries of a failed Azure request (1 s, 3 s, …).")

    @field_validator("csv_delimiter")
    @classmethod
    def _one_character(cls, delimiter: str | None) -> str | None:
        if delimiter is not None and (len(delimiter) != 1 or delimiter in '\r\n"'):
            raise ValueError("the delimiter must be one character other than a quote or a line break")
        return delimiter

    @field_validator("formats")
    @classmethod
    def _unique(cls, formats: list[FileFormat] | None) -> list[FileFormat] | None:
        if formats is not None and len(set(formats)) != len(formats):
            raise ValueError("each format may be listed once")
        return formats

    def azure_credentials(self) -> AzureCredentials:
        def reveal(secret: SecretStr | None) -> str | None:
            return secret.get_secret_value() if secret is not None else None

        return AzureCredentials(
            account_name=self.account_name,
            account_key=reveal(self.account_key),
            connection_string=reveal(self.connection_string),
            sas_token=reveal(self.sas_token),
            anon=self.anon,
        )

    def discovery_options(self) -> DiscoveryOptions:
        return DiscoveryOptions(
            formats=frozenset(self.formats) if self.formats else None,
            csv_delimiter=self.csv_delimiter,
            sample_rows=self.sample_rows,
            max_files_per_table=self.max_files_per_table,
        )


_AZURE_FIELDS = (
    ("account_name", "config.account_name"),
    ("account_key", "secrets.account_key"),
    ("connection_string", "secrets.connection_string"),
    ("sas_token", "secrets.sas_token"),
)


class FilesConnector(Connector[FilesConfig]):
    """Discovers the data files under a folder, locally or in Azure Blob Storage / ADLS Gen2, through fsspec.

    The URL is checked when the connector is built (`InvalidSourceConfig`, field `config.url`); nothing touches the
    storage before `test_connection`, `discover` or `read_increment`.
    """

    kind: ClassVar[str] = "files"
    config_model: ClassVar[type[FilesConfig]] = FilesConfig
    secret_fields: ClassVar[frozenset[str]] = frozenset({"account_key", "connection_string", "sas_token"})

    def __init__(self, config: FilesConfig) -> None:
        super().__init__(config)
        credentials = config.azure_credentials()
        self.location: Location = parse_location(config.url, config.account_name, credentials.connection_string)
        if not self.location.is_azure:
            for name, field in _AZURE_FIELDS:
                if getattr(config, name) is not None:
                    raise InvalidSourceConfig(f"{name} applies to Azure URLs (abfs://) only", field=field)
            if config.anon:
                raise InvalidSourceConfig("anon applies to Azure URLs (abfs://) only", field="config.anon")

    def test_connection(self) -> ConnectionCheck:
        started = time.perf_counter()
        storage = self._storage()
        storage.check_root()
        storage.list_folder(self.location.root)
        return ConnectionCheck(server=storage.server, elapsed_ms=(time.perf_counter() - started) * 1000)

    def discover(self, scope: Scope | None = None, progress: ProgressCallback | None = None) -> SourceSnapshot:
        scope = scope or self.config.scope()
        storage = self._storage()
        schemas, tables = discover_tables(storage, self.config.discovery_options(), scope, progress)
        if progress is not None:
            progress(len(tables), len(tables), "done")
        return SourceSnapshot(schemas=schemas, tables=tuple(t.snapshot for t in tables), queries=storage.requests)

    def lineage_namespace(self) -> LineageNamespace:
        root = self.location.lineage_name()
        return LineageNamespace(
            namespace=self.location.lineage_namespace(), name_prefix=f"{root.rstrip('/')}/" if root else ""
        )

    def local_paths(self) -> dict[str, Path]:
        return {} if self.location.is_azure else {"config.url": Path(self.location.root)}

    def lineage_dataset_name(self, table: TableSnapshot) -> str:
        """The OpenLineage dataset name of the table's file or folder (namespace: `lineage_namespace()`)."""
        name = table.properties.get("lineage_name")
        if name:
            return str(name)
        return self.lineage_namespace().name_prefix + f"{table.schema}.{table.name}"

    def read_increment(self, request: IncrementRequest) -> Iterator[pa.RecordBatch]:
        """The table's rows as it is now (files added since discovery included); see `crawlers.files.reading`."""
        storage = self._storage()
        options = self.config.discovery_options()
        table = find_table(storage, options, request.table.schema, request.table.name)
        return read_rows(storage, table, request, self.config.csv_delimiter)

    def _storage(self) -> Storage:
        credentials = self.config.azure_credentials() if self.location.is_azure else None
        return open_storage(self.location, credentials, self.config.retries, self.config.timeout_s)
