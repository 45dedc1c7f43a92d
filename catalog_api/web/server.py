"""The HTTP server of `catalog serve`: uvicorn, with the catalog's graceful stop.

uvicorn alone, on SIGTERM, waits for every open connection to close (an SSE stream never does) and then for the
in-process jobs to finish (a profile may take minutes). Here the signal also begins the service's bounded stop
(`services.shutdown`) at once, so running jobs are handed back while connections drain, open connections get
`shutdown_timeout_s` at most, and the process is gone within that time.
"""

from __future__ import annotations

import math
from types import FrameType

import uvicorn
from fastapi import FastAPI

from catalog_api.services.shutdown import GracefulShutdown
from catalog_api.settings import Settings


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


def run_server(app: FastAPI, settings: Settings, *, host: str, port: int) -> None:
    """Serves `app` (built by `create_app`) until SIGTERM or Ctrl-C, then stops within `shutdown_timeout_s`."""
    # log_config=None: uvicorn's own lines go through the catalog's log format (cli.server._server_logging).
    config = uvicorn.Config(app, host=host, port=port, log_config=None, log_level=settings.log_level.lower(),
                            # The server itself refuses larger WebSocket frames before buffering them.
                            ws_max_size=settings.max_request_body_bytes,
                            timeout_graceful_shutdown=math.ceil(settings.shutdown_timeout_s))
    _StoppingServer(config, GracefulShutdown(app.state.ctx)).run()
