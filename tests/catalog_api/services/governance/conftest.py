"""`store`: a catalog with the source `erp` (tables orders and customers), on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest

from tests.support.quality import rules_catalog
from tests.support.stores import STORES, context_on


@pytest.fixture(params=STORES)
def store(request, catalog_settings):
    ctx = context_on(request, catalog_settings)
    rules_catalog(ctx)
    yield ctx
    ctx.close()
