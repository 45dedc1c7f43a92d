"""The GraphQL schema (queries and mutations) and the FastAPI router that serves it at /graphql with GraphiQL.

Resolvers only translate: arguments into service calls, rows into GraphQL objects. Reads go through
`catalog_api.services.browse` (batched by the request's DataLoaders), writes through the `sources`, `crawl` and
`curation` services; errors are mapped once, in `catalog_api.graphql.errors`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from functools import cached_property
from typing import Annotated, Any

import strawberry
from starlette.requests import HTTPConnection
from strawberry.exceptions import ConnectionRejectionError
from strawberry.fastapi import GraphQLRouter
from strawberry.schema.config import StrawberryConfig

from catalog_api.errors import InvalidInput, Unauthenticated
from catalog_api.graphql.audit import AuditQuery, audited
from catalog_api.graphql.context import GraphQLContext, Info
from catalog_api.graphql.curation import CurationMutation, CurationQuery
from catalog_api.graphql.errors import CatalogErrors, CatalogSchema
from catalog_api.graphql.events import (
    CatalogEventNode,
    OutboxEventNode,
    WebhookDeliveryNode,
    WebhookInput,
    WebhookSecretPayload,
    WebhookSubscriptionNode,
    WebhookUpdateInput,
)
from catalog_api.graphql.inputs import RegisterSourceInput, UpdateSourceInput, registration, source_update
from catalog_api.graphql.jobs import JobNode, queued_job
from catalog_api.graphql.keys import KeysMutation, KeysQuery
from catalog_api.graphql.lean import LeanExecutionContext, install_lean_resolvers
from catalog_api.graphql.limits import GraphQLLimits, QueryLimits, refusal_status
from catalog_api.graphql.lineage import LineageMutation, LineageQuery
from catalog_api.graphql.loaders import in_session
from catalog_api.graphql.metrics import OperationMetrics
from catalog_api.graphql.nodes import NodeQuery, key_of
from catalog_api.graphql.permissions import requires
from catalog_api.graphql.profiles import ProfileMutation, ProfileQuery
from catalog_api.graphql.quality import QualityMutation, QualityQuery
from catalog_api.graphql.scalars import SCALARS
from catalog_api.graphql.search import SearchQuery
from catalog_api.graphql.types import (
    ColumnNode,
    Connection,
    ConnectionTestNode,
    Entity,
    ExtractionNode,
    SearchHitNode,
    SourceNode,
    TableNode,
    entity_node,
    to_connection,
    with_tags,
)
from catalog_api.security.identity import Permission, assume
from catalog_api.services import backfill as backfills
from catalog_api.services import browse, crawl, curation, extraction, jobs, sources
from catalog_api.services.authentication import ANONYMOUS, Authenticator, require, scope_identity
from catalog_api.services.browse import EntityType, PageRequest
from catalog_api.services.context import ServiceContext
from catalog_api.services.events import outbox, webhooks
from catalog_api.services.jobs import get_job, schedules
from catalog_api.settings import Settings
from catalog_api.web.assets import local_graphiql, page_policy
from events import InvalidFilter

SourceId = Annotated[int, strawberry.argument(name="id", description="The source's id (`databaseId`).")]


def _webhook(webhook_id: str) -> str:
    """A subscription's own id, also from its global `id`."""
    return key_of(webhook_id, "WebhookSubscriptionNode")


@strawberry.type
class Query(NodeQuery, LineageQuery, ProfileQuery, QualityQuery, CurationQuery, KeysQuery, AuditQuery, SearchQuery):
    """Reading the catalog."""

    @strawberry.field(description="Registered sources in name order.")
    async def sources(self, info: Info, first: int = 100, after: str | None = None) -> Connection[SourceNode]:
        page = PageRequest(first, after).validated()
        found = await in_session(info.context.ctx, lambda session: browse.sources_page(session, page))
        return to_connection(await with_tags(info, found), SourceNode.of)

    @strawberry.field(description="One source, by id or by name (give exactly one).")
    async def source(
        self, info: Info, source_id: Annotated[int | None, strawberry.argument(name="id")] = None,
        name: str | None = None,
    ) -> SourceNode:
        if (source_id is None) == (name is None):
            raise InvalidInput("id", "give either `id` or `name` of the source")
        if name is not None:
            found = await info.context.query(sources.get_source, name, by="name")
        else:
            found = await info.context.query(sources.get_source, source_id, by="id")
        return SourceNode.of(found)

    @strawberry.field(description="Any entity by URN: a source, schema, table (dataset) or column. (Before `node` "
                                  "took a global `id`, this was `node(urn:)`.)")
    async def entity(self, info: Info, urn: str) -> Entity:
        row = await in_session(info.context.ctx, lambda session: browse.entity(session, urn))
        return entity_node(row)

    @strawberry.field(description="A table by its dataset URN, e.g. `urn:catalog:dataset:erp:public:orders`.")
    async def table(self, info: Info, urn: str) -> TableNode:
        row = await in_session(
            info.context.ctx, lambda session: browse.entity(session, urn, expected=EntityType.DATASET))
        return TableNode.of(row)

    @strawberry.field(description="A column by its URN, e.g. `urn:catalog:column:erp:public:orders:id`.")
    async def column(self, info: Info, urn: str) -> ColumnNode:
        row = await in_session(
            info.context.ctx, lambda session: browse.entity(session, urn, expected=EntityType.COLUMN))
        return ColumnNode.of(row)

    @strawberry.field(description="Tables and columns whose name, description or comment contains `q`.",
                      deprecation_reason="Use `catalogSearch`: ranked, over every entity and tag, with filters, "
                                         "facets and pages.")
    async def search(self, info: Info, q: str, limit: int = 50) -> list[SearchHitNode]:
        hits = await in_session(info.context.ctx, lambda session: browse.search(session, q, limit))
        return [SearchHitNode.of(h) for h in hits]

    @strawberry.field(description="A job by its own id (`databaseId`; its global `id` is taken too).")
    async def job(self, info: Info, job_id: Annotated[str, strawberry.argument(name="id")]) -> JobNode:
        return JobNode.of(await info.context.query(get_job, key_of(job_id, "Job")))

    @strawberry.field(description="Recent jobs, newest first, optionally of one source or in one status.")
    async def jobs(self, info: Info, source_id: int | None = None, status: str | None = None,
                   limit: int = 50) -> list[JobNode]:
        found = await info.context.query(jobs.list_jobs, source_id=source_id, status=status,
                                        limit=limit)
        return [JobNode.of(j) for j in found]

    @strawberry.field(permission_classes=requires(Permission.OPERATE),
                      description="Outbox events, oldest first; `status: \"dead\"` lists the dead letters.")
    async def outbox_events(self, info: Info, status: str | None = None, source_urn: str | None = None,
                            after_id: int | None = None, limit: int = 100) -> list[OutboxEventNode]:
        rows = await in_session(info.context.ctx, lambda session: outbox.list_outbox(
            session, status=status, source_urn=source_urn, after_id=after_id, limit=limit))
        return [OutboxEventNode.of(r) for r in rows]

    @strawberry.field(permission_classes=requires(Permission.OPERATE),
                      description="Webhook subscriptions (secrets are never shown).")
    async def webhooks(self, info: Info) -> list[WebhookSubscriptionNode]:
        rows = await info.context.query(webhooks.list_subscriptions)
        return [WebhookSubscriptionNode.of(r) for r in rows]

    @strawberry.field(permission_classes=requires(Permission.OPERATE), description="One webhook subscription by id.")
    async def webhook(self, info: Info, webhook_id: Annotated[str, strawberry.argument(name="id")]
                      ) -> WebhookSubscriptionNode:
        return WebhookSubscriptionNode.of(await info.context.query(webhooks.get_subscription,
                                                                  _webhook(webhook_id)))

    @strawberry.field(permission_classes=requires(Permission.OPERATE),
                      description="A webhook subscription's delivery log, newest first.")
    async def webhook_deliveries(self, info: Info, webhook_id: Annotated[str, strawberry.argument(name="id")],
                                 limit: int = 100, failed_only: bool = False) -> list[WebhookDeliveryNode]:
        rows = await info.context.query(webhooks.list_deliveries, _webhook(webhook_id), limit=limit,
                                       failed_only=failed_only)
        return [WebhookDeliveryNode.of(r) for r in rows]


@strawberry.type
class Mutation(LineageMutation, ProfileMutation, QualityMutation, CurationMutation, KeysMutation):
    """Changing the catalog. A failed mutation stores nothing."""

    @strawberry.mutation(permission_classes=requires(Permission.ADMIN),
                         description="Validates, tests (unless `testConnection: false`) and stores a new source.")
    async def register_source(
        self, info: Info, data: Annotated[RegisterSourceInput, strawberry.argument(name="input")]
    ) -> SourceNode:
        row = await asyncio.to_thread(sources.register_source, info.context.ctx, registration(data))
        info.context.loaders.clear()
        return SourceNode.of(row)

    @strawberry.mutation(permission_classes=requires(Permission.ADMIN),
                         description="Changes a source's description, config or credentials.")
    async def update_source(
        self, info: Info, source_id: SourceId, data: Annotated[UpdateSourceInput, strawberry.argument(name="input")]
    ) -> SourceNode:
        row = await asyncio.to_thread(sources.update_source, info.context.ctx, source_id, source_update(data))
        info.context.loaders.clear()
        return SourceNode.of(row)

    @strawberry.mutation(permission_classes=requires(Permission.ADMIN),
                         description="Removes a source with everything catalogued under it.")
    async def delete_source(self, info: Info, source_id: SourceId) -> bool:
        await asyncio.to_thread(sources.delete_source, info.context.ctx, source_id)
        info.context.loaders.clear()
        return True

    @strawberry.mutation(permission_classes=requires(Permission.OPERATE),
                         description="Tests a registered source's connection; a failure is a result, not an error.")
    async def test_source(self, info: Info, source_id: SourceId) -> ConnectionTestNode:
        return ConnectionTestNode.of(await asyncio.to_thread(sources.test_source, info.context.ctx, source_id))

    @strawberry.mutation(permission_classes=requires(Permission.OPERATE),
                         description="Queues a crawl (or returns the one already queued or running); "
                                     "with `wait: true` answers once the job has finished.")
    async def crawl_source(self, info: Info, source_id: SourceId, wait: bool = False) -> JobNode:
        return await queued_job(info, wait, crawl.request_crawl, source_id)

    @strawberry.mutation(permission_classes=requires(Permission.OPERATE),
                         description="Queues an incremental extraction of the source's tables (or of `tables`) "
                                     "into the lake; with `wait: true` answers once the job has finished.")
    async def extract_source(self, info: Info, source_id: SourceId, tables: list[str] | None = None,
                             wait: bool = False) -> JobNode:
        return await queued_job(info, wait, extraction.request_extract, source_id, tables)

    @strawberry.mutation(permission_classes=requires(Permission.OPERATE),
                         description="Queues a backfill of one table of the source: its rows with `from <= value < "
                                     "to` in its plan's column (either bound may be left out; stopped at the "
                                     "table's watermark), or all of it without either; each row ends up in the "
                                     "lake once. With `wait: true` answers once the job has finished.")
    async def backfill_table(self, info: Info, source_id: SourceId, table: str,
                             from_: Annotated[str | None, strawberry.argument(name="from")] = None,
                             to: str | None = None, wait: bool = False) -> JobNode:
        return await queued_job(info, wait, backfills.request_backfill, source_id, table, from_, to)

    @strawberry.mutation(permission_classes=requires(Permission.OPERATE),
                         description="Overrides a table's extraction plan (`timestamp`/`key` with a column, "
                                     "`full`); a null strategy returns to the suggested plan.")
    async def set_extraction_plan(self, info: Info, urn: str, strategy: str | None = None,
                                  column: str | None = None) -> ExtractionNode:
        view = await asyncio.to_thread(extraction.set_extraction_plan, info.context.ctx, urn, strategy, column)
        return ExtractionNode.of(view)

    @strawberry.mutation(permission_classes=requires(Permission.OPERATE),
                         description="Cancels a queued job at once; a running one stops at its next progress "
                                     "report and changes nothing.")
    async def cancel_job(self, info: Info, job_id: Annotated[str, strawberry.argument(name="id")]) -> JobNode:
        return JobNode.of(await asyncio.to_thread(jobs.cancel_job, info.context.ctx, key_of(job_id, "Job")))

    @strawberry.mutation(permission_classes=requires(Permission.OPERATE),
                         description="Sets (cron: null clears) a source's crawl schedule; also resumes a paused one.")
    async def set_schedule(self, info: Info, source_id: SourceId, cron: str | None,
                           timezone: str = "UTC") -> SourceNode:
        row = await asyncio.to_thread(schedules.set_schedule, info.context.ctx, source_id, cron, timezone)
        info.context.loaders.clear()
        return SourceNode.of(row)

    @strawberry.mutation(permission_classes=requires(Permission.OPERATE),
                         description="Resumes a schedule the circuit breaker paused, from the next slot after now.")
    async def resume_schedule(self, info: Info, source_id: SourceId) -> SourceNode:
        row = await asyncio.to_thread(schedules.resume_schedule, info.context.ctx, source_id)
        info.context.loaders.clear()
        return SourceNode.of(row)

    @strawberry.mutation(permission_classes=requires(Permission.CURATE),
                         description="Sets the curated description of any entity; null or blank clears it.")
    async def set_description(self, info: Info, urn: str, description: str | None = None) -> Entity:
        row = await asyncio.to_thread(curation.set_description, info.context.ctx, urn, description)
        info.context.loaders.clear()
        return entity_node(row)

    @strawberry.mutation(permission_classes=requires(Permission.CURATE),
                         description="Replaces the tags of any entity with the given set.")
    async def set_tags(self, info: Info, urn: str, tags: list[str]) -> Entity:
        ctx = info.context.ctx
        await asyncio.to_thread(curation.set_tags, ctx, urn, tags)
        info.context.loaders.clear()
        return entity_node(await in_session(ctx, lambda session: browse.entity(session, urn)))

    @strawberry.mutation(permission_classes=requires(Permission.ADMIN),
                         description="Puts dead outbox events (by outbox id, or all when `ids` is null) back to "
                                     "pending; the relay publishes them again with their original event ids.")
    async def replay_events(self, info: Info, ids: list[int] | None = None) -> list[OutboxEventNode]:
        rows = await in_session(info.context.ctx, lambda session: outbox.replay(session, ids))
        return [OutboxEventNode.of(r) for r in rows]

    @strawberry.mutation(permission_classes=requires(Permission.OPERATE),
                         description="Subscribes a URL to events; answers with the signing secret, once.")
    async def create_webhook(self, info: Info, data: Annotated[WebhookInput, strawberry.argument(name="input")]
                             ) -> WebhookSecretPayload:
        created = await asyncio.to_thread(
            webhooks.create_subscription, info.context.ctx, data.url, event_types=data.event_types,
            urn_prefix=data.urn_prefix, description=data.description, secret=data.secret, active=data.active)
        return WebhookSecretPayload.of(created)

    @strawberry.mutation(permission_classes=requires(Permission.OPERATE),
                         description="Changes a webhook subscription; omitted fields keep their value.")
    async def update_webhook(self, info: Info, webhook_id: Annotated[str, strawberry.argument(name="id")],
                             data: Annotated[WebhookUpdateInput, strawberry.argument(name="input")]
                             ) -> WebhookSubscriptionNode:
        fields = {k: v for k, v in vars(data).items() if v is not None}
        row = await asyncio.to_thread(webhooks.update_subscription, info.context.ctx, _webhook(webhook_id), **fields)
        return WebhookSubscriptionNode.of(row)

    @strawberry.mutation(permission_classes=requires(Permission.OPERATE),
                         description="Replaces a webhook's signing secret (generated when omitted); answers with "
                                     "the new secret, once.")
    async def rotate_webhook_secret(self, info: Info, webhook_id: Annotated[str, strawberry.argument(name="id")],
                                    secret: str | None = None) -> WebhookSecretPayload:
        rotated = await asyncio.to_thread(webhooks.rotate_secret, info.context.ctx, _webhook(webhook_id), secret)
        return WebhookSecretPayload.of(rotated)

    @strawberry.mutation(permission_classes=requires(Permission.OPERATE),
                         description="Removes a webhook subscription with its secret and delivery log.")
    async def delete_webhook(self, info: Info, webhook_id: Annotated[str, strawberry.argument(name="id")]) -> bool:
        await asyncio.to_thread(webhooks.delete_subscription, info.context.ctx, _webhook(webhook_id))
        return True


@strawberry.type
class Subscription:
    """Live change events, as the relay publishes them (a live feed: nothing is kept while disconnected)."""

    @strawberry.subscription(permission_classes=requires(Permission.READ),
                             description="Change events as they are published, optionally only of the given "
                                         "`types` and about subjects under `urnPrefix`.")
    async def catalog_events(self, info: Info, types: list[str] | None = None,
                             urn_prefix: str | None = None) -> AsyncGenerator[CatalogEventNode, None]:
        try:
            feed = info.context.ctx.bus.subscribe(event_types=types, urn_prefix=urn_prefix)
        except InvalidFilter as error:
            raise InvalidInput("types" if error.field == "event_types" else "urnPrefix", error.reason) from None
        async with feed:
            async for event in feed:
                yield CatalogEventNode.of(event)


def build_schema(limits: GraphQLLimits) -> CatalogSchema:
    """The schema, refusing documents over `limits` (types reference each other in cycles, table → schema →
    tables …, so only limits bound what one request costs)."""
    built = CatalogSchema(
        query=Query,
        mutation=audited(Mutation),
        subscription=Subscription,
        extensions=[OperationMetrics, CatalogErrors, lambda: QueryLimits(limits)],
        config=StrawberryConfig(scalar_map=SCALARS),
        execution_context_class=LeanExecutionContext,
    )
    install_lean_resolvers(built)
    return built


# The schema with the default limits: docs/schema.graphql is printed from it.
schema = build_schema(GraphQLLimits.of(Settings.model_construct()))


class CatalogGraphQLRouter(GraphQLRouter):
    """Authenticates graphql-transport-ws connections from their `connection_init` payload (browsers cannot set
    headers on a WebSocket): `{"Authorization": "Bearer <key or token>"}` or `{"apiKey": "<key>"}`. Answers a
    document refused over a limit with a 4xx status instead of 200, and serves GraphiQL with a
    Content-Security-Policy that allows scripts and styles from this origin only."""

    def __init__(self, *args: Any, authenticator: Authenticator, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.authenticator = authenticator

    def create_response(self, response_data, sub_response):
        sub_response.status_code = refusal_status(response_data) or sub_response.status_code
        return super().create_response(response_data, sub_response)

    @cached_property
    def graphql_ide_html(self) -> str:  # type: ignore[override]
        # GraphiQL and React from the package's vendored copies (catalog_api/web/assets.py), never from a CDN.
        return local_graphiql(super().graphql_ide_html)

    @cached_property
    def ide_policy(self) -> str:
        return page_policy(self.graphql_ide_html)

    async def render_graphql_ide(self, request):
        page = await super().render_graphql_ide(request)
        page.headers["Content-Security-Policy"] = self.ide_policy
        return page

    async def on_ws_connect(self, context: GraphQLContext) -> None:
        params = context.connection_params if isinstance(context.connection_params, dict) else {}
        authorization, api_key = params.get("Authorization") or params.get("authorization"), params.get("apiKey")
        if context.identity is ANONYMOUS and (authorization or api_key):
            try:
                context.identity = await asyncio.to_thread(self.authenticator.identify, str(authorization or ""),
                                                           str(api_key or "") or None)
            except Unauthenticated:
                raise ConnectionRejectionError({"code": "unauthenticated"}) from None
        if self.authenticator.required and not context.identity.can(Permission.READ):
            code = "unauthenticated" if context.identity is ANONYMOUS else "forbidden"
            raise ConnectionRejectionError({"code": code})
        if self.authenticator.required:
            # Operations on this socket (subscriptions, and queries or mutations sent over it) are tasks started
            # from here: they record and mask as this caller.
            assume(context.identity)
        return None


def _wants_graphiql(connection: HTTPConnection) -> bool:
    return (connection.scope["type"] == "http" and connection.scope["method"] == "GET"
            and "query" not in connection.query_params and "text/html" in connection.headers.get("accept", ""))


def graphql_router(ctx: ServiceContext, authenticator: Authenticator) -> GraphQLRouter:
    """The /graphql router over `ctx`: POST and GET queries, GraphiQL for browsers, subscriptions over WebSocket
    (from this origin or `cors_allow_origins`), fresh DataLoaders per request.

    Every operation over HTTP needs the read permission (mutations and some queries declare more); WebSocket
    connections are checked at `connection_init`.
    """

    async def context_getter(connection: HTTPConnection) -> GraphQLContext:
        identity = scope_identity(connection.scope)
        if connection.scope["type"] == "http" and not _wants_graphiql(connection):
            require(identity, Permission.READ, "query the catalog")
        return GraphQLContext(ctx, identity)

    return CatalogGraphQLRouter(build_schema(GraphQLLimits.of(ctx.settings)), context_getter=context_getter,
                                graphql_ide="graphiql", authenticator=authenticator,
                                allowed_origins=ctx.settings.cors_allow_origins)
