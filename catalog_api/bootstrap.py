"""The composition root: the one place that builds a process's services from its settings.

It migrates the catalog database (when asked), opens it, loads the secret store (with the Key Vault resolver when
`CATALOG_KEYVAULT_URL` is set), registers the handler of every job kind and picks the job runner. Transports (`app`, `cli`, `worker`) call `build_context`; nothing else
constructs a `ServiceContext`, a runner or a handler registry.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from importlib import import_module
from typing import Any, Literal

from catalog_api.db.migrate import upgrade_unless_at_head
from catalog_api.db.session import Database
from catalog_api.security.keyvault import KeyVaultSecrets
from catalog_api.security.secrets import SecretStore, load_or_create_secret_key
from catalog_api.services.context import ServiceContext
from catalog_api.services.jobs.runners import InProcessJobRunner
from catalog_api.services.jobs.running import JobControl, run_job
from catalog_api.settings import Settings


@dataclass(frozen=True, slots=True)
class JobKind:
    """How jobs of one kind run: the handler, as `module:function`, and the broker queue its messages travel on.

    The handler is named rather than imported so that its module (the crawlers, pyarrow, the profiler) loads when
    the process runs its first job of the kind: a command that runs no job, such as `catalog source list`, starts
    without them.
    """

    handler: str
    queue: str

    def run(self, ctx: ServiceContext, control: JobControl) -> dict[str, Any]:
        module, _, function = self.handler.partition(":")
        return getattr(import_module(module), function)(ctx, control)


JOB_KINDS: Mapping[str, JobKind] = {
    "crawl": JobKind("catalog_api.services.crawl:run_crawl_job", queue="crawl"),
    "extract": JobKind("catalog_api.services.extraction:run_extract_job", queue="extract"),
    "profile": JobKind("catalog_api.services.profiling.jobs:run_profile_job", queue="profile"),
    # Travels through the runner and does nothing: checks that a worker is alive, and measures throughput.
    "ping": JobKind("catalog_api.services.jobs.running:run_ping_job", queue="default"),
}
JOB_QUEUES: Mapping[str, str] = {kind: spec.queue for kind, spec in JOB_KINDS.items()}


def build_context(settings: Settings, *, migrate: bool | None = None,
                  runner: Literal["in-process", "broker"] | None = None) -> ServiceContext:
    """Builds a process's services. `migrate` defaults to `settings.auto_migrate`; `runner` to "broker" when a broker
    URL is set, else "in-process" (jobs run on this process's thread pool)."""
    url = settings.effective_database_url
    if settings.auto_migrate if migrate is None else migrate:
        upgrade_unless_at_head(url)
    secret_key = load_or_create_secret_key(settings.secret_key, settings.home)
    secrets = SecretStore(secret_key, KeyVaultSecrets.from_settings(settings))
    context = ServiceContext(settings=settings, db=Database(url, settings.catalog_statement_timeout_ms),
                             secrets=secrets,
                             handlers={kind: spec.run for kind, spec in JOB_KINDS.items()})
    if (runner or ("broker" if settings.broker_url else "in-process")) == "broker":
        from catalog_api.services.jobs.broker import DramatiqJobRunner  # imports dramatiq's brokers only when used

        def run(job_id: str) -> None:
            run_job(context, job_id)

        context.jobs = DramatiqJobRunner(settings, JOB_QUEUES, run)
    else:
        context.jobs = InProcessJobRunner(context, max_workers=settings.job_workers)
    return context
