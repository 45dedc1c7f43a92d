"""REST routes for change events: the outbox (dead letters and replay), webhook subscriptions and their delivery
logs, and the live server-sent-events stream at /api/v1/events/stream."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from fastapi import APIRouter, Depends, Query, Request, Response, status
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from catalog_api.errors import InvalidInput
from catalog_api.rest.deps import QUERY_SESSION, context
from catalog_api.rest.models import rest_model
from catalog_api.rest.security import allow
from catalog_api.security.identity import Permission
from catalog_api.services.context import ServiceContext
from catalog_api.services.events import outbox, webhooks
from catalog_api.services.events.views import CreatedSubscription, DeliveryView, OutboxEventView, SubscriptionView
from events import InvalidFilter

router = APIRouter(prefix="/api/v1")
KEEPALIVE_S = 15.0



# -- bodies -----------------------------------------------------------------------------------------------------

OutboxEventOut = rest_model("OutboxEventOut", OutboxEventView,
                            "One outbox row: the event and where its publication stands.")
WebhookOut = rest_model("WebhookOut", SubscriptionView, "A webhook subscription. The secret is never shown here (only "
                                                        "once, when created or rotated).")
WebhookWithSecretOut = rest_model("WebhookWithSecretOut", CreatedSubscription, "A subscription just created or "
                                  "re-keyed, with its signing secret: store it now, it is not shown again.",
                                  base=WebhookOut)
DeliveryOut = rest_model("DeliveryOut", DeliveryView, "One delivery of one event to the subscription: the last "
                                                      "attempt's status, the error, attempts and timing (never the "
                                                      "response body).")


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


# -- outbox -----------------------------------------------------------------------------------------------------

@router.get("/events/outbox", dependencies=[allow(Permission.OPERATE)],
            response_model=list[OutboxEventOut], tags=["events"])
def list_outbox(status: str | None = None, source_urn: str | None = None, after_id: int | None = None,
                limit: int = Query(100, ge=1, le=1000), session: Session = QUERY_SESSION) -> list[OutboxEventOut]:
    """Outbox events, oldest first; `status=dead` lists the dead letters (events that kept failing)."""
    rows = outbox.list_outbox(session, status=status, source_urn=source_urn, limit=limit, after_id=after_id)
    return [OutboxEventOut.of(r) for r in rows]


@router.post("/events/outbox/replay", dependencies=[allow(Permission.ADMIN)], response_model=ReplayOut, tags=["events"])
def replay_outbox(body: ReplayIn | None = None, session: Session = QUERY_SESSION) -> ReplayOut:
    """Puts dead events back to pending (same event id, fresh attempt count); the relay publishes them again."""
    rows = outbox.replay(session, body.ids if body else None)
    return ReplayOut(replayed=len(rows), ids=[r.id for r in rows])


# -- webhooks ---------------------------------------------------------------------------------------------------

@router.get("/webhooks", dependencies=[allow(Permission.OPERATE)], response_model=list[WebhookOut], tags=["webhooks"])
def list_webhooks(session: Session = QUERY_SESSION) -> list[WebhookOut]:
    return [WebhookOut.of(r) for r in webhooks.list_subscriptions(session)]


@router.post("/webhooks", dependencies=[allow(Permission.OPERATE)],
             response_model=WebhookWithSecretOut, status_code=status.HTTP_201_CREATED,
             tags=["webhooks"])
def create_webhook(body: WebhookIn, ctx: ServiceContext = Depends(context)) -> WebhookWithSecretOut:
    """Subscribes a URL to events (filtered by type and URN prefix); answers with the signing secret, once."""
    created = webhooks.create_subscription(ctx, body.url, event_types=body.event_types, urn_prefix=body.urn_prefix,
                                           description=body.description, secret=body.secret, active=body.active)
    return WebhookWithSecretOut.of(created)


@router.get("/webhooks/{subscription_id}", dependencies=[allow(Permission.OPERATE)],
            response_model=WebhookOut, tags=["webhooks"])
def get_webhook(subscription_id: str, session: Session = QUERY_SESSION) -> WebhookOut:
    return WebhookOut.of(webhooks.get_subscription(session, subscription_id))


@router.patch("/webhooks/{subscription_id}", dependencies=[allow(Permission.OPERATE)],
              response_model=WebhookOut, tags=["webhooks"])
def update_webhook(subscription_id: str, body: WebhookUpdateIn, ctx: ServiceContext = Depends(context)) -> WebhookOut:
    fields = body.model_dump(exclude_unset=True)
    return WebhookOut.of(webhooks.update_subscription(ctx, subscription_id, **fields))


@router.post("/webhooks/{subscription_id}/secret", dependencies=[allow(Permission.OPERATE)],
             response_model=WebhookWithSecretOut, tags=["webhooks"])
def rotate_webhook_secret(subscription_id: str, body: SecretIn | None = None,
                          ctx: ServiceContext = Depends(context)) -> WebhookWithSecretOut:
    """Replaces the signing secret; answers with the new one, once."""
    return WebhookWithSecretOut.of(webhooks.rotate_secret(ctx, subscription_id, body.secret if body else None))


@router.delete("/webhooks/{subscription_id}", dependencies=[allow(Permission.OPERATE)],
               status_code=status.HTTP_204_NO_CONTENT, tags=["webhooks"])
def delete_webhook(subscription_id: str, ctx: ServiceContext = Depends(context)) -> Response:
    webhooks.delete_subscription(ctx, subscription_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/webhooks/{subscription_id}/deliveries", dependencies=[allow(Permission.OPERATE)],
            response_model=list[DeliveryOut], tags=["webhooks"])
def webhook_deliveries(subscription_id: str, limit: int = Query(100, ge=1, le=1000), event_id: str | None = None,
                       failed_only: bool = False, session: Session = QUERY_SESSION) -> list[DeliveryOut]:
    """The subscription's delivery log, newest first: one entry per event per relay round."""
    rows = webhooks.list_deliveries(session, subscription_id, limit=limit, event_id=event_id, failed_only=failed_only)
    return [DeliveryOut.of(r) for r in rows]


# -- live stream ------------------------------------------------------------------------------------------------

@router.get("/events/stream", dependencies=[allow(Permission.READ)], tags=["events"], response_class=StreamingResponse,
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
