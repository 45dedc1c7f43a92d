"""Who may read /metrics: operators (and admins) by default, anyone with `metrics_public`; and the route stays out
of the OpenAPI document (it is not part of the catalog's API, and its body is Prometheus text, not JSON)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from catalog_api.app import create_app
from tests.support.api import app_with
from tests.support.auth import secured_catalog


@pytest.fixture
def secured(tmp_path):
    catalog = secured_catalog(tmp_path)
    yield catalog
    catalog.ctx.close()


@pytest.mark.parametrize(("who", "status"), [
    (None, 401), ("viewer", 403), ("curator", 403), ("pii", 403), ("operator", 200), ("admin", 200),
])
def test_metrics_need_the_operator_role_by_default(secured, who, status):
    with TestClient(create_app(ctx=secured.ctx)) as client:
        response = client.get("/metrics", headers=secured.headers(who) if who else {})
    assert response.status_code == status, response.text
    if status == 200:
        assert "catalog_http_requests_total" in response.text
    else:  # a refusal is the catalog's JSON error, with no metric in it
        assert "catalog_" not in response.text


def test_metrics_public_lets_a_scraper_without_credentials_read_them(secured):
    with TestClient(app_with(secured.ctx, metrics_public=True)) as client:
        response = client.get("/metrics")
        assert response.status_code == 200
        assert "catalog_outbox_events" in response.text
        # Only /metrics opens: the API itself still asks for credentials.
        assert client.get("/api/v1/sources").status_code == 401


def test_metrics_route_is_not_in_the_openapi_document(secured):
    app = create_app(ctx=secured.ctx)
    assert "/metrics" not in app.openapi()["paths"]
    assert any(getattr(route, "path", None) == "/metrics" for route in app.routes)
