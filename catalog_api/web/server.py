"""The HTTP server of `catalog serve`: uvicorn, with the catalog's graceful stop.

uvicorn alone, on SIGTERM, waits for every open connection to close (an SSE stream never does) and then for the
in-process jobs to finish (a profile may take minutes). Here the signal also begins the service's bounded stop
(`services.shutdown`) at once, so running jobs are handed back while connections drain, open connections get
`shutdown_timeout_s` at most, and the process is gone within that time.

With `CATALOG_WEB_WORKERS` > 1, uvicorn's worker processes answer HTTP (each builds its app with `worker_app`, and
stops as above) while their parent runs what must run once: the scheduler, the outbox relay and the restart of
jobs left queued (`app.process_services`).
"""

from __future__ import annotations

import math
import os
import signal
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from types import FrameType
from typing import Any

import uvicorn
from fastapi import FastAPI
from uvicorn.supervisors import Multiprocess

from catalog_api.app import create_app, process_services
from catalog_api.services.context import ServiceContext
from catalog_api.services.shutdown import GracefulShutdown
from catalog_api.settings import Settings, get_settings


class _StoppingServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, shutdown: GracefulShutdown) -> None:
        super().__init__(config)
        self._shutdown = shutdown

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        self._shutdown.begin()

    async def shutdown(self, sockets=None) -> None:
        await super().shutdown(sockets)  # connections, then the app's lifespan (relay, scheduler, job threads)
        self._shutdown.finish()


def _config(app: FastAPI | str, settings: Settings, host: str, port: int, **options: Any) -> uvicorn.Config:
    # log_config=None: uvicorn's own lines go through the catalog's log format (cli.server._server_logging).
    return uvicorn.Config(app, host=host, port=port, log_config=None, log_level=settings.log_level.lower(),
                          # The server itself refuses larger WebSocket frames before buffering them.
                          ws_max_size=settings.max_request_body_bytes,
                          timeout_graceful_shutdown=math.ceil(settings.shutdown_timeout_s), **options)


def run_server(app: FastAPI, settings: Settings, *, host: str, port: int) -> None:
    """Serves `app` (built by `create_app`) until SIGTERM or Ctrl-C, then stops within `shutdown_timeout_s`."""
    _StoppingServer(_config(app, settings, host, port), GracefulShutdown(app.state.ctx)).run()


def run_workers(ctx: ServiceContext, settings: Settings, *, host: str, port: int, workers: int) -> None:
    """Serves the API from `workers` processes on one socket until SIGTERM or Ctrl-C, while this process (over `ctx`,
    whose database is migrated already) runs the scheduler, the relay and the jobs they start."""
    # The workers read their settings from the environment (they are spawned, not forked): the same ones, but
    # migrated already and bound where this command was told to.
    os.environ.update({"CATALOG_AUTO_MIGRATE": "false", "CATALOG_HOST": host, "CATALOG_PORT": str(port)})
    config = _config(f"{__name__}:worker_app", settings, host, port, factory=True, workers=workers)
    shutdown = GracefulShutdown(ctx)
    with process_services(ctx, singletons=True, live_feeds=False):
        Multiprocess(config, sockets=[config.bind_socket()]).run()  # returns once every worker has stopped
        shutdown.begin()
    shutdown.finish()


def _on_stop_signals(begin: Callable[[], None]) -> None:
    """Calls `begin` first whenever SIGINT or SIGTERM arrives, then the handler uvicorn installed."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        previous = signal.getsignal(sig)

        def handler(signum: int, frame: FrameType | None, previous: Any = previous) -> None:
            begin()
            if callable(previous):
                previous(signum, frame)

        signal.signal(sig, handler)


def worker_app() -> FastAPI:
    """The app of one worker process of `run_workers`: the API and its live feeds, no scheduler or relay; a stop
    signal hands its running jobs back, as `run_server` does."""
    from catalog_api.observability.logs import configure_logging
    from catalog_api.observability.tracing import configure_tracing

    settings = get_settings()
    # A spawned process starts with none of its parent's logging or tracing.
    configure_logging(settings.log_format, settings.log_level)
    configure_tracing("catalog-api")
    app = create_app(settings, background=False)
    shutdown = GracefulShutdown(app.state.ctx)
    lifespan = app.router.lifespan_context

    @asynccontextmanager
    async def stopping(app_: FastAPI) -> AsyncIterator[Any]:
        _on_stop_signals(shutdown.begin)  # uvicorn has installed its own handlers by now
        async with lifespan(app_) as state:
            yield state
        shutdown.finish()

    app.router.lifespan_context = stopping
    return app
