"""What every service call needs: settings, the catalog database, the secret store, the job runner, the job
handlers and the event bus. `catalog_api.bootstrap` builds it; services only read it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from catalog_api.db.session import Database
from catalog_api.security.secrets import SecretStore
from catalog_api.services.inflight import InFlight
from catalog_api.settings import Settings
from events.bus import InProcessBus
from events.resolver import Resolver, system_resolver


class JobRunner(Protocol):
    """Delivers job ids to `run_job`: the in-process thread pool, or dramatiq workers through a broker. Once the
    process is stopping, the in-process pool takes nothing more (the next start submits what is queued)."""

    name: str

    def submit(self, job_id: str, kind: str, delay_s: float = 0) -> None: ...

    def ping(self) -> None:
        """Returns when jobs can be submitted; raises when the runner's broker does not answer."""

    @property
    def attempts_ended(self) -> int:
        """How many job attempts this process's runner has run to their end (0 when they run elsewhere)."""

    def wait_for_attempt_end(self, seen: int, timeout_s: float) -> None:
        """Returns once more than `seen` attempts have ended in this process, or after `timeout_s`."""

    def shutdown(self) -> None: ...


@dataclass
class ServiceContext:
    """One process's services: built once from `Settings` by `catalog_api.bootstrap.build_context`."""

    settings: Settings
    db: Database
    secrets: SecretStore
    handlers: Mapping[str, Callable[..., dict[str, Any]]]
    """The function that runs each job kind, keyed by kind (`catalog_api.bootstrap.JOB_KINDS`)."""
    jobs: JobRunner = field(default=None)  # type: ignore[assignment]  # set by bootstrap: a runner needs the context
    bus: InProcessBus = field(default_factory=InProcessBus)
    """This process's live feed of published events (GraphQL subscriptions, SSE); the relay feeds it."""
    in_flight: InFlight = field(default_factory=InFlight)
    """The job attempts running in this process, and whether it is stopping (SIGTERM: hand them back)."""
    resolve: Resolver = system_resolver
    """How outbound calls (webhooks) resolve host names: the DNS boundary, which tests may script."""

    def close(self) -> None:
        self.bus.close()
        self.jobs.shutdown()
        self.secrets.close()
        self.db.dispose()
