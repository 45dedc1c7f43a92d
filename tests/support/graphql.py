"""Calling /graphql from a test client: the body, its data (no errors allowed) or its first error."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient


def post(client: TestClient, query: str, **variables: Any) -> dict[str, Any]:
    response = client.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code == 200, response.text
    return response.json()


def data(client: TestClient, query: str, **variables: Any) -> dict[str, Any]:
    body = post(client, query, **variables)
    assert not body.get("errors"), body["errors"]
    return body["data"]


def error(client: TestClient, query: str, **variables: Any) -> dict[str, Any]:
    """The first error of a request that must fail."""
    body = post(client, query, **variables)
    assert body.get("errors"), f"expected an error, got {body}"
    return body["errors"][0]
