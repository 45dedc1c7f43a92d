"""`store`: a catalog with the source `erp` (tables orders and customers), on SQLite and on PostgreSQL."""

from tests.support.quality import rules_catalog_store  # noqa: F401 (fixture: store)
