"""What every service call needs: settings, the catalog database, the secret store, the job runner and the event bus."""

from __future__ import annotations

from dataclasses import dataclass, field

from catalog_api.db.migrate import upgrade
from catalog_api.db.session import Database
from catalog_api.security.secrets import SecretStore, load_or_create_secret_key
from catalog_api.services.jobs import InProcessJobRunner, JobRunner
from catalog_api.settings import Settings
from events import InProcessBus


@dataclass
class ServiceContext:
    """The application's composition root, built once per process from `Settings`."""

    settings: Settings
    db: Database
    secrets: SecretStore
    jobs: JobRunner = field(default=None)  # type: ignore[assignment]
    bus: InProcessBus = field(default_factory=InProcessBus)
    """This process's live feed of published events (GraphQL subscriptions, SSE); the relay feeds it."""

    @classmethod
    def create(
        cls, settings: Settings, *, migrate: bool | None = None, runner: str | None = None
    ) -> "ServiceContext":
        """Builds the context; `runner` is "in-process" or "broker" (default: "broker" when a broker URL is set)."""
        url = settings.effective_database_url
        if settings.auto_migrate if migrate is None else migrate:
            upgrade(url)
        secret_key = load_or_create_secret_key(settings.secret_key, settings.home)
        context = cls(settings=settings, db=Database(url), secrets=SecretStore(secret_key))
        if (runner or ("broker" if settings.broker_url else "in-process")) == "broker":
            from catalog_api.worker import DramatiqJobRunner

            context.jobs = DramatiqJobRunner(settings)
        else:
            context.jobs = InProcessJobRunner(context, max_workers=settings.job_workers)
        return context

    def close(self) -> None:
        self.bus.close()
        self.jobs.shutdown()
        self.db.dispose()
