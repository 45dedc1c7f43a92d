"""A catalog with `CATALOG_AUTH=required` and one API key per role, for tests that call it as a user would; callers
holding a named API key, and an existing catalog served with authentication required."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from catalog_api.bootstrap import build_context
from catalog_api.services import api_keys
from catalog_api.services.context import ServiceContext
from catalog_api.settings import Settings

ROLE_LADDER = ("viewer", "curator", "operator", "admin")


@dataclass
class SecuredCatalog:
    ctx: ServiceContext
    keys: dict[str, str]
    """The whole API key of each role (and `pii` = viewer + pii:read), as a client sends it."""

    def headers(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[who]}"}


def secured_catalog(tmp_path: Path, **settings) -> SecuredCatalog:
    ctx = build_context(Settings(home=tmp_path / "home", secret_key="test-secret-key-not-for-production",
                                 scheduler_enabled=False, broker_url=None, job_max_attempts=1, auth="required",
                                 events_relay_enabled=False, **{"file_roots": [tmp_path], **settings}),
                        migrate=True)
    keys = {role: api_keys.create_key(ctx, f"{role} key", [role]).secret for role in ROLE_LADDER}
    keys["pii"] = api_keys.create_key(ctx, "pii reader", ["viewer", "pii:read"]).secret
    return SecuredCatalog(ctx, keys)


@dataclass(frozen=True)
class KeyHolder:
    """A caller holding one API key: what the audit, jobs and events name it by, and the headers it sends."""

    key_id: str
    name: str
    secret: str

    @property
    def actor(self) -> str:
        return f"api_key:{self.key_id}"

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secret}"}


def key_holder(ctx: ServiceContext, name: str, roles: list[str]) -> KeyHolder:
    """A new API key named `name` with `roles`, as `catalog keys create` makes it."""
    created = api_keys.create_key(ctx, name, roles)
    return KeyHolder(created.key.id, created.key.name, created.secret)


def requiring_auth(ctx: ServiceContext, **settings) -> ServiceContext:
    """`ctx`'s catalog (the same database, job runner and bus) with `auth="required"` and `settings`: the context to
    build an application over, so that each caller is identified by the credentials it sends."""
    return dataclasses.replace(ctx, settings=ctx.settings.model_copy(update={"auth": "required", **settings}))
