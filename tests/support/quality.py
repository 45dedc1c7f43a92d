"""A small catalog to hang quality rules on: source `erp` (a SQLite source, so custom SQL is parsed as SQLite) with
`sales.orders` and `sales.customers`, and a few rules of different kinds."""

from __future__ import annotations

import json

import pytest

from catalog_api.services.context import ServiceContext
from catalog_api.services.quality.evaluation import request_quality_run
from catalog_api.urns import dataset_urn
from crawlers.snapshot import ColumnSnapshot, SchemaSnapshot, SourceSnapshot
from tests.support.catalog import query
from tests.support.events import outbox
from tests.support.factories import apply, make_source, make_table
from tests.support.jobs import finished
from tests.support.stores import STORES, context_on

ORDERS = dataset_urn("erp", "sales", "orders")
CUSTOMERS = dataset_urn("erp", "sales", "customers")

@pytest.fixture(params=STORES, name="store")
def rules_catalog_store(request, catalog_settings):
    """`store`: a migrated catalog holding the rules catalog, on the embedded SQLite and on PostgreSQL."""
    ctx = context_on(request, catalog_settings)
    rules_catalog(ctx)
    yield ctx
    ctx.close()


RULES = {
    ORDERS: [
        {"name": "id_not_null", "kind": "not_null", "column": "id"},
        {"name": "status_values", "kind": "accepted_values", "column": "status",
         "params": {"values": ["open", "shipped", "cancelled"]}, "severity": "warning", "owner": "sales-data"},
        {"name": "total_in_range", "kind": "range", "column": "total", "params": {"min": 0, "max": 100000},
         "description": "Orders above 100k are typos."},
        {"name": "fresh", "kind": "freshness", "column": "placed_at", "params": {"max_age": "6h"}},
        {"name": "no_orphans", "kind": "custom_sql",
         "params": {"sql": "SELECT o.id FROM sales.orders o LEFT JOIN sales.customers c ON c.id = o.customer_id "
                           "WHERE c.id IS NULL"}},
    ],
    CUSTOMERS: [
        {"name": "email_shape", "kind": "regex", "column": "email", "params": {"pattern": "^[^@]+@[^@]+$"}},
        {"name": "rows", "kind": "row_count", "params": {"min": 1}},
    ],
}


def rules_catalog(ctx: ServiceContext, source: str = "erp") -> int:
    """Registers `source` with the two tables (no rules yet); returns the source's id."""
    source_id = make_source(ctx, source)
    columns = (ColumnSnapshot("id", 1, "integer", nullable=False), ColumnSnapshot("customer_id", 2, "integer"),
               ColumnSnapshot("status", 3, "text"), ColumnSnapshot("total", 4, "numeric(12,2)"),
               ColumnSnapshot("placed_at", 5, "timestamp"))
    customers = (ColumnSnapshot("id", 1, "integer", nullable=False), ColumnSnapshot("email", 2, "text"))
    apply(ctx, source_id, SourceSnapshot(schemas=(SchemaSnapshot("sales"),), tables=(
        make_table("sales", "orders", columns), make_table("sales", "customers", customers))))
    return source_id


def add_all(ctx: ServiceContext) -> None:
    """Adds every rule of `RULES` through the service."""
    from catalog_api.services import quality

    for table, rules in RULES.items():
        for rule in rules:
            quality.add_rule(ctx, table, rule)


def result_events(ctx) -> list[tuple[str, str, str]]:
    """The failed/recovered events in the outbox, oldest first, as (type, rule name, run id)."""
    return [(row.type, json.loads(row.event)["data"]["rule"], json.loads(row.event)["data"]["run_id"])
            for row in outbox(ctx) if row.type in ("catalog.quality.failed", "catalog.quality.recovered")]


def rule_id(ctx, table: str, name: str) -> int:
    """The id of a table's rule by name."""
    from catalog_api.services import quality

    return query(ctx, quality.find_rule, table, name).id


def run_quality(ctx, source_id: int, tables: list[str] | None = None, *, timeout: float = 60):
    """A quality job of the source (or of `tables`) that succeeded."""
    job = finished(ctx, request_quality_run(ctx, source_id, tables), timeout=timeout)
    assert job.status == "succeeded", (job.error_code, job.error_message)
    return job


def latest_result(ctx, table: str, name: str):
    """The newest result of a table's rule by name."""
    from catalog_api.services import quality

    return query(ctx, quality.rule_results, rule_id(ctx, table, name), limit=1)[0]
