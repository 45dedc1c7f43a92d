"""The FastAPI application: REST under /api/v1, GraphQL at /graphql, health and readiness probes."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import asynccontextmanager, contextmanager

from fastapi import FastAPI, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from pydantic import BaseModel
from sqlalchemy import text
from starlette.exceptions import HTTPException

from catalog_api import __version__
from catalog_api.bootstrap import build_context
from catalog_api.db.migrate import is_at_head
from catalog_api.errors import CatalogError, error_payload, invalid_input_from_validation
from catalog_api.graphql.schema import graphql_router
from catalog_api.observability.context import RequestContextMiddleware
from catalog_api.observability.http import RequestMetrics, metrics_endpoint
from catalog_api.observability.state import CatalogStateCollector
from catalog_api.rest.audit import AuditMiddleware
from catalog_api.rest.audit import router as audit_router
from catalog_api.rest.contract import document_errors, errors, graphql_refusals
from catalog_api.rest.events import router as events_router
from catalog_api.rest.governance import router as governance_router
from catalog_api.rest.keys import router as keys_router
from catalog_api.rest.lineage import router as lineage_router
from catalog_api.rest.quality import router as quality_router
from catalog_api.rest.routes import router as rest_router
from catalog_api.rest.search import router as search_router
from catalog_api.rest.security import API_KEY, BEARER, WWW_AUTHENTICATE, AuthenticationMiddleware, allow, public
from catalog_api.security.identity import Permission
from catalog_api.security.ratelimit import BucketStore, RateLimitMiddleware, buckets_for
from catalog_api.services.authentication import Authenticator, check_exposure
from catalog_api.services.context import ServiceContext
from catalog_api.services.events.relay import Relay
from catalog_api.services.jobs.records import resubmit_stranded_jobs
from catalog_api.services.jobs.runners import InProcessJobRunner
from catalog_api.services.jobs.schedules import Scheduler
from catalog_api.settings import Settings, get_settings
from catalog_api.ui.routes import UI_STATIC_PATH, UiFiles
from catalog_api.ui.routes import router as ui_router
from catalog_api.web.assets import (
    DOCS_PATH,
    OAUTH2_REDIRECT_PATH,
    VENDOR_PATH,
    VendoredFiles,
    oauth2_redirect_page,
    swagger_ui_page,
)
from catalog_api.web.body_limit import BodySizeLimit
from catalog_api.web.browser import CORS_EXPOSED_HEADERS, CORS_HEADERS, CORS_METHODS, CrossSiteGuard, SecurityHeaders
from catalog_api.web.errors import InternalErrors, http_error, unhandled_error
from crawlers.errors import ConnectorError

log = logging.getLogger(__name__)

GRAPHQL_PATH = "/graphql"


@contextmanager
def process_services(ctx: ServiceContext, *, singletons: bool, live_feeds: bool) -> Iterator[Relay | None]:
    """The background services of a `catalog serve` process, stopped on exit. `singletons`: those one process of
    the server runs (the restart of jobs left queued, the scheduler, the outbox relay, which it yields);
    `live_feeds`: the fan-out listener that feeds this process's SSE streams and subscriptions."""
    run_scheduler = ctx.settings.scheduler_enabled
    if run_scheduler is None:  # embedded default: without a broker the service schedules its own crawls
        run_scheduler = not ctx.settings.broker_url
    if singletons and ctx.jobs.name == InProcessJobRunner.name:
        # Jobs run by this server only: what a stopped one handed back (or left queued) starts again now.
        resubmit_stranded_jobs(ctx, older_than_s=0)
    scheduler = Scheduler(ctx).start() if singletons and run_scheduler else None
    fanout = None
    if live_feeds and ctx.settings.events_fanout != "none":
        from catalog_api.services.events.fanout import FanoutListener

        fanout = FanoutListener(ctx).start()
    # Without fan-out, the relay runs in the process whose bus feeds the app's subscriptions and SSE streams.
    relay = Relay(ctx).start() if singletons and ctx.settings.events_relay_enabled else None
    try:
        yield relay
    finally:
        if relay is not None:
            relay.close()
        if fanout is not None:
            fanout.stop()
        if scheduler is not None:
            scheduler.stop()


def create_app(settings: Settings | None = None, ctx: ServiceContext | None = None, *,
               rate_limits: BucketStore | None = None, background: bool = True) -> FastAPI:
    """Builds the application around a service context (created from settings when not given); `rate_limits`
    replaces the bucket store the settings ask for (tests pass one with their own clock). `background=False`: the
    app of one of several worker processes, whose parent runs the scheduler and relay (`web.server.run_workers`)."""
    owns_context = ctx is None
    settings = ctx.settings if ctx is not None else settings or get_settings()
    check_exposure(settings)
    ctx = ctx or build_context(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        try:
            with process_services(ctx, singletons=background, live_feeds=True) as relay:
                app.state.relay = relay
                try:
                    yield
                finally:
                    state_metrics.close()
                    ctx.bus.close()  # ends open SSE streams and subscriptions so the server can stop
        finally:
            if owns_context:
                ctx.close()

    app = FastAPI(
        title="Catalog",
        version=__version__,
        description="Metadata catalog: register sources, crawl them, browse and curate what they hold.",
        lifespan=lifespan,
        # Swagger UI is served below from the package's own files; ReDoc is not carried (catalog_api/web/assets.py).
        docs_url=None,
        redoc_url=None,
    )
    app.state.ctx = ctx

    # Innermost: an exception no handler took becomes the 500 error body here, so the audit, the security headers
    # and the rest of the middleware see an answer like any other. `unhandled_error` covers the middleware itself.
    app.add_middleware(InternalErrors)
    app.add_exception_handler(Exception, unhandled_error)
    app.add_exception_handler(HTTPException, http_error)

    # -- rate limits (catalog_api/security/ratelimit.py) --------------------------------------------------------------
    # Buckets are per identity, so this middleware must sit INSIDE (run after) AuthenticationMiddleware, which leaves
    # the caller's `Identity` in scope["state"]["identity"]. Starlette runs the middleware added last first: keep
    # this block above authentication's `add_middleware` below.
    buckets = rate_limits if rate_limits is not None else buckets_for(ctx.settings)
    if buckets is not None:
        app.add_middleware(RateLimitMiddleware, buckets=buckets)

    @app.exception_handler(CatalogError)
    @app.exception_handler(ConnectorError)
    async def _typed_error(_request: Request, exc: Exception) -> JSONResponse:
        status, body = error_payload(exc)
        headers = {"WWW-Authenticate": WWW_AUTHENTICATE} if status == 401 else None
        return JSONResponse({"error": body}, status_code=status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI's locations start with where the value was sent; a field is named as the services name it.
        status, body = error_payload(invalid_input_from_validation(
            list(exc.errors()), skip_prefixes=("body", "path", "query", "header", "cookie"), document=exc.body))
        return JSONResponse({"error": body}, status_code=status)

    # Outermost: every request, whatever its transport, is identified before anything else runs.
    authenticator = Authenticator(ctx)
    app.add_middleware(AuthenticationMiddleware, authenticator=authenticator)

    app.include_router(rest_router)
    app.include_router(keys_router)
    app.include_router(events_router)
    app.include_router(lineage_router)
    app.include_router(audit_router)
    app.include_router(quality_router)
    app.include_router(governance_router)
    app.include_router(search_router)
    app.include_router(ui_router)
    # GraphQL checks its callers itself (its context and each field); these only document the credentials.
    app.include_router(graphql_router(ctx, authenticator), prefix=GRAPHQL_PATH,
                       dependencies=[Security(BEARER), Security(API_KEY)],
                       responses={**graphql_refusals(400, 401, 403), **errors(413)})

    # -- request limits and browser safety (catalog_api/web, docs/security.md) -----------------------------------
    # Starlette runs the middleware added last first, so a request meets them bottom up, after the audit and before
    # authentication: SecurityHeaders sees every response (429s and refusals included), CORS answers preflights
    # before anything asks for credentials, the cross-site guard refuses what another site's page could send
    # unasked, and the body limit counts what is read.
    app.add_middleware(BodySizeLimit, max_bytes=ctx.settings.max_request_body_bytes)
    if ctx.settings.auth != "required":  # else a request without credentials is refused (401) and one with passes
        app.add_middleware(CrossSiteGuard)
    if ctx.settings.cors_allow_origins:
        app.add_middleware(CORSMiddleware, allow_origins=ctx.settings.cors_allow_origins, allow_methods=CORS_METHODS,
                           allow_headers=CORS_HEADERS, expose_headers=CORS_EXPOSED_HEADERS, max_age=600)
    app.add_middleware(SecurityHeaders)

    # Added last, so it wraps every other middleware (authentication included) and records what they refuse.
    app.add_middleware(AuditMiddleware, ctx=ctx, graphql_path=GRAPHQL_PATH)
    # Outside even the audit: every answer is counted and timed, refusals and errors included.
    app.add_middleware(RequestMetrics)
    # Outermost: every log line, job and event of a request, and its response, carry its request id.
    app.add_middleware(RequestContextMiddleware)
    # This app's state gauges are read from its own context, next to what the whole process recorded.
    state_metrics = CatalogStateCollector(ctx)
    app.add_api_route("/metrics", metrics_endpoint(state_metrics), methods=["GET"], include_in_schema=False,
                      dependencies=[public() if ctx.settings.metrics_public else allow(Permission.OPERATE)])

    app.mount(VENDOR_PATH, VendoredFiles(), name="vendor")
    app.mount(UI_STATIC_PATH, UiFiles(), name="ui")

    @app.get(DOCS_PATH, include_in_schema=False, dependencies=[public()])
    def _docs() -> HTMLResponse:
        return swagger_ui_page(app.openapi_url or "/openapi.json", app.title)

    @app.get(OAUTH2_REDIRECT_PATH, include_in_schema=False, dependencies=[public()])
    def _docs_oauth2_redirect() -> HTMLResponse:
        return oauth2_redirect_page()

    @app.get("/", include_in_schema=False, dependencies=[public()])
    def _root() -> RedirectResponse:
        return RedirectResponse(GRAPHQL_PATH)

    @app.get("/healthz", tags=["health"], dependencies=[public()], response_model=Readiness,
             response_model_exclude_none=True)
    def healthz() -> dict:
        """The process is up."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"], dependencies=[public()], response_model=Readiness,
             responses={503: {"model": Readiness, "description": "Not ready; `reason` says why."}})
    def readyz() -> JSONResponse:
        """The catalog database answers, its schema is at the latest migration and the job broker (if any) answers."""
        try:
            with ctx.db.engine.connect() as connection:
                connection.execute(text("select 1"))
            migrated = is_at_head(ctx.db.engine)
        except Exception as exc:  # any failure means "not ready"; say why without leaking connection details
            log.warning("readiness check failed: %s", type(exc).__name__)
            return JSONResponse({"status": "unavailable", "reason": "catalog database unreachable"}, status_code=503)
        if not migrated:
            return JSONResponse({"status": "unavailable", "reason": "database not migrated: run `catalog db upgrade`"},
                                status_code=503)
        try:
            ctx.jobs.ping()
        except Exception as exc:  # a request that starts a job would fail: not ready either
            log.warning("readiness check failed: job broker %s", type(exc).__name__)
            return JSONResponse({"status": "unavailable", "reason": "job broker unreachable"}, status_code=503)
        return JSONResponse({"status": "ready"})

    generated_openapi = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            app.openapi_schema = document_errors(app, generated_openapi(),
                                                 auth_required=ctx.settings.auth == "required")
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


class Readiness(BaseModel):
    """A probe's answer: `ok`/`ready`, or `unavailable` with the reason."""

    status: str
    reason: str | None = None
