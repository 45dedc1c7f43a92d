"""What every service call needs: settings, the catalog database, the secret store and the job runner."""

from __future__ import annotations

from dataclasses import dataclass, field

from catalog_api.db.migrate import upgrade
from catalog_api.db.session import Database
from catalog_api.security.secrets import SecretStore, load_or_create_secret_key
from catalog_api.services.jobs import InProcessJobRunner, JobRunner
from catalog_api.settings import Settings


@dataclass
class ServiceContext:
    """The application's composition root, built once per process from `Settings`."""

    settings: Settings
    db: Database
    secrets: SecretStore
    jobs: JobRunner = field(default=None)  # type: ignore[assignment]

    @classmethod
    def create(cls, settings: Settings, *, migrate: bool | None = None) -> "ServiceContext":
        url = settings.effective_database_url
        if settings.auto_migrate if migrate is None else migrate:
            upgrade(url)
        secret_key = load_or_create_secret_key(settings.secret_key, settings.home)
        context = cls(settings=settings, db=Database(url), secrets=SecretStore(secret_key))
        context.jobs = InProcessJobRunner(context, max_workers=settings.job_workers)
        return context

    def close(self) -> None:
        self.jobs.shutdown()
        self.db.dispose()
