"""The catalog every search test runs on: once on the embedded SQLite, once on PostgreSQL."""

from __future__ import annotations

import pytest

from tests.support.stores import STORES, context_on


@pytest.fixture(params=STORES)
def ctx(request, catalog_settings):
    ctx = context_on(request, catalog_settings)
    yield ctx
    ctx.close()
