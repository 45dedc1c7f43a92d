"""`catalog relay` as a separate process, killed with SIGKILL while it delivers and started again, as a crashing
machine would: what its webhook receiver got, run by run (used by the relay's crash tests and its benchmark)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from tests.support.events import Receiver

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
    """Runs `catalog relay` `kills + 1` times: each of the first `kills` runs is killed (SIGKILL) once the receiver
    got `deliveries_per_run` more requests; the last run goes on until `finished()` and stops with SIGTERM."""
    kills_at: list[int] = []
    for run in range(kills + 1):
        started_with = len(receiver.requests)
        with open(logs / f"relay-{run}.log", "w") as log:
            process = subprocess.Popen(RELAY_COMMAND, env=dict(env), stdout=log, stderr=subprocess.STDOUT)
            try:
                deadline = time.monotonic() + timeout_s
                last = run == kills
                while not (finished() if last else len(receiver.requests) >= started_with + deliveries_per_run):
                    if process.poll() is not None or time.monotonic() > deadline:
                        raise AssertionError(f"relay run {run} ended or stalled: see {logs}/relay-{run}.log")
                    time.sleep(0.002)
                if last:
                    process.terminate()
                    assert process.wait(60) == 0, f"the relay did not stop cleanly: see {logs}/relay-{run}.log"
                else:
                    process.kill()
                    process.wait()
                    kills_at.append(len(receiver.requests))
            finally:
                if process.poll() is None:
                    process.kill()
                    process.wait()
    return KilledRelayRuns([json.loads(body)["id"] for _, _, body in receiver.requests], kills_at)
