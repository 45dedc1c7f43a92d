"""Calling the REST API as a user's client would: the headers it sends, registering a source, the app with other
settings."""

from __future__ import annotations

# Sent with every request of the tests' API clients: a body-less POST (a crawl) declares JSON too, as the cross-site
# guard asks of requests without credentials (catalog_api/web/browser.py).
API_HEADERS = {"Content-Type": "application/json"}


def register(client, config: dict, name: str = "app_db", kind: str = "postgres", **extra) -> dict:
    """`POST /api/v1/sources`; the registration must succeed (201). Returns the source's body."""
    response = client.post("/api/v1/sources", json={"name": name, "kind": kind, "config": config, **extra})
    assert response.status_code == 201, response.text
    return response.json()


def app_with(ctx, **settings):
    """The application over `ctx` with some settings changed (the context's services are shared, not copied)."""
    import dataclasses

    from catalog_api.app import create_app

    return create_app(ctx=dataclasses.replace(ctx, settings=ctx.settings.model_copy(update=settings)))
