"""Who did what: jobs, change records and events name their actor, and the audit log (REST and GraphQL) lists every
state-changing request with its caller, action, target and outcome.

A curator (an API key) registers a source and curates it, an operator (an Entra ID user) crawls it; each test
checks what they did against rows read straight from the catalog database.
"""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from catalog_api.app import create_app
from catalog_api.security.identity import Identity
from events.schemas import validate
from tests.support.api import register
from tests.support.graphql import data, error
from tests.support.identity import as_caller
from tests.support.jobs import rest_job
from tests.support.sources import PG_SHOP

pytestmark = pytest.mark.postgres

CURATOR = Identity(subject="k-curator", name="curation bot", method="api_key", roles=frozenset({"curator"}))
OPERATOR = Identity(subject="oid-operator", name="olga@example.com", method="entra", roles=frozenset({"operator"}))
AUDITOR = Identity(subject="k-auditor", name="audit desk", method="api_key", roles=frozenset({"admin"}))
PASSWORD = "pw-9f3a-never-in-the-audit"
SOURCE_URN = "urn:catalog:source:shop"
USERS = "urn:catalog:dataset:shop:app:users"
MISSING = "urn:catalog:dataset:shop:app:missing"

SET_TAGS = "mutation($urn: String!) { setTags(urn: $urn, tags: [\"pii\"]) { urn } }"
DELETE_SOURCE = "mutation { deleteSource(id: 999) }"
AUDIT = """query($actor: String, $action: String, $outcome: String, $after: Int, $limit: Int!) {
  audit(actor: $actor, action: $action, outcome: $outcome, after: $after, limit: $limit) {
    items { id at actor actorName authMethod subject action target outcome requestId client }
    nextAfter
  }
}"""


def who(identity: Identity) -> tuple[str, str, str, str]:
    return identity.actor, identity.name, identity.method, identity.subject


@pytest.fixture
def scenario(catalog_ctx, make_pg_database):
    """The curator registers and describes `shop`, the operator crawls it, then both make a mistake each."""
    app = create_app(ctx=catalog_ctx)
    curator, operator = TestClient(as_caller(app, CURATOR)), TestClient(as_caller(app, OPERATOR))
    source = register(curator, make_pg_database(PG_SHOP), name="shop", secrets={"password": PASSWORD})
    assert curator.put(f"/api/v1/entities/{SOURCE_URN}/description",
                       json={"description": "the web shop"}).status_code == 200
    queued = operator.post(f"/api/v1/sources/{source['id']}/crawl", headers={"X-Request-ID": "req-crawl-1"})
    job = rest_job(operator, queued.json())
    assert job["status"] == "succeeded", job
    data(curator, SET_TAGS, urn=USERS)
    assert curator.put(f"/api/v1/entities/{MISSING}/description", json={"description": "x"}).status_code == 404
    assert error(operator, DELETE_SOURCE)["extensions"]["code"] == "not_found"
    refused = curator.post("/api/v1/sources", json={"name": "not a name!", "kind": "postgres", "config": {},
                                                    "secrets": {"password": PASSWORD}})
    assert refused.status_code == 422
    return {"app": app, "source_id": source["id"], "job": job}


def expected_entries(source_id: int) -> list[tuple]:
    """What the scenario did, newest first: (actor, name, method, subject, action, target, outcome)."""
    return [
        (*who(CURATOR), "POST /api/v1/sources", None, "422"),
        (*who(OPERATOR), "mutation deleteSource", "999", "not_found"),
        (*who(CURATOR), "PUT /api/v1/entities/{urn}/description", MISSING, "404"),
        (*who(CURATOR), "mutation setTags", USERS, "ok"),
        (*who(OPERATOR), "POST /api/v1/sources/{source_id}/crawl", str(source_id), "202"),
        (*who(CURATOR), "PUT /api/v1/entities/{urn}/description", SOURCE_URN, "200"),
        (*who(CURATOR), "POST /api/v1/sources", None, "201"),
    ]


def stored_audit(ctx) -> list[dict]:
    with ctx.db.engine.connect() as connection:
        return [dict(row._mapping) for row in connection.execute(text("select * from audit_log order by id desc"))]


def as_tuple(entry: dict) -> tuple:
    keys = ("actor", "actor_name", "auth_method", "subject", "action", "target", "outcome")
    return tuple(entry[k] for k in keys)


def auditor(scenario) -> TestClient:
    return TestClient(as_caller(scenario["app"], AUDITOR))


def test_a_job_records_who_requested_it(scenario, catalog_ctx):
    job_id = scenario["job"]["id"]
    with catalog_ctx.db.engine.connect() as connection:
        stored = connection.execute(text("select actor from jobs where id = :id"), {"id": job_id}).scalar_one()
    assert stored == OPERATOR.actor == "entra:oid-operator"
    client = auditor(scenario)
    assert client.get(f"/api/v1/jobs/{job_id}").json()["actor"] == stored
    assert data(client, "query($id: String!) { job(id: $id) { actor } }", id=job_id)["job"]["actor"] == stored


def test_the_changes_of_a_crawl_name_who_requested_it(scenario, catalog_ctx):
    with catalog_ctx.db.engine.connect() as connection:
        rows = connection.execute(text("select entity_urn, actor from change_log where job_id = :id"),
                                  {"id": scenario["job"]["id"]}).all()
    assert USERS in {urn for urn, _ in rows}
    assert {actor for _, actor in rows} == {OPERATOR.actor}
    history = auditor(scenario).get(f"/api/v1/tables/{USERS}/changes").json()["items"]
    assert history and {change["actor"] for change in history} == {OPERATOR.actor}
    changes = data(auditor(scenario), "query($urn: String!) { table(urn: $urn) { changes { edges { node { actor } } } "
                                      "} }", urn=USERS)["table"]["changes"]["edges"]
    assert changes and {edge["node"]["actor"] for edge in changes} == {OPERATOR.actor}


def test_every_event_names_who_caused_it(scenario, catalog_ctx):
    with catalog_ctx.db.engine.connect() as connection:
        stored = connection.execute(text("select event from event_outbox order by id")).scalars()
        events = [json.loads(event) for event in stored]
    actors: dict[str, set[str]] = {}
    for event in events:
        validate(event)  # the published JSON Schema accepts the actor
        actors.setdefault(event["type"], set()).add(event["actor"])
    assert actors == {
        "catalog.source.registered": {CURATOR.actor},
        "catalog.description.changed": {CURATOR.actor},
        "catalog.table.created": {OPERATOR.actor},
        "catalog.view.created": {OPERATOR.actor},
        "catalog.lineage.changed": {OPERATOR.actor},
        "catalog.job.succeeded": {OPERATOR.actor},
        "catalog.tags.changed": {CURATOR.actor},
    }
    described = next(e for e in events if e["type"] == "catalog.description.changed")
    assert described["data"]["changed_by"] == CURATOR.name


def test_the_audit_lists_each_state_changing_request_newest_first(scenario, catalog_ctx):
    page = auditor(scenario).get("/api/v1/audit").json()
    stored = stored_audit(catalog_ctx)
    assert [as_tuple(entry) for entry in stored] == expected_entries(scenario["source_id"])
    assert [as_tuple(entry) for entry in page["items"]] == [as_tuple(entry) for entry in stored]
    assert [entry["id"] for entry in page["items"]] == [entry["id"] for entry in stored]
    moments = [datetime.fromisoformat(entry["at"]) for entry in page["items"]]
    assert moments == sorted(moments, reverse=True)
    assert page["next_after"] is None
    crawl = next(entry for entry in page["items"] if entry["action"].endswith("/crawl"))
    assert (crawl["request_id"], crawl["client"]) == ("req-crawl-1", "testclient")


def test_graphql_answers_the_same_audit(scenario, catalog_ctx):
    found = data(auditor(scenario), AUDIT, limit=100)["audit"]
    stored = stored_audit(catalog_ctx)
    assert found["nextAfter"] is None
    assert [(e["id"], e["actor"], e["actorName"], e["authMethod"], e["subject"], e["action"], e["target"],
             e["outcome"], e["requestId"], e["client"]) for e in found["items"]] == [
        (e["id"], *as_tuple(e), e["request_id"], e["client"]) for e in stored]


def test_the_audit_filters_by_actor_action_outcome_target_and_time(scenario, catalog_ctx):
    client, expected = auditor(scenario), expected_entries(scenario["source_id"])

    def found(**filters) -> list[tuple]:
        response = client.get("/api/v1/audit", params=filters)
        assert response.status_code == 200, response.text
        return [as_tuple(entry) for entry in response.json()["items"]]

    assert found(actor=OPERATOR.actor) == [e for e in expected if e[0] == OPERATOR.actor]
    assert found(action="mutation") == [e for e in expected if e[4].startswith("mutation")]
    assert found(action="PUT /api/v1/entities/") == [e for e in expected if e[4].startswith("PUT")]
    assert found(outcome="404") == [e for e in expected if e[6] == "404"]
    assert found(target=USERS) == [e for e in expected if e[5] == USERS]
    assert found(action="%") == []  # a prefix, not a LIKE pattern
    stored_at = next(e["at"] for e in stored_audit(catalog_ctx) if e["action"].endswith("/crawl"))
    crawled_at = datetime.fromisoformat(str(stored_at))  # SQLite hands the column back as text, in UTC
    assert found(since=crawled_at.isoformat()) == expected[:5]
    assert found(until=crawled_at.isoformat()) == expected[5:]
    by_graphql = data(client, AUDIT, actor=CURATOR.actor, outcome="ok", limit=10)["audit"]["items"]
    assert [(e["action"], e["target"]) for e in by_graphql] == [("mutation setTags", USERS)]


def test_the_audit_pages_through_older_entries(scenario, catalog_ctx):
    client, pages, after = auditor(scenario), [], None
    while True:
        page = client.get("/api/v1/audit", params={"limit": 3, **({"after": after} if after else {})}).json()
        pages.append([entry["id"] for entry in page["items"]])
        after = page["next_after"]
        if after is None:
            break
        assert after == page["items"][-1]["id"]
    assert pages == [[e["id"] for e in stored_audit(catalog_ctx)][i:i + 3] for i in (0, 3, 6)]
    graphql_page = data(client, AUDIT, after=pages[0][-1], limit=3)["audit"]
    assert ([e["id"] for e in graphql_page["items"]], graphql_page["nextAfter"]) == (pages[1], pages[1][-1])
    assert client.get("/api/v1/audit", params={"limit": 1001}).status_code == 422
    assert error(client, AUDIT, limit=1001)["extensions"]["code"] == "invalid_input"


def test_no_secret_reaches_the_audit(scenario, catalog_ctx):
    stored = stored_audit(catalog_ctx)
    assert stored
    for entry in stored:
        assert not any(PASSWORD in str(value) for value in entry.values()), entry
