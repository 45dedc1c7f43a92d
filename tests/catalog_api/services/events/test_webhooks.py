"""Signed webhooks to a real local HTTP receiver: retries and the delivery log, secret rotation, URL checks, and
the webhook and outbox APIs through REST and GraphQL.
"""

from __future__ import annotations

import httpx
import pytest

from catalog_api.services import curation, governance
from catalog_api.services.events.relay import Relay
from events import CatalogEvent, EventType
from events.webhooks import SIGNATURE_HEADER, verify
from tests.support.events import Receiver
from tests.support.graphql import data
from tests.support.sources import register_sqlite


def test_signed_webhooks_reach_a_real_receiver_with_retries_on_500_and_a_delivery_log(ctx, client, tmp_path):
    ctx.settings.webhook_allow_private_networks = True  # the receiver listens on 127.0.0.1
    receiver = Receiver()
    try:
        created = client.post("/api/v1/webhooks", json={
            "url": receiver.url, "event_types": ["catalog.description.changed"], "urn_prefix": "urn:catalog:source:shop"})
        assert created.status_code == 201, created.text
        body = created.json()
        receiver.secret = body["secret"]
        assert len(body["secret"]) >= 16
        assert "secret" not in client.get(f"/api/v1/webhooks/{body['id']}").json()
        register_sqlite(ctx, tmp_path)
        curation.set_description(ctx, "urn:catalog:source:shop", "Shop")
        receiver.script = [500]  # the first request fails, the retry succeeds
        relay = Relay(ctx)
        assert relay.run_once().sent == 2
        statuses = [status for status, _, _ in receiver.requests]
        assert statuses == [500, 200]  # only the matching event; the registration did not match the filter
        _, headers, raw = receiver.requests[-1]
        assert headers["Content-Type"].startswith("application/cloudevents+json")
        verify(raw, headers[SIGNATURE_HEADER], body["secret"])
        event = CatalogEvent.from_json(raw)
        assert event.type == EventType.DESCRIPTION_CHANGED and event.data["after"] == "Shop"

        # A tampered body with the genuine signature header is refused by the receiver's check.
        tampered = raw.replace(b"Shop", b"Evil")
        refused = httpx.post(receiver.url, content=tampered, headers={SIGNATURE_HEADER: headers[SIGNATURE_HEADER]})
        assert refused.status_code == 401

        log = client.get(f"/api/v1/webhooks/{body['id']}/deliveries").json()
        assert [(d["event_id"], d["delivered"], d["attempts"], d["status_code"]) for d in log] == [
            (event.id, True, 2, 200)]
        relay.close()
    finally:
        receiver.close()


def test_a_webhook_on_one_terms_urn_receives_that_terms_events_alone(ctx, client):
    ctx.settings.webhook_allow_private_networks = True  # the receiver listens on 127.0.0.1
    receiver = Receiver()
    try:
        first = governance.create_term(ctx, "Customer")
        for number in range(2, 12):  # term 1's URN is a text prefix of terms 10 and 11's
            governance.create_term(ctx, f"Term {number}")
        types = ["catalog.glossary_term.updated", "catalog.glossary_term.deleted", "catalog.domain.created"]
        hook = client.post("/api/v1/webhooks", json={
            "url": receiver.url, "event_types": types, "urn_prefix": f"urn:catalog:glossary_term:{first.id}"})
        assert hook.status_code == 201, hook.text
        receiver.secret = hook.json()["secret"]
        governance.update_term(ctx, first.id, "Client")
        governance.update_term(ctx, first.id + 9, "Term ten")
        governance.delete_term(ctx, first.id)
        governance.create_domain(ctx, "Sales")  # a type it asked for, about another subject
        relay = Relay(ctx)
        relay.run_once()
        received = [CatalogEvent.from_json(raw) for _, _, raw in receiver.requests]
        assert [(e.type.value, e.subject) for e in received] == [
            ("catalog.glossary_term.updated", f"urn:catalog:glossary_term:{first.id}"),
            ("catalog.glossary_term.deleted", f"urn:catalog:glossary_term:{first.id}")]
        relay.close()
    finally:
        receiver.close()


def test_rotating_the_secret_signs_with_the_new_one(ctx, client, tmp_path):
    ctx.settings.webhook_allow_private_networks = True  # the receiver listens on 127.0.0.1
    receiver = Receiver()
    try:
        hook = client.post("/api/v1/webhooks", json={"url": receiver.url}).json()
        rotated = client.post(f"/api/v1/webhooks/{hook['id']}/secret", json={})
        assert rotated.status_code == 200 and rotated.json()["secret"] != hook["secret"]
        receiver.secret = hook["secret"]  # the receiver still expects the old secret: refused, final
        register_sqlite(ctx, tmp_path)
        relay = Relay(ctx)
        relay.run_once()
        assert [status for status, _, _ in receiver.requests] == [401]
        log = client.get(f"/api/v1/webhooks/{hook['id']}/deliveries", params={"failed_only": True}).json()
        assert log[0]["status_code"] == 401 and not log[0]["delivered"]
        receiver.secret = rotated.json()["secret"]
        client.post("/api/v1/events/outbox/replay")
        relay.run_once()
        assert [status for status, _, _ in receiver.requests] == [401, 200]
        relay.close()
    finally:
        receiver.close()


@pytest.mark.parametrize(("url", "reason"), [
    ("ftp://example.com/hook", "only http and https"),
    ("file:///etc/passwd", "only http and https"),
    ("http://169.254.169.254/latest/meta-data", "link-local"),
    ("http://0.0.0.0:8080/", "unspecified"),
    ("https://user:pw@example.com/hook", "credentials"),
    ("/relative/hook", "only http and https"),
])
def test_webhook_urls_are_checked(client, url, reason):
    answer = client.post("/api/v1/webhooks", json={"url": url})
    assert answer.status_code == 422
    assert answer.json()["error"]["field"] == "url" and reason in answer.json()["error"]["message"]


FINDINGS = {
    # the cloud metadata endpoint, spelled so that a text check misses it: refused whatever the settings say
    "http://2852039166/latest/meta-data/": "2852039166 resolves to a link-local address",
    "http://0xA9FEA9FE/latest/meta-data/": "0xa9fea9fe resolves to a link-local address",
    "http://0251.0376.0251.0376/latest/meta-data/": "not a URL",
    "http://[::ffff:169.254.169.254]/latest/meta-data/": "::ffff:169.254.169.254 is a link-local address",
    # loopback and private addresses: refused unless the setting allows them
    "http://127.0.0.1/hook": "127.0.0.1 is a loopback address, refused unless private networks are allowed "
                             "(CATALOG_WEBHOOK_ALLOW_PRIVATE_NETWORKS=true allows them)",
    "http://10.0.0.1/hook": "10.0.0.1 is a private address",
    "http://localhost/hook": "localhost resolves to a loopback address",
}
PRIVATE = ["http://127.0.0.1/hook", "http://10.0.0.1/hook", "http://localhost/hook"]


@pytest.mark.parametrize("url", FINDINGS)
def test_metadata_loopback_and_private_targets_are_refused_by_default(client, url):
    answer = client.post("/api/v1/webhooks", json={"url": url})
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["field"] == "url"
    assert FINDINGS[url] in answer.json()["error"]["message"]
    assert client.get("/api/v1/webhooks").json() == []


@pytest.mark.parametrize("url", FINDINGS)
def test_allowing_private_networks_never_allows_the_metadata_endpoint(ctx, client, url):
    ctx.settings.webhook_allow_private_networks = True
    answer = client.post("/api/v1/webhooks", json={"url": url})
    if url in PRIVATE:
        assert answer.status_code == 201, answer.text
    else:
        assert answer.status_code == 422 and answer.json()["error"]["field"] == "url"
        assert FINDINGS[url] in answer.json()["error"]["message"]
        assert "CATALOG_WEBHOOK_ALLOW_PRIVATE_NETWORKS" not in answer.json()["error"]["message"]


def test_an_update_is_checked_like_a_creation(client):
    hook = client.post("/api/v1/webhooks", json={"url": "https://hooks.example.com/x"}).json()
    moved = client.patch(f"/api/v1/webhooks/{hook['id']}", json={"url": "http://0xA9FEA9FE/"})
    assert moved.status_code == 422 and moved.json()["error"]["field"] == "url"
    assert client.get(f"/api/v1/webhooks/{hook['id']}").json()["url"] == "https://hooks.example.com/x"
    graphql = client.post("/graphql", json={"query": 'mutation($id: String!) { updateWebhook(id: $id, input: '
                                                     '{url: "http://127.0.0.1/"}) { url } }', "variables": hook})
    assert graphql.json()["errors"][0]["extensions"]["field"] == "url"


def test_a_name_that_rebinds_to_a_private_address_after_the_check_is_refused_at_delivery(ctx, client, tmp_path):
    """The DNS answer changes between saving the subscription and delivering to it: the delivery checks again, finds
    the receiver's loopback address and sends nothing."""
    receiver = Receiver()
    answers = [["93.184.216.34"], ["127.0.0.1"]]
    ctx.resolve = lambda host, port: answers.pop(0)
    try:
        hook = client.post("/api/v1/webhooks", json={"url": f"http://rebind.test:{receiver.port}/hook"})
        assert hook.status_code == 201, hook.text
        register_sqlite(ctx, tmp_path)
        relay = Relay(ctx)
        assert relay.run_once().dead == 1  # a refusal is final: replaying makes sense once the URL is fixed
        relay.close()
        [delivery] = client.get(f"/api/v1/webhooks/{hook.json()['id']}/deliveries").json()
        assert (delivery["delivered"], delivery["status_code"], delivery["attempts"]) == (False, None, 1)
        assert delivery["error"] == ("destination refused: rebind.test resolves to a loopback address, refused "
                                     "unless private networks are allowed")
        assert receiver.requests == [] and answers == []
    finally:
        receiver.close()


def test_the_delivery_log_keeps_no_response_body(ctx, client, tmp_path):
    ctx.settings.webhook_allow_private_networks = True  # the receiver listens on 127.0.0.1
    receiver = Receiver()
    receiver.script = [400]
    try:
        hook = client.post("/api/v1/webhooks", json={"url": receiver.url}).json()
        register_sqlite(ctx, tmp_path)
        curation.set_description(ctx, "urn:catalog:source:shop", "Shop")
        relay = Relay(ctx)
        relay.run_once()
        relay.close()
        assert [status for status, _, _ in receiver.requests] == [400, 200]
        said = Receiver.reply.decode()

        rest = client.get(f"/api/v1/webhooks/{hook['id']}/deliveries")
        assert [(d["status_code"], d["error"]) for d in rest.json()] == [(200, None), (400, "HTTP 400")]
        assert said not in rest.text
        assert set(rest.json()[0]) == {"id", "event_id", "event_type", "delivered", "attempts", "status_code",
                                       "error", "duration_ms", "started_at"}

        every_field = "{ id eventId eventType delivered attempts statusCode error durationMs startedAt }"
        graphql = client.post("/graphql", json={"query": f'{{ webhookDeliveries(id: "{hook["id"]}") {every_field} }}'})
        assert [d["statusCode"] for d in graphql.json()["data"]["webhookDeliveries"]] == [200, 400]
        assert said not in graphql.text
        asked = client.post("/graphql", json={"query": f'{{ webhookDeliveries(id: "{hook["id"]}") '
                                                       '{ responseExcerpt } }'})
        assert "Cannot query field 'responseExcerpt'" in asked.json()["errors"][0]["message"]
    finally:
        receiver.close()


def test_webhook_rest_crud_and_filter_errors(client):
    bad = client.post("/api/v1/webhooks", json={"url": "https://hooks.example.com/x", "event_types": ["catalog.nope"]})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "event_types"
    bad = client.post("/api/v1/webhooks", json={"url": "https://hooks.example.com/x", "urn_prefix": "erp"})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "urn_prefix"
    short = client.post("/api/v1/webhooks", json={"url": "https://hooks.example.com/x", "secret": "short"})
    assert short.status_code == 422 and short.json()["error"]["field"] == "secret"

    hook = client.post("/api/v1/webhooks", json={"url": "https://hooks.example.com/x", "description": "ops"}).json()
    changed = client.patch(f"/api/v1/webhooks/{hook['id']}", json={
        "event_types": ["catalog.column.added"], "active": False})
    assert changed.status_code == 200
    assert changed.json()["event_types"] == ["catalog.column.added"] and changed.json()["active"] is False
    assert changed.json()["description"] == "ops"
    assert [h["id"] for h in client.get("/api/v1/webhooks").json()] == [hook["id"]]
    assert client.delete(f"/api/v1/webhooks/{hook['id']}").status_code == 204
    assert client.get(f"/api/v1/webhooks/{hook['id']}").status_code == 404


def test_webhook_graphql_crud_and_outbox_queries(ctx, client, tmp_path):
    def gql(query: str, **variables: object) -> dict:
        return data(client, query, **variables)

    created = gql("""mutation($url: String!) { createWebhook(input: {url: $url, eventTypes: ["catalog.source.registered"]})
                     { secret subscription { id url eventTypes active } } }""", url="https://hooks.example.com/g")
    hook = created["createWebhook"]["subscription"]
    assert created["createWebhook"]["secret"] and hook["eventTypes"] == ["catalog.source.registered"]
    updated = gql("""mutation($id: String!) { updateWebhook(id: $id, input: {urnPrefix: "urn:catalog:source:shop"})
                     { urnPrefix eventTypes } }""", id=hook["id"])
    assert updated["updateWebhook"] == {"urnPrefix": "urn:catalog:source:shop",
                                        "eventTypes": ["catalog.source.registered"]}
    assert gql("{ webhooks { id } }")["webhooks"] == [{"id": hook["id"]}]
    assert gql("""query($id: String!) { webhookDeliveries(id: $id) { eventId } }""", id=hook["id"]) == {
        "webhookDeliveries": []}
    bad = client.post("/graphql", json={"query": 'mutation { createWebhook(input: {url: "gopher://x"}) { secret } }'})
    assert bad.json()["errors"][0]["extensions"]["field"] == "url"

    register_sqlite(ctx, tmp_path)
    pending = gql('{ outboxEvents(status: "pending") { id type status event } }')["outboxEvents"]
    assert [(e["type"], e["status"]) for e in pending] == [("catalog.source.registered", "pending")]
    assert pending[0]["event"]["subject"] == "urn:catalog:source:shop"
    assert gql("mutation { replayEvents { id } }") == {"replayEvents": []}
    assert gql("""mutation($id: String!) { deleteWebhook(id: $id) }""", id=hook["id"]) == {"deleteWebhook": True}
