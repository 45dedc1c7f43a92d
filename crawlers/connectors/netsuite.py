"""NetSuite connector: discovers record types through SuiteTalk REST's metadata catalog and reads them with SuiteQL.

Discovery sends 1 + N requests for N record types (the catalog listing, then one JSON Schema each), one at a time:
an account's concurrency limit is shared by every integration, so the crawler does not take several slots. The
record types to catalogue are an allow-list in the registration (`record_types`), because describing every type
of an account takes minutes.

Tables live in the schema `record`; columns are the JSON Schema properties, typed as the schema types them
(`string`, `integer`, `number`, `boolean`, `string(date)`, `string(date-time)`, `object(<record type>)` for a
reference, `array(...)` / `object(<...Collection>)` for sublists), custom fields included with their labels as
comments. The primary key is `id`; a reference to another catalogued record type is a foreign key to its `id`.

`read_increment` reads through SuiteQL (`POST /services/rest/query/v1/suiteql`, `Prefer: transient`), paging with
`limit`/`offset` until `hasMore` is false. Limits worth knowing: SuiteQL tables are the analytics data source's,
which match the REST record types for entities and lists (`customer`, `employee`, `subsidiary`, custom records)
but not for transactions: a `salesOrder` is a row of SuiteQL's `transaction` (type `SalesOrd`).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any, ClassVar

import pyarrow as pa

from crawlers.connector import ConnectionCheck, Connector, LineageNamespace, ProgressCallback
from crawlers.errors import ConnectorError, InvalidSourceConfig
from crawlers.increment import IncrementRequest
from crawlers.netsuite.auth import ClientCredentials
from crawlers.netsuite.config import SECRET_FIELDS, NetsuiteConfig
from crawlers.netsuite.http import NetsuiteHttpError, NetsuiteSession
from crawlers.netsuite.metadata import CATALOG_PATH, SCHEMA, SCHEMA_MEDIA_TYPE, catalog_names, table_from_schema
from crawlers.netsuite.suiteql import SUITEQL_PATH, IncrementQuery, read_batches
from crawlers.scope import Scope
from crawlers.snapshot import SchemaSnapshot, SourceSnapshot, TableSnapshot

__all__ = ["SCHEMA", "NetsuiteConfig", "NetsuiteConnector"]

# SuiteQL's message for a table it does not know: "... Search error occurred: Record 'foo' was not found."
_UNKNOWN_RECORD = re.compile(r"Record '([^']+)' was not found", re.IGNORECASE)


class NetsuiteConnector(Connector[NetsuiteConfig]):
    """Catalogues the allow-listed record types of one NetSuite account and reads their rows through SuiteQL."""

    kind: ClassVar[str] = "netsuite"
    config_model: ClassVar[type[NetsuiteConfig]] = NetsuiteConfig
    secret_fields: ClassVar[frozenset[str]] = SECRET_FIELDS

    def __init__(self, config: NetsuiteConfig, sleep: Callable[[float], None] = time.sleep) -> None:
        super().__init__(config)
        self._sleep = sleep  # how retries wait; tests pass a recorder
        self._credentials: ClientCredentials | None = None  # one OAuth 2.0 access token for all operations

    # -- public API -------------------------------------------------------------------------------------------

    def test_connection(self) -> ConnectionCheck:
        """List the first allow-listed record type in the metadata catalog: proves the address and credentials."""
        started = time.perf_counter()
        first = self.config.record_types[0]
        with self._session() as session:
            names = catalog_names(self._listing(session, {"select": first}))
        if first.lower() not in {n.lower() for n in names}:
            raise self._unknown_type(first)
        elapsed_ms = (time.perf_counter() - started) * 1000
        return ConnectionCheck(
            server=f"NetSuite account {self.config.account_id} (SuiteTalk REST)", elapsed_ms=round(elapsed_ms, 3)
        )

    def discover(self, scope: Scope | None = None, progress: ProgressCallback | None = None) -> SourceSnapshot:
        """Read the catalog listing of the allow-listed types in scope, then each type's JSON Schema."""
        scope = scope or self.config.scope()
        report: ProgressCallback = progress or (lambda done, total, message: None)
        if not scope.schema_in_scope(SCHEMA):
            return SourceSnapshot()
        wanted = [t for t in self.config.record_types if scope.table_in_scope(SCHEMA, t)]
        if not wanted:
            return SourceSnapshot(schemas=(self._schema_snapshot(),))
        total = len(wanted) + 1
        with self._session() as session:
            names = self._catalogued(session, wanted)
            report(1, total, f"listed {len(names)} record types")
            known = {n.lower(): n for n in names}
            tables: list[TableSnapshot] = []
            for done, name in enumerate(names, start=2):
                field = self._type_field(name)
                try:
                    schema = session.get_json(f"{CATALOG_PATH}/{name}", accept=SCHEMA_MEDIA_TYPE, field=field)
                except NetsuiteHttpError as error:
                    if error.status in (400, 404):
                        raise self._unknown_type(name, error.detail) from None
                    raise
                tables.append(table_from_schema(name, schema, known))
                report(done, total, f"described {name}")
        tables.sort(key=lambda t: t.name)
        return SourceSnapshot(schemas=(self._schema_snapshot(),), tables=tuple(tables), queries=session.requests)

    def lineage_namespace(self) -> LineageNamespace:
        """OpenLineage naming: namespace `netsuite://<account id>`, dataset `record.<record type>`."""
        return LineageNamespace(namespace=f"netsuite://{self.config.account_id}", name_prefix="")

    def read_increment(self, request: IncrementRequest) -> Iterator[pa.RecordBatch]:
        """Rows of the record type after the watermark, ordered by the plan's column then `id`, through SuiteQL."""
        if request.range is not None:
            raise InvalidSourceConfig("NetSuite record types are read after a watermark only; a backfill of a "
                                      "range needs an SQL or file source", field="table")
        query = IncrementQuery(request.table, request.plan, request.watermark)
        field = self._type_field(request.table.name)

        with self._session() as session:

            def post(statement: str, limit: int, offset: int) -> Mapping[str, Any]:
                try:
                    return session.post_json(
                        SUITEQL_PATH,
                        {"q": statement},
                        {"limit": str(limit), "offset": str(offset)},
                        headers={"Prefer": "transient"},
                        field=field,
                    )
                except NetsuiteHttpError as error:
                    raise self._suiteql_error(error, request.table.name, statement) from None

            yield from read_batches(post, query, self.config.page_size, request.batch_rows)

    # -- helpers ----------------------------------------------------------------------------------------------

    def _session(self) -> NetsuiteSession:
        if self.config.auth == "oauth2_client_credentials" and self._credentials is None:
            self._credentials = ClientCredentials(self.config)
        return NetsuiteSession(self.config, sleep=self._sleep, credentials=self._credentials)

    def _catalogued(self, session: NetsuiteSession, wanted: list[str]) -> list[str]:
        """The catalog's spelling of each wanted type, in the registration's order; unknown ones are refused."""
        try:
            listing = self._listing(session, {"select": ",".join(wanted)})
        except NetsuiteHttpError as error:
            if error.status != 400:
                raise
            # A `select` naming a type the account lacks may be refused as a whole: the full listing (names and
            # links only, which is quick) tells which one.
            listing = self._listing(session, None)
        available = {n.lower(): n for n in catalog_names(listing)}
        for name in wanted:
            if name.lower() not in available:
                raise self._unknown_type(name)
        return [available[name.lower()] for name in wanted]

    def _listing(self, session: NetsuiteSession, params: Mapping[str, str] | None) -> Any:
        try:
            return session.get_json(CATALOG_PATH, params)
        except NetsuiteHttpError as error:
            if error.status != 404:
                raise
            field = "config.base_url" if self.config.base_url else "config.account_id"
            raise InvalidSourceConfig(
                f"{session.base_url} has no SuiteTalk REST metadata catalog (HTTP 404): is it the account's REST "
                "domain, https://<account id>.suitetalk.api.netsuite.com?",
                field=field,
            ) from None

    def _schema_snapshot(self) -> SchemaSnapshot:
        return SchemaSnapshot(SCHEMA, f"Record types of NetSuite account {self.config.account_id} (SuiteTalk REST)")

    def _type_field(self, name: str) -> str | None:
        index = self.config.record_type_index(name)
        return None if index is None else f"config.record_types.{index}"

    def _unknown_type(self, name: str, detail: str = "") -> InvalidSourceConfig:
        said = f" (NetSuite: {detail})" if detail else ""
        return InvalidSourceConfig(
            f"NetSuite account {self.config.account_id} has no record type {name!r} in its metadata catalog, or the "
            f"role cannot see it{said}; record type names are those of the REST API, e.g. `customer`, `salesOrder`, "
            "`customrecord_xyz`",
            field=self._type_field(name) or "config.record_types",
        )

    def _suiteql_error(self, error: NetsuiteHttpError, table: str, statement: str) -> ConnectorError:
        unknown = _UNKNOWN_RECORD.search(error.detail)
        if unknown and unknown.group(1).lower() == table.lower():
            return InvalidSourceConfig(
                f"SuiteQL has no table {table!r} (NetSuite: {error.detail}); SuiteQL reads the analytics data source, "
                "where transactions such as salesOrder or invoice are rows of `transaction`",
                field=self._type_field(table) or "table",
            )
        return ConnectorError(
            f"SuiteQL refused the statement for {table!r} (HTTP {error.status} {error.code or ''}): {error.detail}; "
            f"statement: {statement}"
        )
