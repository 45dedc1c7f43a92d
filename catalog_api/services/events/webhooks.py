"""Webhook subscriptions: CRUD, their signing secrets (encrypted in the local secret store) and delivery logs.

The secret is returned once, when a subscription is created or its secret rotated; afterwards no API shows it.
URLs must be absolute http(s) URLs without credentials. Every address the host resolves to is checked when a
subscription is saved and again by every delivery (`events.egress`): link-local and cloud metadata addresses are
always refused; loopback, private, CGNAT, multicast and reserved ones unless `CATALOG_WEBHOOK_ALLOW_PRIVATE_NETWORKS`.
"""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog_api.db.models import WebhookDeliveryRow, WebhookSubscriptionRow, utcnow
from catalog_api.db.session import Database
from catalog_api.errors import InvalidInput, NotFound
from catalog_api.services.context import ServiceContext
from catalog_api.services.events.views import (
    CreatedSubscription,
    DeliveryView,
    SubscriptionView,
    delivery_view,
    subscription_view,
)
from catalog_api.services.text import free_text, reject_nul
from catalog_api.services.views import from_row
from events import EventFilter, InvalidFilter, WebhookPublisher, WebhookRetryPolicy, WebhookSubscription
from events.egress import DestinationRefused, EgressPolicy
from events.webhooks import MIN_SECRET_LENGTH, generate_secret

MAX_URL_LENGTH = 2048
MAX_SECRET_LENGTH = 512
MAX_DESCRIPTION = 10_000


def egress_policy(ctx: ServiceContext) -> EgressPolicy:
    """Where webhooks may go, from the settings; host names resolve through the context's resolver."""
    return EgressPolicy(allow_private=ctx.settings.webhook_allow_private_networks, resolve=ctx.resolve)


def validate_url(url: str, policy: EgressPolicy) -> str:
    """An absolute http(s) URL, without credentials or fragment, whose host reaches only addresses `policy` allows.

    A host name that does not resolve (yet) is accepted: nothing can be reached through it, and every delivery
    checks again where the name leads by then.
    """
    if not url or len(url) > MAX_URL_LENGTH:
        raise InvalidInput("url", f"a webhook URL has 1 to {MAX_URL_LENGTH} characters")
    try:
        parsed = httpx.URL(url.strip())
    except (httpx.InvalidURL, TypeError) as error:
        raise InvalidInput("url", f"not a URL: {error}") from None
    if parsed.scheme not in ("http", "https"):
        raise InvalidInput("url", f"only http and https URLs are allowed, got {parsed.scheme or 'none'!r}")
    if not parsed.host:
        raise InvalidInput("url", "an absolute URL with a host is required, e.g. https://hooks.example.com/catalog")
    if parsed.userinfo:
        raise InvalidInput("url", "credentials in the URL are refused; the request is signed with the secret")
    if parsed.fragment:
        raise InvalidInput("url", "a fragment (#...) is never sent to the server; remove it")
    try:
        policy.check_url(parsed)
    except DestinationRefused as refused:
        hint = " (CATALOG_WEBHOOK_ALLOW_PRIVATE_NETWORKS=true allows them)" if refused.private else ""
        raise InvalidInput("url", refused.reason + hint) from None
    except UnicodeError as error:  # IDNA: a label over 63 characters, an empty label...
        raise InvalidInput("url", f"not a valid host name: {error}") from None
    except OSError:
        pass
    return str(parsed)


def _filter(event_types: list[str] | None, urn_prefix: str | None) -> EventFilter:
    try:
        return EventFilter.of(event_types or [], urn_prefix or "")
    except InvalidFilter as error:
        raise InvalidInput(error.field, error.reason) from None


def _check_free_text(description: str | None, urn_prefix: str | None) -> None:
    free_text("description", description, max_length=MAX_DESCRIPTION, noun="a description")
    reject_nul("urn_prefix", urn_prefix)


def _secret(secret: str | None) -> str:
    if secret is None:
        return generate_secret()
    if not MIN_SECRET_LENGTH <= len(secret) <= MAX_SECRET_LENGTH:
        raise InvalidInput("secret", f"a signing secret has {MIN_SECRET_LENGTH} to {MAX_SECRET_LENGTH} characters; "
                                     "omit it to get a generated one")
    return secret


def _get(session: Session, subscription_id: str) -> WebhookSubscriptionRow:
    row = session.get(WebhookSubscriptionRow, subscription_id)
    if row is None:
        raise NotFound(f"no webhook subscription {subscription_id!r}", field="id")
    return row


def create_subscription(ctx: ServiceContext, url: str, *, event_types: list[str] | None = None,
                        urn_prefix: str | None = None, description: str | None = None, secret: str | None = None,
                        active: bool = True) -> CreatedSubscription:
    """Stores a subscription; its secret (given or generated) is encrypted and returned this once."""
    url = validate_url(url, egress_policy(ctx))
    _check_free_text(description, urn_prefix)
    chosen = _filter(event_types, urn_prefix)
    value = _secret(secret)
    with ctx.db.session() as session:
        row = WebhookSubscriptionRow(
            url=url, secret_ref=ctx.secrets.put(session, value), description=description, active=active,
            event_types=sorted(t.value for t in chosen.event_types), urn_prefix=chosen.urn_prefix,
        )
        session.add(row)
        session.flush()
        return from_row(CreatedSubscription, row, event_types=list(row.event_types), secret=value)


def list_subscriptions(session: Session) -> list[SubscriptionView]:
    return [subscription_view(row) for row in
            session.scalars(select(WebhookSubscriptionRow).order_by(WebhookSubscriptionRow.created_at))]


def get_subscription(session: Session, subscription_id: str) -> SubscriptionView:
    return subscription_view(_get(session, subscription_id))


def subscriptions_by_id(session: Session, subscription_ids: list[str]) -> dict[str, SubscriptionView]:
    """The subscriptions among these ids, in one statement (unknown ids are left out)."""
    return {row.id: subscription_view(row) for row in
            session.scalars(select(WebhookSubscriptionRow).where(WebhookSubscriptionRow.id.in_(subscription_ids)))}


_UNSET: Any = object()


def update_subscription(ctx: ServiceContext, subscription_id: str, *, url: str | None = None,
                        event_types: list[str] | None = None, urn_prefix: str | None = None,
                        description: str | None = _UNSET, active: bool | None = None) -> SubscriptionView:
    """Changes the given fields; omitted (None) fields keep their value."""
    _check_free_text(None if description is _UNSET else description, urn_prefix)
    if url is not None:
        url = validate_url(url, egress_policy(ctx))
    with ctx.db.session() as session:
        row = _get(session, subscription_id)
        chosen = _filter(event_types if event_types is not None else row.event_types,
                         urn_prefix if urn_prefix is not None else row.urn_prefix)
        if url is not None:
            row.url = url
        row.event_types, row.urn_prefix = sorted(t.value for t in chosen.event_types), chosen.urn_prefix
        if description is not _UNSET:
            row.description = description
        if active is not None:
            row.active = active
        row.updated_at = utcnow()
        return subscription_view(row)


def rotate_secret(ctx: ServiceContext, subscription_id: str, secret: str | None = None) -> CreatedSubscription:
    """Replaces the signing secret (given or generated); the new one is returned this once."""
    value = _secret(secret)
    with ctx.db.session() as session:
        row = _get(session, subscription_id)
        old = row.secret_ref
        row.secret_ref = ctx.secrets.put(session, value)
        ctx.secrets.delete(session, old)
        row.updated_at = utcnow()
        return from_row(CreatedSubscription, row, event_types=list(row.event_types), secret=value)


def delete_subscription(ctx: ServiceContext, subscription_id: str) -> None:
    """Removes the subscription, its secret and its delivery log."""
    with ctx.db.session() as session:
        row = _get(session, subscription_id)
        ctx.secrets.delete(session, row.secret_ref)
        session.delete(row)


def list_deliveries(session: Session, subscription_id: str, *, limit: int = 100, event_id: str | None = None,
                    failed_only: bool = False) -> list[DeliveryView]:
    """The subscription's delivery log, newest first."""
    if not 1 <= limit <= 1000:
        raise InvalidInput("limit", "between 1 and 1000")
    _get(session, subscription_id)
    query = (select(WebhookDeliveryRow).where(WebhookDeliveryRow.subscription_id == subscription_id)
             .order_by(WebhookDeliveryRow.id.desc()).limit(limit))
    if event_id is not None:
        query = query.where(WebhookDeliveryRow.event_id == event_id)
    if failed_only:
        query = query.where(WebhookDeliveryRow.delivered.is_(False))
    return [delivery_view(row) for row in session.scalars(query)]


# -- what the relay publishes to -------------------------------------------------------------------------------

def active_subscriptions(ctx: ServiceContext, db: Database | None = None) -> list[WebhookSubscription]:
    """The active subscriptions with their secrets decrypted, for one relay round."""
    with (db or ctx.db).session() as session:
        rows = session.scalars(select(WebhookSubscriptionRow).where(WebhookSubscriptionRow.active.is_(True))
                               .order_by(WebhookSubscriptionRow.created_at))
        return [
            WebhookSubscription(id=row.id, url=row.url, secret=ctx.secrets.resolve(session, row.secret_ref),
                                event_types=frozenset(row.event_types), urn_prefix=row.urn_prefix)
            for row in rows
        ]


def webhook_publisher(ctx: ServiceContext, db: Database | None = None) -> WebhookPublisher:
    """A `WebhookPublisher` over the catalog's active subscriptions, with the retry policy from the settings."""
    settings = ctx.settings
    retry = WebhookRetryPolicy(attempts=settings.webhook_attempts, initial_wait_s=settings.webhook_initial_wait_s,
                               max_wait_s=settings.webhook_max_wait_s, jitter_s=min(1.0, settings.webhook_initial_wait_s),
                               timeout_s=settings.webhook_timeout_s)
    return WebhookPublisher(lambda: active_subscriptions(ctx, db), retry=retry, egress=egress_policy(ctx))
