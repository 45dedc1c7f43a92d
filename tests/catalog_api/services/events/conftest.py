"""Fixtures of the event tests: a catalog on SQLite with quick retry timings and no background relay."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from catalog_api.app import create_app
from catalog_api.bootstrap import build_context
from catalog_api.services.context import ServiceContext
from catalog_api.settings import Settings
from tests.support.api import API_HEADERS
from tests.support.events import FAST_EVENTS
from tests.support.spark import SPARK_CONF, SPARK_DRIVER_MEMORY, SPARK_MASTER


@pytest.fixture
def ctx(tmp_path) -> Iterator[ServiceContext]:
    """A catalog on SQLite with quick retry timings and no background relay: each test drives `run_once`."""
    settings = Settings(home=tmp_path / "home", secret_key="test-secret-key-not-for-production", file_roots=[tmp_path],
                        scheduler_enabled=False, broker_url=None, job_max_attempts=1, **FAST_EVENTS,
                        spark_master=SPARK_MASTER, spark_driver_memory=SPARK_DRIVER_MEMORY,
                        spark_conf=dict(SPARK_CONF), profile_sample_rows=1000)
    context = build_context(settings, migrate=True)
    yield context
    context.close()


@pytest.fixture
def client(ctx) -> Iterator[TestClient]:
    with TestClient(create_app(ctx=ctx), headers=API_HEADERS) as test_client:
        yield test_client
