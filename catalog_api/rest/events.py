"""REST routes for change events: the outbox (dead letters and replay), webhook subscriptions and their delivery
logs, and the live server-sent-events stream at /api/v1/events/stream."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt
from sqlalchemy.orm import Session

from catalog_api.errors import InvalidInput
from catalog_api.rest.contract import MAX_ID, checked_by_service, errors, id_query
from catalog_api.rest.deps import QUERY_SESSION, context
from catalog_api.rest.models import rest_model
from catalog_api.rest.security import allow
from catalog_api.security.identity import Permission
from catalog_api.services.context import ServiceContext
from catalog_api.services.events import outbox, webhooks
from catalog_api.services.events.outbox import OutboxStatus
from catalog_api.services.events.views import CreatedSubscription, DeliveryView, OutboxEventView, SubscriptionView
from catalog_api.services.events.webhooks import MAX_SECRET_LENGTH, MAX_URL_LENGTH
from events import InvalidFilter
from events.types import EventType
from events.urns import PREFIX as URN_PREFIX
from events.webhooks import MIN_SECRET_LENGTH

router = APIRouter(prefix="/api/v1")
KEEPALIVE_S = 15.0

# Documented here, checked by the service, whose reasons say more than a pattern (scheme, credentials, fragment,
# and where the host leads, against the egress policy).
WebhookUrl = Annotated[str, Field(json_schema_extra={"minLength": 1, "maxLength": MAX_URL_LENGTH,
                                                     "pattern": r"^\s*https?://[^\s/?#@]+"},
                                  examples=["https://hooks.example.com/catalog"])]
# Documented here, checked by the service: its reason lists the known types and names the field as a whole.
EventTypeName = Annotated[str, Field(json_schema_extra={"enum": [t.value for t in EventType]})]
UrnPrefix = Annotated[str, Field(max_length=2048, **checked_by_service(f"^({URN_PREFIX}.*)?$"),
                                 description="Only events whose subject URN starts with this.")]
Secret = Annotated[str, Field(min_length=MIN_SECRET_LENGTH, max_length=MAX_SECRET_LENGTH)]
SubscriptionId = Annotated[str, Path(max_length=64, description="The subscription's id.")]
OutboxId = Annotated[StrictInt, Field(ge=1, le=MAX_ID)]



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
    ids: list[OutboxId] | None = Field(default=None, max_length=10_000)


class ReplayOut(BaseModel):
    """How many dead events went back to pending, and their outbox ids."""

    replayed: int
    ids: list[int]


class WebhookIn(BaseModel):
    """A new webhook subscription. Omit `secret` to get a generated one (returned once, in the answer)."""

    model_config = ConfigDict(extra="forbid")
    url: WebhookUrl
    event_types: list[EventTypeName] = Field(default_factory=list, max_length=len(EventType),
                                             examples=[["catalog.column.added"]])
    urn_prefix: UrnPrefix = Field(default="", examples=["urn:catalog:source:erp"])
    description: str | None = Field(default=None, max_length=10_000)
    secret: Secret | None = Field(default=None, description="Generated when omitted.")
    active: StrictBool = True


class WebhookUpdateIn(BaseModel):
    """A partial update of a subscription; omitted fields keep their value."""

    model_config = ConfigDict(extra="forbid")
    url: WebhookUrl | None = None
    event_types: list[EventTypeName] | None = Field(default=None, max_length=len(EventType))
    urn_prefix: UrnPrefix | None = None
    description: str | None = Field(default=None, max_length=10_000)
    active: StrictBool | None = None


class SecretIn(BaseModel):
    """A new signing secret; omit it to get a generated one."""

    model_config = ConfigDict(extra="forbid")
    secret: Secret | None = None


# -- outbox -----------------------------------------------------------------------------------------------------

@router.get("/events/outbox", dependencies=[allow(Permission.OPERATE)],
            response_model=list[OutboxEventOut], tags=["events"])
def list_outbox(status: OutboxStatus | None = None,
                source_urn: str | None = Query(None, max_length=2048, description="Only this source's events."),
                after_id: int | None = id_query("Events after this outbox id."),
                limit: int = Query(100, ge=1, le=1000), session: Session = QUERY_SESSION) -> list[OutboxEventOut]:
    """Outbox events, oldest first; `status=dead` lists the dead letters (events that kept failing)."""
    rows = outbox.list_outbox(session, status=status, source_urn=source_urn, limit=limit, after_id=after_id)
    return [OutboxEventOut.of(r) for r in rows]


@router.post("/events/outbox/replay", dependencies=[allow(Permission.ADMIN)], response_model=ReplayOut, tags=["events"],
             responses=errors(404))
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
def get_webhook(subscription_id: SubscriptionId, session: Session = QUERY_SESSION) -> WebhookOut:
    return WebhookOut.of(webhooks.get_subscription(session, subscription_id))


@router.patch("/webhooks/{subscription_id}", dependencies=[allow(Permission.OPERATE)],
              response_model=WebhookOut, tags=["webhooks"])
def update_webhook(subscription_id: SubscriptionId, body: WebhookUpdateIn,
                   ctx: ServiceContext = Depends(context)) -> WebhookOut:
    fields = body.model_dump(exclude_unset=True)
    return WebhookOut.of(webhooks.update_subscription(ctx, subscription_id, **fields))


@router.post("/webhooks/{subscription_id}/secret", dependencies=[allow(Permission.OPERATE)],
             response_model=WebhookWithSecretOut, tags=["webhooks"])
def rotate_webhook_secret(subscription_id: SubscriptionId, body: SecretIn | None = None,
                          ctx: ServiceContext = Depends(context)) -> WebhookWithSecretOut:
    """Replaces the signing secret; answers with the new one, once."""
    return WebhookWithSecretOut.of(webhooks.rotate_secret(ctx, subscription_id, body.secret if body else None))


@router.delete("/webhooks/{subscription_id}", dependencies=[allow(Permission.OPERATE)],
               status_code=status.HTTP_204_NO_CONTENT, tags=["webhooks"])
def delete_webhook(subscription_id: SubscriptionId, ctx: ServiceContext = Depends(context)) -> Response:
    webhooks.delete_subscription(ctx, subscription_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/webhooks/{subscription_id}/deliveries", dependencies=[allow(Permission.OPERATE)],
            response_model=list[DeliveryOut], tags=["webhooks"])
def webhook_deliveries(subscription_id: SubscriptionId, limit: int = Query(100, ge=1, le=1000),
                       event_id: str | None = Query(None, max_length=128),
                       failed_only: bool = False, session: Session = QUERY_SESSION) -> list[DeliveryOut]:
    """The subscription's delivery log, newest first: one entry per event per relay round."""
    rows = webhooks.list_deliveries(session, subscription_id, limit=limit, event_id=event_id, failed_only=failed_only)
    return [DeliveryOut.of(r) for r in rows]


# -- live stream ------------------------------------------------------------------------------------------------

@router.get("/events/stream", dependencies=[allow(Permission.READ)], tags=["events"], response_class=StreamingResponse,
            responses={200: {"content": {"text/event-stream": {}}}})
async def event_stream(request: Request,
                       types: list[EventTypeName] | None = Query(None, max_length=len(EventType)),
                       urn_prefix: str | None = Query(None, max_length=2048,
                                                      **checked_by_service(f"^({URN_PREFIX}.*)?$"))
                       ) -> StreamingResponse:
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
