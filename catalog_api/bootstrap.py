"""The composition root: the one place that builds a process's services from its settings.

It migrates the catalog database (when asked), opens it, loads the secret store (with the Key Vault resolver when
`CATALOG_KEYVAULT_URL` is set), registers the handler of every job kind and picks the job runner. Transports (`app`,
`cli`, `worker`) call `build_context`; nothing else constructs a `ServiceContext`, a runner or a handler registry.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from catalog_api.db.migrate import upgrade_unless_at_head
from catalog_api.db.session import Database
from catalog_api.settings import Settings

if TYPE_CHECKING:
    from catalog_api.services.context import ServiceContext
    from catalog_api.services.jobs.running import JobControl, JobHandler

# The handlers import their service when the process runs its first job of the kind, and `build_context` the job
# machinery when it is called: the crawlers, pyarrow and the profiler stay unloaded in a command that runs no job,
# and a command that only reads the catalog (`catalog source list`, through `open_database`) loads neither the secret
# store, the job runners nor the event bus (tests/catalog_api/cli/test_startup.py).

def _crawl(ctx: ServiceContext, control: JobControl) -> dict[str, Any]:
    from catalog_api.services.crawl import run_crawl_job

    return run_crawl_job(ctx, control)


def _extract(ctx: ServiceContext, control: JobControl) -> dict[str, Any]:
    from catalog_api.services.backfill import run_extraction_job  # an extraction, or a backfill of one table

    return run_extraction_job(ctx, control)


def _profile(ctx: ServiceContext, control: JobControl) -> dict[str, Any]:
    from catalog_api.services.profiling.jobs import run_profile_job
    from catalog_api.services.quality.aggregates import PROFILE_RULES

    return run_profile_job(ctx, control, rules=PROFILE_RULES)


def _ping(ctx: ServiceContext, control: JobControl) -> dict[str, Any]:
    from catalog_api.services.jobs.running import run_ping_job

    return run_ping_job(ctx, control)


def _report(ctx: ServiceContext, control: JobControl) -> dict[str, Any]:
    from catalog_api.services.profiling.report_jobs import run_report_job

    return run_report_job(ctx, control)


def _quality(ctx: ServiceContext, control: JobControl) -> dict[str, Any]:
    from catalog_api.services.quality.evaluation import run_quality_job

    return run_quality_job(ctx, control)


@dataclass(frozen=True, slots=True)
class JobKind:
    """How jobs of one kind run: the handler, and the broker queue its messages travel on."""

    handler: JobHandler
    queue: str


JOB_KINDS: Mapping[str, JobKind] = {
    "crawl": JobKind(_crawl, queue="crawl"),
    "extract": JobKind(_extract, queue="extract"),
    "profile": JobKind(_profile, queue="profile"),
    # On the profile queue: its workers share the home the profile job staged the samples in.
    "report": JobKind(_report, queue="profile"),
    # Freshness and custom-SQL rules: a few read-only queries each, never behind a long profile.
    "quality": JobKind(_quality, queue="default"),
    # Travels through the runner and does nothing: checks that a worker is alive, and measures throughput.
    "ping": JobKind(_ping, queue="default"),
}
JOB_QUEUES: Mapping[str, str] = {kind: spec.queue for kind, spec in JOB_KINDS.items()}


def open_database(settings: Settings, *, migrate: bool | None = None) -> Database:
    """The catalog database alone, migrated first unless at head (`migrate` defaults to `settings.auto_migrate`):
    all a command that only reads the catalog needs, and the first step of `build_context`."""
    database = Database(settings.effective_database_url, settings.catalog_statement_timeout_ms)
    try:
        if settings.auto_migrate if migrate is None else migrate:
            upgrade_unless_at_head(database.url, database.engine)
    except BaseException:
        database.dispose()
        raise
    return database


def build_context(settings: Settings, *, migrate: bool | None = None,
                  runner: Literal["in-process", "broker"] | None = None) -> ServiceContext:
    """Builds a process's services. `migrate` defaults to `settings.auto_migrate`; `runner` to "broker" when a broker
    URL is set, else "in-process" (jobs run on this process's thread pool)."""
    from catalog_api.security.keyvault import KeyVaultSecrets
    from catalog_api.security.secrets import SecretStore, load_or_create_secret_key
    from catalog_api.services.context import ServiceContext
    from catalog_api.services.jobs.runners import InProcessJobRunner

    db = open_database(settings, migrate=migrate)
    try:
        secrets = SecretStore(load_or_create_secret_key(settings.secret_key, settings.home),
                              KeyVaultSecrets.from_settings(settings))
    except BaseException:
        db.dispose()
        raise
    context = ServiceContext(settings=settings, db=db, secrets=secrets,
                             handlers={kind: spec.handler for kind, spec in JOB_KINDS.items()})
    if (runner or ("broker" if settings.broker_url else "in-process")) == "broker":
        from catalog_api.services.jobs.broker import DramatiqJobRunner  # imports dramatiq's brokers only when used
        from catalog_api.services.jobs.running import run_job

        def run(job_id: str) -> None:
            run_job(context, job_id)

        context.jobs = DramatiqJobRunner(settings, JOB_QUEUES, run)
    else:
        context.jobs = InProcessJobRunner(context, max_workers=settings.job_workers)
    return context
