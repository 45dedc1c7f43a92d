"""`catalog relay` as a separate process, killed with SIGKILL while it delivers and started again, as a crashing
machine would: what its webhook receiver and JSON Lines file got (used by the relay's crash tests and its benchmark)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text

from catalog_api.bootstrap import build_context
from catalog_api.services.events import webhooks
from catalog_api.settings import Settings
from tests.support.events import FAST_EVENTS, Receiver, outbox_backlog
from tests.support.paths import REPO

RELAY_COMMAND = (sys.executable, "-m", "catalog_api.cli", "relay")


@dataclass(frozen=True)
class KilledRelayRuns:
    """Every webhook delivery in arrival order (event ids), and how many had arrived when each killed relay died."""

    deliveries: list[str]
    kills_at: list[int]

    def repeats_after_each_kill(self) -> list[int]:
        """Per kill: the deliveries of the next run that repeat an event some earlier run already delivered."""
        ends = [*self.kills_at[1:], len(self.deliveries)]
        repeats = []
        for kill, end in zip(self.kills_at, ends, strict=True):
            before = set(self.deliveries[:kill])
            repeats.append(sum(1 for event_id in self.deliveries[kill:end] if event_id in before))
        return repeats


def run_relay_with_kills(env: Mapping[str, str], receiver: Receiver, *, kills: int, deliveries_per_run: int,
                         finished: Callable[[], bool], logs: Path, timeout_s: float = 120) -> KilledRelayRuns:
    """Runs `catalog relay` until `finished()`, killing it (SIGKILL) up to `kills` times, each time once the receiver
    got `deliveries_per_run` more requests, and starting it again; the run that finishes stops with SIGTERM."""
    kills_at: list[int] = []
    for run in range(kills + 1):
        if _run_once(env, receiver, None if run == kills else deliveries_per_run, finished, logs / f"relay-{run}.log",
                     timeout_s):
            break
        kills_at.append(len(receiver.requests))
    return KilledRelayRuns([json.loads(body)["id"] for _, _, body in receiver.requests], kills_at)


def _run_once(env: Mapping[str, str], receiver: Receiver, kill_after: int | None, finished: Callable[[], bool],
              log_path: Path, timeout_s: float) -> bool:
    """One relay process: killed after `kill_after` more deliveries (False), or stopped once `finished()` (True)."""
    kill_at = None if kill_after is None else len(receiver.requests) + kill_after
    with open(log_path, "w") as log:
        # From this checkout's root: `python -m` puts the working folder first on sys.path.
        process = subprocess.Popen(RELAY_COMMAND, env=dict(env), cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = next_look = time.monotonic()
            deadline += timeout_s
            while kill_at is None or len(receiver.requests) < kill_at:
                if time.monotonic() >= next_look:  # the oracle is a query: asked every 50 ms, not every turn
                    if finished():
                        process.terminate()
                        assert process.wait(60) == 0, f"the relay did not stop cleanly: see {log_path}"
                        return True
                    next_look = time.monotonic() + 0.05
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"the relay ended or stalled: see {log_path}")
                time.sleep(0.002)
            process.kill()
            process.wait()
            return False
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()


@dataclass(frozen=True)
class CrashedRelay:
    """A catalog's outbox after a relay was killed while delivering and then finished, and what its consumers got."""

    outbox: dict[str, str]
    """event id -> status of every outbox row, read with SQL once the last relay finished."""
    runs: KilledRelayRuns
    jsonl: Path


def kill_relay_while_it_delivers(folder: Path, database_url: str, *, events: int, kills: int,
                                 deliveries_per_run: int, commit_size: int | None = None) -> CrashedRelay:
    """Fills the outbox of a new catalog at `database_url` with `events` events and subscribes a local webhook
    receiver (~2 ms of work per request), then runs `catalog relay` with `run_relay_with_kills` until the outbox has
    nothing pending. `commit_size` sets CATALOG_EVENTS_RELAY_COMMIT_SIZE (default: the relay's own default)."""
    secret_key, webhook_secret = "relay-crash-key", "relay-crash-webhook-secret"
    jsonl = folder / "events.jsonl"
    settings = Settings(home=folder / "home", database_url=database_url, secret_key=secret_key,
                        webhook_allow_private_networks=True, **FAST_EVENTS)
    ctx = build_context(settings, migrate=True)
    receiver = Receiver(secret=webhook_secret, delay_s=0.002)
    try:
        webhooks.create_subscription(ctx, receiver.url, secret=webhook_secret)
        outbox_backlog(ctx, events)

        def outbox() -> dict[str, str]:
            with ctx.db.engine.connect() as conn:
                return dict(conn.execute(text("select event_id, status from event_outbox")).all())

        env = {**os.environ, "CATALOG_HOME": str(folder / "home"), "CATALOG_DATABASE_URL": database_url,
               "CATALOG_SECRET_KEY": secret_key, "CATALOG_WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true",
               "CATALOG_EVENTS_JSONL_PATH": str(jsonl), "CATALOG_EVENTS_RELAY_INTERVAL_S": "0.1"}
        if commit_size is not None:
            env["CATALOG_EVENTS_RELAY_COMMIT_SIZE"] = str(commit_size)
        runs = run_relay_with_kills(env, receiver, kills=kills, deliveries_per_run=deliveries_per_run, logs=folder,
                                    finished=lambda: "pending" not in outbox().values())
        return CrashedRelay(outbox(), runs, jsonl)
    finally:
        receiver.close()
        ctx.close()
