"""Change events are written to the outbox in the change's transaction: every event type comes from real crawls,
profiles and API calls and matches its JSON Schema; a change that rolls back leaves no event.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from catalog_api.db.models import ChangeLogEntry
from catalog_api.errors import InvalidInput
from catalog_api.services import curation, jobs, profiling, quality, sources
from catalog_api.services.context import ServiceContext
from catalog_api.services.events.publishers import NamedPublisher
from catalog_api.services.events.relay import Relay
from events import CatalogEvent, EventType
from events.schemas import validate
from tests.support.events import Collector, outbox
from tests.support.jobs import crawled
from tests.support.postgres import pg_execute
from tests.support.sources import register_sqlite


def _crawl(ctx: ServiceContext, source_id: int, expect: str = "succeeded") -> str:
    return crawled(ctx, source_id, expect).id


SHOP = """
create schema app;
create table app.orders (id int primary key, total numeric(12,2), note text, status text);
create table app.gone (x int);
create view app.open_orders as select id, total from app.orders where status = 'open';
"""

PRODUCED = set(EventType)


def _profile(ctx: ServiceContext, source_id: int) -> str:
    job = jobs.wait_for_job(ctx, profiling.request_profile(ctx, source_id).id, timeout=300)
    assert job.status == "succeeded", (job.error_code, job.error_message)
    return job.id


@pytest.mark.postgres
def test_every_change_type_comes_from_real_crawls_and_api_calls_and_matches_its_schema(ctx, client,
                                                                                       make_pg_database, spark):
    config = make_pg_database(SHOP)
    created = client.post("/api/v1/sources", json={"name": "shop", "kind": "postgres", "config": config})
    assert created.status_code == 201, created.text
    source_id = created.json()["id"]
    _crawl(ctx, source_id)
    pg_execute(config, """
        drop view app.open_orders;
        alter table app.orders add column extra int;
        alter table app.orders alter column total type bigint;
        alter table app.orders alter column status set not null;
        alter table app.orders drop column note;
        drop table app.gone;
    """)
    second_crawl = _crawl(ctx, source_id)
    with ctx.db.session() as session:  # the change log, an independent record of the same crawl
        logged = session.scalar(select(func.count()).select_from(ChangeLogEntry).where(
            ChangeLogEntry.job_id == second_crawl,
            ChangeLogEntry.change_type.in_(["column_added", "column_removed", "column_type_changed",
                                            "column_nullability_changed", "table_deleted"])))
    assert client.patch(f"/api/v1/sources/{source_id}", json={"description": "The shop"}).status_code == 200
    urn = "urn:catalog:dataset:shop:app:orders"
    assert client.put(f"/api/v1/entities/{urn}/description", json={"description": "Orders"}).status_code == 200
    assert client.put(f"/api/v1/entities/{urn}/tags", json={"tags": ["pii", "sales"]}).status_code == 200
    owners = {"owners": [{"principal": "sales-data", "kind": "group"}]}
    assert client.put(f"/api/v1/entities/{urn}/owners", json=owners).status_code == 200
    term = client.post("/api/v1/glossary/terms", json={"name": "Order"})
    assert term.status_code == 201
    assert client.post(f"/api/v1/entities/{urn}/terms", json={"term": "Order"}).status_code == 200
    domain = client.post("/api/v1/domains", json={"name": "Sales"})
    assert domain.status_code == 201
    assert client.put(f"/api/v1/entities/{urn}/domain", json={"domain": "Sales"}).status_code == 200
    for path, body in ((f"/api/v1/glossary/terms/{term.json()['id']}", {"name": "Order", "definition": "One sale"}),
                       (f"/api/v1/domains/{domain.json()['id']}", {"name": "Sales", "description": "Selling"})):
        assert client.put(path, json=body).status_code == 200
        assert client.delete(path).status_code == 204
    rule = client.post("/api/v1/quality/rules", json={"table": urn, "name": "ids", "kind": "not_null", "column": "id"})
    assert rule.status_code == 201, rule.text
    for run, outcome in (("run-1", "failed"), ("run-2", "passed")):  # what the rule evaluator will record
        quality.record_results(ctx, urn, run, [quality.RuleOutcome(rule.json()["id"], outcome)])
    pg_execute(config, "insert into app.orders (id, total, status) select g, g, 'open' from generate_series(1, 200) g")
    first_profile = _profile(ctx, source_id)
    pg_execute(config, "delete from app.orders where id > 20")
    second_profile = _profile(ctx, source_id)
    limits = ctx.settings.job_concurrency
    ctx.settings.job_concurrency = {**limits, "crawl": 0}  # the crawl stays queued until it is cancelled
    held = client.post(f"/api/v1/sources/{source_id}/crawl")
    assert held.status_code == 202, held.text
    assert client.post(f"/api/v1/jobs/{held.json()['id']}/cancel").json()["status"] == "cancelled"
    ctx.settings.job_concurrency = limits
    broken = client.patch(f"/api/v1/sources/{source_id}", json={
        "config": {**config, "database": "cat_test_missing_db"}, "test_connection": False})
    assert broken.status_code == 200, broken.text
    _crawl(ctx, source_id, expect="failed")
    assert client.delete(f"/api/v1/sources/{source_id}").status_code == 204

    collector = Collector()
    relay = Relay(ctx, [NamedPublisher("collector", collector)])
    assert relay.run_once().sent == len(outbox(ctx))
    for event in collector.events:
        validate(event.to_dict())  # the JSON Schema in docs/events/ of its type
    assert {e.type for e in collector.events} == PRODUCED

    by_type: dict[str, list[CatalogEvent]] = {}
    for event in collector.events:
        by_type.setdefault(event.type.value, []).append(event)
    subjects = {t: {e.subject for e in found} for t, found in by_type.items()}
    assert subjects["catalog.table.created"] == {urn, "urn:catalog:dataset:shop:app:gone"}
    assert subjects["catalog.view.created"] == {"urn:catalog:dataset:shop:app:open_orders"}
    assert subjects["catalog.column.added"] == {"urn:catalog:column:shop:app:orders:extra"}
    assert subjects["catalog.column.removed"] == {"urn:catalog:column:shop:app:orders:note"}
    assert subjects["catalog.table.deleted"] == {"urn:catalog:dataset:shop:app:gone"}
    assert subjects["catalog.view.deleted"] == {"urn:catalog:dataset:shop:app:open_orders"}
    (type_change,) = by_type["catalog.column.type_changed"]
    assert (type_change.data["before"], type_change.data["after"]) == ("numeric(12,2)", "bigint")
    (nullability,) = by_type["catalog.column.nullability_changed"]
    assert nullability.subject.endswith(":status") and nullability.data == {
        **nullability.data, "before": True, "after": False}
    assert by_type["catalog.source.updated"][0].data["changed_fields"] == ["description"]
    assert by_type["catalog.source.updated"][1].data["changed_fields"] == ["config"]
    assert by_type["catalog.tags.changed"][0].data["added"] == ["pii", "sales"]
    assert [o["principal"] for o in by_type["catalog.owners.changed"][0].data["added"]] == ["sales-data"]
    assert (by_type["catalog.terms.changed"][0].data["added"], by_type["catalog.domain.changed"][0].data["after"]) == (
        ["Order"], "Sales")
    assert [e.data["kind"] for e in by_type["catalog.job.succeeded"]] == ["crawl", "crawl", "profile", "profile"]
    assert [(e.subject, e.data["job_id"], e.data["row_count"]) for e in by_type["catalog.profile.completed"]] == [
        (urn, first_profile, 200), (urn, second_profile, 20)]
    volume = [e for e in by_type["catalog.anomaly.detected"] if e.data["metric"] == "volume"]
    assert [(e.subject, e.data["job_id"], e.data["observed"]) for e in volume] == [(urn, second_profile, 20)]
    assert by_type["catalog.job.failed"][0].data["error_code"]
    # Every change event names the crawl job that found it, one per change-log row of that crawl.
    assert by_type["catalog.job.succeeded"][1].data["job_id"] == second_crawl
    assert [e.data["job_id"] for e in by_type["catalog.job.cancelled"]] == [held.json()["id"]]
    column_events = [e for e in collector.events if e.data.get("job_id") == second_crawl
                     and e.type.value.startswith(("catalog.column.", "catalog.table.deleted", "catalog.view.deleted"))]
    assert len(column_events) == logged == 6
    # One source, one partition key: every event of the source shares it, in the order the changes happened; the
    # term and the domain, which belong to no source, are keyed by their own URNs.
    term_urn, domain_urn = f"urn:catalog:glossary_term:{term.json()['id']}", f"urn:catalog:domain:{domain.json()['id']}"
    assert {e.partitionkey for e in collector.events} == {"urn:catalog:source:shop", term_urn, domain_urn}
    assert [(e.type.value, e.partitionkey) for e in collector.events if e.subject in (term_urn, domain_urn)] == [
        ("catalog.glossary_term.created", term_urn), ("catalog.domain.created", domain_urn),
        ("catalog.glossary_term.updated", term_urn), ("catalog.glossary_term.deleted", term_urn),
        ("catalog.domain.updated", domain_urn), ("catalog.domain.deleted", domain_urn)]
    assert all(e.partitionkey == "urn:catalog:source:shop" for e in collector.events
               if e.subject not in (term_urn, domain_urn))
    assert collector.events[0].type == EventType.SOURCE_REGISTERED
    assert collector.events[-1].type == EventType.SOURCE_DELETED


def test_a_change_that_rolls_back_leaves_no_event(ctx, tmp_path):
    source_id = register_sqlite(ctx, tmp_path)
    before = len(outbox(ctx))
    with pytest.raises(InvalidInput):
        curation.set_tags(ctx, "urn:catalog:source:shop", ["NOT A TAG!"])
    with pytest.raises(RuntimeError), ctx.db.session() as session:
        curation_source = sources.source_row(session, source_id)
        from catalog_api.services.events.outbox import record_event
        from events.data import DescriptionChanged

        record_event(session, DescriptionChanged(entity_kind="source", before=None, after="x"), curation_source.urn)
        raise RuntimeError("the change fails after its event was written")
    assert len(outbox(ctx)) == before
    curation.set_description(ctx, "urn:catalog:source:shop", "same")
    curation.set_description(ctx, "urn:catalog:source:shop", "same")  # no change, no event
    assert [r.type for r in outbox(ctx)[before:]] == ["catalog.description.changed"]
