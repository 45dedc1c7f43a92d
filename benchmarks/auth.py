"""Authentication benchmark: what identifying a caller costs per request.

`GET /api/v1/me` (a route that reads nothing but the identity) driven through httpx's ASGI transport (no socket,
so authentication's share is not lost in network noise), in interleaved rounds:
- `CATALOG_AUTH=none` (every caller is the local operator: no lookup at all);
- `CATALOG_AUTH=required` with an API key (one primary-key read of `api_keys` on a worker thread, a SHA-256 and a
  constant-time comparison; `last_used_at` written at most once a minute).
Rate limits are off in both, so only authentication differs. Prints the median per-request time of each and the
difference.

Target (2-core machine): an API key adds < 1 ms per request on the embedded SQLite catalog.
Usage: PYTHONPATH=/path/to/checkout python benchmarks/auth.py [--requests 500] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import statistics
import sys
import tempfile
import time
from pathlib import Path

# Run as a script, this folder comes first on sys.path, and its graphql.py would shadow the graphql library.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import httpx

from catalog_api.app import create_app
from catalog_api.bootstrap import build_context
from catalog_api.services import api_keys
from catalog_api.settings import Settings


async def per_request_ms(app, headers: dict[str, str], requests: int) -> float:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1", headers=headers) as client:
        assert (await client.get("/api/v1/me")).status_code == 200
        started = time.perf_counter()
        for _ in range(requests):
            await client.get("/api/v1/me")
        return (time.perf_counter() - started) * 1000 / requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        ctx = build_context(Settings(home=Path(home), secret_key="benchmark-key", rate_limit_per_s=0,
                                     scheduler_enabled=False, events_relay_enabled=False), migrate=True)
        try:
            key = api_keys.create_key(ctx, "benchmark", ["viewer"]).secret
            open_app = create_app(ctx=ctx)
            secured_app = create_app(ctx=dataclasses.replace(
                ctx, settings=ctx.settings.model_copy(update={"auth": "required"})))
            none_ms, key_ms = [], []
            for _ in range(args.rounds):
                none_ms.append(asyncio.run(per_request_ms(open_app, {}, args.requests)))
                key_ms.append(asyncio.run(per_request_ms(secured_app, {"Authorization": f"Bearer {key}"},
                                                         args.requests)))
        finally:
            ctx.close()
    none, keyed = statistics.median(none_ms), statistics.median(key_ms)
    print(f"GET /api/v1/me, {args.requests} requests x {args.rounds} rounds (median of rounds)")
    print(f"  CATALOG_AUTH=none          {none:7.3f} ms/request")
    print(f"  CATALOG_AUTH=required, key {keyed:7.3f} ms/request")
    print(f"  an API key adds            {keyed - none:7.3f} ms/request (target < 1 ms)")


if __name__ == "__main__":
    main()
