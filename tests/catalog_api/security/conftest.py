from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from catalog_api.app import create_app
from tests.support.auth import secured_catalog
from tests.support.clock import Clock


@pytest.fixture
def secured(tmp_path):
    catalog = secured_catalog(tmp_path)
    yield catalog
    catalog.ctx.close()


@pytest.fixture
def secured_client(secured):
    with TestClient(create_app(ctx=secured.ctx)) as client:
        yield client


@pytest.fixture
def clock() -> Clock:
    """The monotonic clock handed to rate-limit buckets, the Key Vault cache and the Entra ID verifier."""
    return Clock()
