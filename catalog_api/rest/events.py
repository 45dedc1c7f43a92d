"""REST routes for change events: the outbox (dead letters and replay), webhook subscriptions and their delivery
logs, and the live server-sent-events stream at /api/v1/events/stream."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Query, Request, Response, status
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from catalog_api.db.models import (
    OutboxEvent,
    WebhookDeliveryRow,
    WebhookSubscriptionRow,
)
from catalog_api.errors import InvalidInput
from catalog_api.services.context import ServiceContext
from catalog_api.services.events import outbox, webhooks
from events import InvalidFilter

router = APIRouter(prefix="/api/v1")
KEEPALIVE_S = 15.0


def context(request: Request) -> ServiceContext:
    return request.app.state.ctx


# -- bodies -----------------------------------------------------------------------------------------------------

class OutboxEventOut(BaseModel):
    """One outbox row: the event and where its publication stands."""

    id: int
    event_id: str
    type: str
    subject: str
    source_urn: str
    status: str
    attempts: int
    last_error: str | None
    delivered_to: list[str]
    next_attempt_at: datetime | None
    created_at: datetime
    sent_at: datetime | None
    event: dict[str, Any]

    @classmethod
    def of(cls, row: OutboxEvent) -> OutboxEventOut:
        return cls(id=row.id, event_id=row.event_id, type=row.type, subject=row.subject, source_urn=row.source_urn,
                   status=row.status, attempts=row.attempts, last_error=row.last_error,
                   delivered_to=list(row.delivered_to or []), next_attempt_at=row.next_attempt_at,
                   created_at=row.created_at, sent_at=row.sent_at, event=json.loads(row.event))


class ReplayIn(BaseModel):
    """Dead outbox events to publish again (by outbox id); omit `ids` to replay every dead event."""

    model_config = ConfigDict(extra="forbid")
    ids: list[int] | None = Field(default=None, max_length=10_000)


class ReplayOut(BaseModel):
    """How many dead events went back to pending, and their outbox ids."""

    replayed: int
    ids: list[int]


class WebhookIn(BaseModel):
    """A new webhook subscription. Omit `secret` to get a generated one (returned once, in the answer)."""

    model_config = ConfigDict(extra="forbid")
    url: str = Field(examples=["https://hooks.example.com/catalog"])
    event_types: list[str] = Field(default_factory=list, examples=[["catalog.column.added"]])
    urn_prefix: str = Field(default="", examples=["urn:catalog:source:erp"])
    description: str | None = Field(default=None, max_length=10_000)
    secret: str | None = Field(default=None, description="At least 16 characters; generated when omitted.")
    active: bool = True


class WebhookUpdateIn(BaseModel):
    """A partial update of a subscription; omitted fields keep their value."""

    model_config = ConfigDict(extra="forbid")
    url: str | None = None
    event_types: list[str] | None = None
    urn_prefix: str | None = None
    description: str | None = Field(default=None, max_length=10_000)
    active: bool | None = None


class SecretIn(BaseModel):
    """A new signing secret; omit it to get a generated one."""

    model_config = ConfigDict(extra="forbid")
    secret: str | None = None


class WebhookOut(BaseModel):
    """A webhook subscription. The secret is never shown here (only once, when created or rotated)."""

    id: str
    url: str
    event_types: list[str]
    urn_prefix: str
    description: str | None
    active: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: WebhookSubscriptionRow) -> WebhookOut:
        return cls(id=row.id, url=row.url, event_types=list(row.event_types), urn_prefix=row.urn_prefix,
                   description=row.description, active=row.active, created_at=row.created_at,
                   updated_at=row.updated_at)


class WebhookWithSecretOut(WebhookOut):
    """A subscription just created or re-keyed, with its signing secret: store it now, it is not shown again."""

    secret: str


class DeliveryOut(BaseModel):
    """One delivery of one event to the subscription (the last attempt's status and error)."""

    id: int
    event_id: str
    event_type: str
    delivered: bool
    attempts: int
    status_code: int | None
    error: str | None
    response_excerpt: str | None
    duration_ms: float
    started_at: datetime

    @classmethod
    def of(cls, row: WebhookDeliveryRow) -> DeliveryOut:
        return cls(id=row.id, event_id=row.event_id, event_type=row.event_type, delivered=row.delivered,
                   attempts=row.attempts, status_code=row.status_code, error=row.error,
                   response_excerpt=row.response_excerpt, duration_ms=row.duration_ms, started_at=row.started_at)


# -- outbox -----------------------------------------------------------------------------------------------------

@router.get("/events/outbox", response_model=list[OutboxEventOut], tags=["events"])
def list_outbox(status: str | None = None, source_urn: str | None = None, after_id: int | None = None,
                limit: int = Query(100, ge=1, le=1000), ctx: ServiceContext = Depends(context)) -> list[OutboxEventOut]:
    """Outbox events, oldest first; `status=dead` lists the dead letters (events that kept failing)."""
    with ctx.db.session() as session:
        rows = outbox.list_outbox(session, status=status, source_urn=source_urn, limit=limit, after_id=after_id)
        return [OutboxEventOut.of(r) for r in rows]


@router.post("/events/outbox/replay", response_model=ReplayOut, tags=["events"])
def replay_outbox(body: ReplayIn | None = None, ctx: ServiceContext = Depends(context)) -> ReplayOut:
    """Puts dead events back to pending (same event id, fresh attempt count); the relay publishes them again."""
    with ctx.db.session() as session:
        rows = outbox.replay(session, body.ids if body else None)
        return ReplayOut(replayed=len(rows), ids=[r.id for r in rows])


# -- webhooks ---------------------------------------------------------------------------------------------------

@router.get("/webhooks", response_model=list[WebhookOut], tags=["webhooks"])
def list_webhooks(ctx: ServiceContext = Depends(context)) -> list[WebhookOut]:
    return [WebhookOut.of(r) for r in webhooks.list_subscriptions(ctx)]


@router.post("/webhooks", response_model=WebhookWithSecretOut, status_code=status.HTTP_201_CREATED,
             tags=["webhooks"])
def create_webhook(body: WebhookIn, ctx: ServiceContext = Depends(context)) -> WebhookWithSecretOut:
    """Subscribes a URL to events (filtered by type and URN prefix); answers with the signing secret, once."""
    created = webhooks.create_subscription(ctx, body.url, event_types=body.event_types, urn_prefix=body.urn_prefix,
                                           description=body.description, secret=body.secret, active=body.active)
    return WebhookWithSecretOut(**WebhookOut.of(created.subscription).model_dump(), secret=created.secret)


@router.get("/webhooks/{subscription_id}", response_model=WebhookOut, tags=["webhooks"])
def get_webhook(subscription_id: str, ctx: ServiceContext = Depends(context)) -> WebhookOut:
    return WebhookOut.of(webhooks.get_subscription(ctx, subscription_id))


@router.patch("/webhooks/{subscription_id}", response_model=WebhookOut, tags=["webhooks"])
def update_webhook(subscription_id: str, body: WebhookUpdateIn, ctx: ServiceContext = Depends(context)) -> WebhookOut:
    fields = body.model_dump(exclude_unset=True)
    return WebhookOut.of(webhooks.update_subscription(ctx, subscription_id, **fields))


@router.post("/webhooks/{subscription_id}/secret", response_model=WebhookWithSecretOut, tags=["webhooks"])
def rotate_webhook_secret(subscription_id: str, body: SecretIn | None = None,
                          ctx: ServiceContext = Depends(context)) -> WebhookWithSecretOut:
    """Replaces the signing secret; answers with the new one, once."""
    rotated = webhooks.rotate_secret(ctx, subscription_id, body.secret if body else None)
    return WebhookWithSecretOut(**WebhookOut.of(rotated.subscription).model_dump(), secret=rotated.secret)


@router.delete("/webhooks/{subscription_id}", status_code=status.HTTP_204_NO_CONTENT, tags=["webhooks"])
def delete_webhook(subscription_id: str, ctx: ServiceContext = Depends(context)) -> Response:
    webhooks.delete_subscription(ctx, subscription_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/webhooks/{subscription_id}/deliveries", response_model=list[DeliveryOut], tags=["webhooks"])
def webhook_deliveries(subscription_id: str, limit: int = Query(100, ge=1, le=1000), event_id: str | None = None,
                       failed_only: bool = False, ctx: ServiceContext = Depends(context)) -> list[DeliveryOut]:
    """The subscription's delivery log, newest first: one entry per event per relay round."""
    rows = webhooks.list_deliveries(ctx, subscription_id, limit=limit, event_id=event_id, failed_only=failed_only)
    return [DeliveryOut.of(r) for r in rows]


# -- live stream ------------------------------------------------------------------------------------------------

@router.get("/events/stream", tags=["events"], response_class=StreamingResponse,
            responses={200: {"content": {"text/event-stream": {}}}})
async def event_stream(request: Request, types: list[str] | None = Query(None),
                       urn_prefix: str | None = None) -> StreamingResponse:
    """Server-sent events: each published event as `id: <event id>`, `event: <type>`, `data: <CloudEvents JSON>`.

    A live feed (nothing is kept for disconnected clients); filter with `types` (repeatable) and `urn_prefix`.
    """
    ctx: ServiceContext = request.app.state.ctx
    try:
        subscription = ctx.bus.subscribe(event_types=types, urn_prefix=urn_prefix)
    except InvalidFilter as error:
        raise InvalidInput("types" if error.field == "event_types" else error.field, error.reason) from None

    async def frames() -> AsyncIterator[str]:
        try:
            yield ": connected\n\n"  # flushes the headers so the client knows it is subscribed
            iterator = subscription.__aiter__()
            while True:
                try:
                    event = await asyncio.wait_for(iterator.__anext__(), KEEPALIVE_S)
                except TimeoutError:
                    yield ": keepalive\n\n"
                    continue
                except StopAsyncIteration:
                    return
                yield f"id: {event.id}\nevent: {event.type.value}\ndata: {event.to_json()}\n\n"
        finally:
            subscription.close()

    return StreamingResponse(frames(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
