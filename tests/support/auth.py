"""A catalog with `CATALOG_AUTH=required` and one API key per role, for tests that call it as a user would."""

from __future__ import annotations

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
