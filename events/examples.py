"""One realistic, valid example event per type: the ones shown in docs/events.md.

Useful beyond the docs: a webhook "send a test event" button, or a consumer's contract tests.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from events.curation_data import DomainFields, GlossaryTermFields, TermRef
from events.data import (
    AnomalyDetected,
    ColumnAdded,
    ColumnNullabilityChanged,
    ColumnRemoved,
    ColumnTypeChanged,
    DescriptionChanged,
    DomainChanged,
    DomainCreated,
    DomainDeleted,
    DomainUpdated,
    EventPayload,
    GlossaryTermCreated,
    GlossaryTermDeleted,
    GlossaryTermUpdated,
    JobCancelled,
    JobFailed,
    JobProgress,
    JobStarted,
    JobSucceeded,
    LineageChanged,
    LineageEdge,
    Owner,
    OwnersChanged,
    ProfileCompleted,
    QualityFailed,
    QualityRecovered,
    QualityRuleChanged,
    SourceDeleted,
    SourceRegistered,
    SourceUpdated,
    TableCreated,
    TableDeleted,
    TagsChanged,
    TermsChanged,
    ViewCreated,
    ViewDeleted,
)
from events.model import CatalogEvent
from events.types import EventType

_T0 = datetime(2026, 11, 5, 9, 30, tzinfo=UTC)
_JOB = "3f0c9a52-8d1e-4a8b-9c4e-2b7f5d6a1e90"
_SOURCE = "urn:catalog:source:erp"
_ORDERS = "urn:catalog:dataset:erp:sales:orders"
_TERM = "urn:catalog:glossary_term:12"
_DOMAIN = "urn:catalog:domain:3"
_CUSTOMER = TermRef(id=4, name="Customer")
_EMAIL = "The address the customer gave for order confirmations."


def _examples() -> list[tuple[EventPayload, str]]:
    return [
        (SourceRegistered(name="erp", kind="postgres", description="Production ERP (read replica)"), _SOURCE),
        (SourceUpdated(name="erp", kind="postgres", changed_fields=["config", "schedule"]), _SOURCE),
        (SourceDeleted(name="erp", kind="postgres"), _SOURCE),
        (TableCreated(source="erp", schema="sales", name="orders", kind="table", column_count=7, job_id=_JOB), _ORDERS),
        (TableDeleted(source="erp", schema="sales", name="orders_2019", kind="table", job_id=_JOB),
         "urn:catalog:dataset:erp:sales:orders_2019"),
        (ViewCreated(source="erp", schema="sales", name="open_orders", kind="view", column_count=4,
                     definition="SELECT id, customer_id, total, placed_at FROM sales.orders WHERE shipped_at IS NULL",
                     job_id=_JOB), "urn:catalog:dataset:erp:sales:open_orders"),
        (ViewDeleted(source="erp", schema="sales", name="orders_legacy", kind="view", job_id=_JOB),
         "urn:catalog:dataset:erp:sales:orders_legacy"),
        (ColumnAdded(dataset=_ORDERS, name="total", ordinal=5, data_type="numeric(12,2)", nullable=False,
                     default="0", comment="Order total incl. VAT", job_id=_JOB),
         "urn:catalog:column:erp:sales:orders:total"),
        (ColumnRemoved(dataset=_ORDERS, name="fax", data_type="character varying(40)", job_id=_JOB),
         "urn:catalog:column:erp:sales:orders:fax"),
        (ColumnTypeChanged(dataset=_ORDERS, name="customer_id", before="integer", after="bigint", job_id=_JOB),
         "urn:catalog:column:erp:sales:orders:customer_id"),
        (ColumnNullabilityChanged(dataset=_ORDERS, name="placed_at", before=True, after=False, job_id=_JOB),
         "urn:catalog:column:erp:sales:orders:placed_at"),
        (DescriptionChanged(entity_kind="dataset", before=None, after="One row per customer order.",
                            changed_by="ana@example.com"), _ORDERS),
        (TagsChanged.between("column", ["pii"], ["pii", "pii.email"], changed_by="ana@example.com"),
         "urn:catalog:column:erp:sales:customers:email"),
        (JobSucceeded(job_id=_JOB, kind="crawl", trigger="schedule", attempts=1, started_at=_T0 - timedelta(seconds=42),
                      finished_at=_T0, duration_s=42.0,
                      result={"tables": 312, "changes": 4, "skipped_unchanged": 305}), _SOURCE),
        (JobFailed(job_id=_JOB, kind="crawl", trigger="manual", attempts=3, started_at=_T0 - timedelta(seconds=30),
                   finished_at=_T0, duration_s=30.0, error_code="source_unreachable",
                   error_message="connection to db.internal:5432 timed out after 30 s"), _SOURCE),
        (ProfileCompleted(job_id=_JOB, row_count=1_250_000, column_count=7, sampled=False, profiled_at=_T0,
                          anomaly_count=1), _ORDERS),
        (AnomalyDetected(dataset=_ORDERS, column="total", metric="null_rate", observed=0.18, expected_min=0.0,
                         expected_max=0.1, severity="warning",
                         message="null rate of total changed from 0 to 0.18 (by 0.18 > 0.1)", job_id=_JOB),
         "urn:catalog:column:erp:sales:orders:total"),
        (LineageChanged(origin="view_sql",
                        added=[LineageEdge(upstream=_ORDERS, downstream="urn:catalog:dataset:erp:sales:open_orders")],
                        removed=[], job_id=_JOB), "urn:catalog:dataset:erp:sales:open_orders"),
        (QualityRuleChanged(rule="total_in_range", change="updated", kind="range", column="total", severity="error",
                            version=2, before={"name": "total_in_range", "kind": "range", "column": "total",
                                               "params": {"min": 0}, "severity": "warning"},
                            after={"name": "total_in_range", "kind": "range", "column": "total",
                                   "params": {"min": 0, "max": 100000}, "severity": "error",
                                   "owner": "sales-data@example.com"},
                            changed_by="ana@example.com"), _ORDERS),
        (QualityFailed(rule="id_not_null", kind="not_null", column="id", severity="error", run_id=_JOB, observed=3.0,
                       failing_rows=3, message="3 of 1250000 rows have no id"), _ORDERS),
        (QualityRecovered(rule="id_not_null", kind="not_null", column="id", severity="error", run_id=_JOB,
                          failed_since=_T0 - timedelta(days=1)), _ORDERS),
        (OwnersChanged.between("dataset", [], [Owner(principal="sales-data", kind="group", type="technical"),
                                                Owner(principal="ana@example.com", kind="user", type="business")],
                               changed_by="ana@example.com"), _ORDERS),
        (TermsChanged.between("column", [], ["Customer e-mail"], changed_by="ana@example.com"),
         "urn:catalog:column:erp:sales:customers:email"),
        (DomainChanged(entity_kind="dataset", before=None, after="Sales", changed_by="ana@example.com"), _ORDERS),
        (JobStarted(job_id=_JOB, kind="crawl", trigger="schedule", attempt=1, worker="worker-2:4172:job-3",
                    started_at=_T0), _SOURCE),
        (JobProgress(job_id=_JOB, kind="crawl", done=120, total=312, message="applying to the catalog",
                     status="running"), _SOURCE),
        (GlossaryTermCreated(id=12, name="Customer e-mail", definition=_EMAIL, parent=_CUSTOMER,
                             changed_by="ana@example.com"), _TERM),
        (GlossaryTermUpdated.between(12, GlossaryTermFields(name="Customer e-mail", definition=_EMAIL, parent=None),
                                     GlossaryTermFields(name="Customer email", definition=_EMAIL, parent=_CUSTOMER),
                                     changed_by="ana@example.com"), _TERM),
        (GlossaryTermDeleted(id=12, name="Customer email", definition=_EMAIL, parent=_CUSTOMER,
                             changed_by="ana@example.com"), _TERM),
        (DomainCreated(id=3, name="Sales", description="Orders, customers and invoices.",
                       changed_by="ana@example.com"), _DOMAIN),
        (DomainUpdated.between(3, DomainFields(name="Sales", description="Orders, customers and invoices."),
                               DomainFields(name="Sales & Marketing", description="Orders, customers and invoices."),
                               changed_by="ana@example.com"), _DOMAIN),
        (DomainDeleted(id=3, name="Sales & Marketing", description="Orders, customers and invoices.",
                       changed_by="ana@example.com"), _DOMAIN),
        (JobCancelled(job_id=_JOB, kind="profile", trigger="manual", attempts=1, started_at=_T0 - timedelta(seconds=12),
                      finished_at=_T0, duration_s=12.0, cancelled_by="api_key:4", status_at_cancel="running",
                      done_at_cancel=3, total_at_cancel=16), _SOURCE),
    ]


def example_events() -> dict[EventType, CatalogEvent]:
    """One valid event per type, with fixed ids and times so the docs stay stable."""
    events: dict[EventType, CatalogEvent] = {}
    for index, (payload, subject) in enumerate(_examples(), start=1):
        event_id = f"00000000-0000-4000-8000-{index:012d}"
        events[payload.event_type] = CatalogEvent.create(payload, subject=subject, time=_T0, id=event_id)
    return events


def example_event(event_type: EventType | str) -> CatalogEvent:
    return example_events()[EventType(event_type)]
