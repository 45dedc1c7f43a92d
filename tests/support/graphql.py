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


def page_query() -> str:
    """The frontend's page query of README.md, as benchmarks/graphql_load.py sends it (read from there: both agree)."""
    import importlib.util

    from tests.support.paths import REPO

    spec = importlib.util.spec_from_file_location("graphql_benchmark", REPO / "benchmarks" / "graphql_load.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.PAGE_QUERY


def alias_flood(query: str, copies: int) -> str:
    """One document asking `copies` times, each under its own alias, for the top-level field of `query`."""
    body = query.strip()[1:-1].strip()
    return "{" + " ".join(f"a{i}: {body}" for i in range(copies)) + "}"
