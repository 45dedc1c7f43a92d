"""The catalog stores every service is tested on: the embedded SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

STORES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
"""`@pytest.fixture(params=STORES)`: a fixture run once per store."""


def context_on(request, catalog_settings):
    """A migrated catalog's service context on the store `request.param` names (close it when done)."""
    from catalog_api.bootstrap import build_context

    settings = catalog_settings
    if request.param == "postgres":
        settings = settings.model_copy(update={"database_url": request.getfixturevalue("pg_catalog_url")})
    return build_context(settings, migrate=True)
