"""Who did what: jobs, change records and events name their actor, and the audit log (REST and GraphQL) lists every
state-changing request with its caller, action, target and outcome.

The catalog requires authentication and every caller sends real credentials: an admin (an API key) registers a
source, a curator (an API key) curates it, an operator (an Entra ID user with a token of the tenant) crawls it, then
each makes a mistake; an auditor (an admin API key) reads the audit. Each test checks what they did against rows read
straight from the catalog database.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from catalog_api.app import create_app
from events.schemas import validate
from tests.support.api import register
from tests.support.auth import key_holder, requiring_auth
from tests.support.entra import USER_OID, entra_tenant
from tests.support.graphql import data, error
from tests.support.jobs import rest_job
from tests.support.sources import PG_SHOP

pytestmark = pytest.mark.postgres

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


@dataclass(frozen=True)
class Caller:
    """Someone holding a credential (an API key or an Entra ID access token), and how the audit names them."""

    actor: str
    name: str
    method: str
    subject: str
    credential: str

    @property
    def who(self) -> tuple[str, str, str, str]:
        return self.actor, self.name, self.method, self.subject

    def client(self, app) -> TestClient:
        return TestClient(app, headers={"Authorization": f"Bearer {self.credential}"})


def key_caller(ctx, name: str, roles: list[str]) -> Caller:
    holder = key_holder(ctx, name, roles)
    return Caller(holder.actor, holder.name, "api_key", holder.key_id, holder.secret)


@dataclass(frozen=True)
class Scenario:
    app: object
    admin: Caller
    curator: Caller
    operator: Caller
    auditor: Caller
    source_id: int
    job: dict

    def auditor_client(self) -> TestClient:
        return self.auditor.client(self.app)


@pytest.fixture
def tenant():
    with entra_tenant() as tenant:
        yield tenant


@pytest.fixture
def scenario(catalog_ctx, make_pg_database, tenant) -> Scenario:
    """The admin registers `shop`, the curator describes it, the operator crawls it, the curator tags a table; then the
    curator describes a table that does not exist, the operator tries to delete a source (an admin's right) and the
    admin registers a source under an invalid name."""
    app = create_app(ctx=requiring_auth(catalog_ctx, **tenant.settings()))
    admin = key_caller(catalog_ctx, "platform admin", ["admin"])
    curator = key_caller(catalog_ctx, "curation bot", ["curator"])
    auditor = key_caller(catalog_ctx, "audit desk", ["admin"])
    operator = Caller(f"entra:{USER_OID}", "olga@example.com", "entra", USER_OID,
                      tenant.token(roles=["Catalog.Operator"], preferred_username="olga@example.com"))
    as_admin, as_curator, as_operator = admin.client(app), curator.client(app), operator.client(app)

    source = register(as_admin, make_pg_database(PG_SHOP), name="shop", secrets={"password": PASSWORD})
    assert as_curator.put(f"/api/v1/entities/{SOURCE_URN}/description",
                          json={"description": "the web shop"}).status_code == 200
    queued = as_operator.post(f"/api/v1/sources/{source['id']}/crawl", headers={"X-Request-ID": "req-crawl-1"})
    assert queued.status_code == 202, queued.text
    job = rest_job(as_operator, queued.json())
    assert job["status"] == "succeeded", job
    data(as_curator, SET_TAGS, urn=USERS)
    assert as_curator.put(f"/api/v1/entities/{MISSING}/description", json={"description": "x"}).status_code == 404
    assert error(as_operator, DELETE_SOURCE)["extensions"]["code"] == "forbidden"
    refused = as_admin.post("/api/v1/sources", json={"name": "not a name!", "kind": "postgres", "config": {},
                                                     "secrets": {"password": PASSWORD}})
    assert refused.status_code == 422
    return Scenario(app, admin, curator, operator, auditor, source["id"], job)


def expected_entries(scenario: Scenario) -> list[tuple]:
    """What the scenario did, newest first: (actor, name, method, subject, action, target, outcome)."""
    admin, curator, operator = scenario.admin.who, scenario.curator.who, scenario.operator.who
    return [
        (*admin, "POST /api/v1/sources", None, "422"),
        (*operator, "mutation deleteSource", "999", "forbidden"),
        (*curator, "PUT /api/v1/entities/{urn}/description", MISSING, "404"),
        (*curator, "mutation setTags", USERS, "ok"),
        (*operator, "POST /api/v1/sources/{source_id}/crawl", str(scenario.source_id), "202"),
        (*curator, "PUT /api/v1/entities/{urn}/description", SOURCE_URN, "200"),
        (*admin, "POST /api/v1/sources", None, "201"),
    ]


def stored_audit(ctx) -> list[dict]:
    with ctx.db.engine.connect() as connection:
        return [dict(row._mapping) for row in connection.execute(text("select * from audit_log order by id desc"))]


def as_tuple(entry: dict) -> tuple:
    keys = ("actor", "actor_name", "auth_method", "subject", "action", "target", "outcome")
    return tuple(entry[k] for k in keys)


def test_a_job_records_who_requested_it(scenario, catalog_ctx):
    job_id = scenario.job["id"]
    with catalog_ctx.db.engine.connect() as connection:
        stored = connection.execute(text("select actor from jobs where id = :id"), {"id": job_id}).scalar_one()
    assert stored == scenario.operator.actor == f"entra:{USER_OID}"
    client = scenario.auditor_client()
    assert client.get(f"/api/v1/jobs/{job_id}").json()["actor"] == stored
    assert data(client, "query($id: String!) { job(id: $id) { actor } }", id=job_id)["job"]["actor"] == stored


def test_the_changes_of_a_crawl_name_who_requested_it_and_a_curators_edit_its_curator(scenario, catalog_ctx):
    with catalog_ctx.db.engine.connect() as connection:
        rows = connection.execute(text("select entity_urn, actor from change_log where job_id = :id"),
                                  {"id": scenario.job["id"]}).all()
    assert USERS in {urn for urn, _ in rows}
    assert {actor for _, actor in rows} == {scenario.operator.actor}
    client = scenario.auditor_client()
    history = client.get(f"/api/v1/tables/{USERS}/changes").json()["items"]
    by_actor = {(change["change_type"], change["actor"]) for change in history}
    assert by_actor == {("table_created", scenario.operator.actor), ("tags_changed", scenario.curator.actor)}
    query = "query($urn: String!) { table(urn: $urn) { changes { edges { node { changeType actor } } } } }"
    changes = data(client, query, urn=USERS)["table"]["changes"]["edges"]
    assert {(edge["node"]["changeType"], edge["node"]["actor"]) for edge in changes} == by_actor


def test_every_event_names_who_caused_it(scenario, catalog_ctx):
    with catalog_ctx.db.engine.connect() as connection:
        stored = connection.execute(text("select event from event_outbox order by id")).scalars()
        events = [json.loads(event) for event in stored]
    actors: dict[str, set[str]] = {}
    for event in events:
        validate(event)  # the published JSON Schema accepts the actor
        actors.setdefault(event["type"], set()).add(event["actor"])
    admin, curator, operator = scenario.admin.actor, scenario.curator.actor, scenario.operator.actor
    assert actors == {
        "catalog.source.registered": {admin},
        "catalog.description.changed": {curator},
        "catalog.table.created": {operator},
        "catalog.view.created": {operator},
        "catalog.lineage.changed": {operator},
        "catalog.job.started": {operator},
        "catalog.job.progress": {operator},
        "catalog.job.succeeded": {operator},
        "catalog.tags.changed": {curator},
    }
    described = next(e for e in events if e["type"] == "catalog.description.changed")
    assert described["data"]["changed_by"] == scenario.curator.name == "curation bot"


def test_the_audit_lists_each_state_changing_request_newest_first(scenario, catalog_ctx):
    page = scenario.auditor_client().get("/api/v1/audit").json()
    stored = stored_audit(catalog_ctx)
    assert [as_tuple(entry) for entry in stored] == expected_entries(scenario)
    assert [as_tuple(entry) for entry in page["items"]] == [as_tuple(entry) for entry in stored]
    assert [entry["id"] for entry in page["items"]] == [entry["id"] for entry in stored]
    moments = [datetime.fromisoformat(entry["at"]) for entry in page["items"]]
    assert moments == sorted(moments, reverse=True)
    assert page["next_after"] is None
    crawl = next(entry for entry in page["items"] if entry["action"].endswith("/crawl"))
    assert (crawl["request_id"], crawl["client"]) == ("req-crawl-1", "testclient")


def test_graphql_answers_the_same_audit(scenario, catalog_ctx):
    found = data(scenario.auditor_client(), AUDIT, limit=100)["audit"]
    stored = stored_audit(catalog_ctx)
    assert found["nextAfter"] is None
    assert [(e["id"], e["actor"], e["actorName"], e["authMethod"], e["subject"], e["action"], e["target"],
             e["outcome"], e["requestId"], e["client"]) for e in found["items"]] == [
        (e["id"], *as_tuple(e), e["request_id"], e["client"]) for e in stored]


def test_the_audit_filters_by_actor_action_outcome_target_and_time(scenario, catalog_ctx):
    client, expected = scenario.auditor_client(), expected_entries(scenario)

    def found(**filters) -> list[tuple]:
        response = client.get("/api/v1/audit", params=filters)
        assert response.status_code == 200, response.text
        return [as_tuple(entry) for entry in response.json()["items"]]

    assert found(actor=scenario.operator.actor) == [e for e in expected if e[0] == scenario.operator.actor]
    assert found(action="mutation") == [e for e in expected if e[4].startswith("mutation")]
    assert found(action="PUT /api/v1/entities/") == [e for e in expected if e[4].startswith("PUT")]
    assert found(outcome="404") == [e for e in expected if e[6] == "404"]
    assert found(target=USERS) == [e for e in expected if e[5] == USERS]
    assert found(action="%") == []  # a prefix, not a LIKE pattern
    stored_at = next(e["at"] for e in stored_audit(catalog_ctx) if e["action"].endswith("/crawl"))
    crawled_at = datetime.fromisoformat(str(stored_at))  # SQLite hands the column back as text, in UTC
    assert found(since=crawled_at.isoformat()) == expected[:5]
    assert found(until=crawled_at.isoformat()) == expected[5:]
    by_graphql = data(client, AUDIT, actor=scenario.curator.actor, outcome="ok", limit=10)["audit"]["items"]
    assert [(e["action"], e["target"]) for e in by_graphql] == [("mutation setTags", USERS)]


def test_the_audit_pages_through_older_entries(scenario, catalog_ctx):
    client, pages, after = scenario.auditor_client(), [], None
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
    """Neither the source's password (sent in request bodies) nor any API key or access token (sent in headers)."""
    stored = stored_audit(catalog_ctx)
    assert stored
    callers = (scenario.admin, scenario.curator, scenario.operator, scenario.auditor)
    # A key is cat_<key id>_<secret>: its id is in the audit, its secret must not be; a token's signature neither.
    secrets = [PASSWORD, *(caller.credential.split("_", 2)[2] for caller in callers if caller.method == "api_key"),
               scenario.operator.credential.rsplit(".", 1)[1]]
    for entry in stored:
        assert not any(secret in str(value) for secret in secrets for value in entry.values()), entry
