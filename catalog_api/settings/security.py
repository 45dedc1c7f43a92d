"""The settings of who may call the catalog and how much they may ask: authentication, Entra ID tokens, Key Vault
secret references, the local folders sources may read, rate limits and request limits (docs/security.md).

A part of `catalog_api.settings.Settings`, which reads them from `CATALOG_*` environment variables like the rest."""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings


class SecuritySettings(BaseSettings):
    """Mixed into `Settings`; not read on its own."""

    # -- authentication (docs/security.md) --
    auth: Literal["required", "none"] = Field(
        default="none",
        description="`required`: every caller presents an API key or an Entra ID token; `none`: every caller is the "
                    "local operator, allowed only on a loopback address (see auth_none_off_loopback).",
    )
    auth_none_off_loopback: bool = Field(
        default=False,
        description="Force `auth=none` on a non-loopback address (logged as a warning): only behind a gateway that "
                    "authenticates for the catalog.",
    )

    # -- Microsoft Entra ID bearer tokens (docs/security.md, catalog_api/security/entra.py) --
    entra_tenant_id: str | None = Field(
        default=None,
        description="Directory (tenant) id whose access tokens the catalog accepts; unset: no Entra ID sign-in.",
    )
    entra_audience: list[str] = Field(
        default_factory=list,
        description="Accepted `aud` values (JSON list): the API's Application ID URI (v1 tokens) and/or its client id "
                    "(v2 tokens).",
    )
    entra_authority: str = Field(
        default="https://login.microsoftonline.com",
        description="Entra ID authority host; change it for a sovereign cloud (e.g. https://login.microsoftonline.us).",
    )
    entra_jwks_url: str | None = Field(
        default=None, description="The tenant's signing keys; default `{authority}/{tenant}/discovery/v2.0/keys`."
    )
    entra_issuers: list[str] = Field(
        default_factory=list,
        description="Accepted `iss` values (JSON list); default the tenant's v2 issuer `{authority}/{tenant}/v2.0` "
                    "and v1 issuer `https://sts.windows.net/{tenant}/`.",
    )
    entra_role_map: dict[str, list[str]] = Field(
        default_factory=lambda: {
            "Catalog.Viewer": ["viewer"], "Catalog.Curator": ["curator"], "Catalog.Operator": ["operator"],
            "Catalog.Admin": ["admin"], "Catalog.PiiReader": ["pii:read"],
        },
        description="App role value in the token's `roles` claim → catalog roles (viewer, curator, operator, admin, "
                    "pii:read).",
    )
    entra_group_map: dict[str, list[str]] = Field(
        default_factory=dict, description="Group object id in the token's `groups` claim → catalog roles."
    )
    entra_jwks_cache_s: float = Field(
        default=3600, gt=0, description="Age after which the signing keys are fetched again (a removed key is "
                                        "refused at the latest this long after Microsoft drops it).",
    )
    entra_jwks_refresh_interval_s: float = Field(
        default=300, ge=0, description="Shortest time between two fetches of the signing keys, whatever asks for "
                                       "them (tokens naming unknown keys, a failed fetch).",
    )
    entra_jwks_timeout_s: float = Field(default=5, gt=0, description="Timeout of one signing-key fetch.")
    entra_clock_leeway_s: float = Field(
        default=60, ge=0, le=600, description="Clock skew tolerated on a token's `exp`, `nbf` and `iat`."
    )

    # -- Azure Key Vault secret references (docs/operations.md#secrets) --
    keyvault_url: str | None = Field(
        default=None,
        description="`https://<name>.vault.azure.net/`: resolve `keyvault:NAME` secret references from this vault "
                    "with DefaultAzureCredential; unset, such references are refused.",
    )
    keyvault_cache_ttl_s: float = Field(
        default=300, ge=0, le=86_400,
        description="How long a value read from Key Vault is reused; a rotated secret is picked up after at most "
                    "this long (0: read the vault for every connection).",
    )
    keyvault_timeout_s: float = Field(default=10, gt=0, le=300, description="Connect and read timeout per Key Vault "
                                      "request.")
    keyvault_retries: int = Field(
        default=3, ge=0, le=10,
        description="Retries of a throttled (429, waiting as its Retry-After says), failing (5xx) or unanswered Key "
                    "Vault request before the resolution fails as transient.",
    )

    # -- local files sources may read (docs/operations.md#local-files) --
    file_roots: list[Path] = Field(
        default_factory=lambda: [Path("sources")],
        description="Folders under which sources may read local files (a SQLite database, a files folder), as a "
                    'JSON list, e.g. `["/srv/data", "/mnt/exports"]`; `[]` allows none. Default `./sources`. The '
                    "catalog's own files (its home, its database, lake and events file) are refused even inside one.",
    )

    @field_validator("keyvault_url")
    @classmethod
    def _vault_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        parts = urlsplit(value)
        if parts.scheme != "https" or not parts.hostname or parts.path.strip("/") or parts.query or parts.username:
            raise ValueError("the vault URL looks like https://<name>.vault.azure.net/")
        return value

    # -- rate limits (catalog_api/security/ratelimit.py, docs/security.md) --
    # A caller is an authenticated identity's actor, else its client address. The defaults sit far above what a
    # person clicking through the UI or GraphiQL sends, and above the 20 polls per second of the test helpers, but a
    # flood of 300 requests in 1.8 s gets about 160 answers of 429.
    rate_limit_per_s: float = Field(
        default=20.0, ge=0,
        description="Requests per second a caller may sustain (the refill rate of its token bucket); 0 turns rate "
                    "limiting off.",
    )
    rate_limit_burst: int = Field(
        default=100, ge=1, le=1_000_000,
        description="Requests a caller may send at once before the sustained rate applies (the bucket's capacity).",
    )
    rate_limit_redis_url: str | None = Field(
        default=None,
        description="`redis://…` to share every caller's bucket between all instances; unset keeps buckets in this "
                    "process (each instance then limits on its own).",
    )

    @field_validator("rate_limit_redis_url")
    @classmethod
    def _redis_url(cls, url: str | None) -> str | None:
        # Checked here so that a typo stops the service at start instead of failing over on every request.
        if url and not url.lower().startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return url

    # -- request limits and browser safety (docs/security.md) --
    graphql_max_tokens: int = Field(
        default=2_000, ge=100,
        description="GraphQL documents with more lexical tokens (comments included) are refused while parsing, "
                    "before any syntax tree is built.",
    )
    graphql_max_aliases: int = Field(
        default=100, ge=0, description="GraphQL documents with more aliased fields are refused before they run."
    )
    graphql_max_depth: int = Field(
        # sources → schemas → tables → columns → tags is 13 levels; introspection is not counted.
        default=20, ge=1, le=100, description="Deepest GraphQL selection allowed (introspection not counted).",
    )
    graphql_max_fields: int = Field(
        default=2_000, ge=10,
        description="Fields a GraphQL operation may select once its fragments are expanded; a field repeated n "
                    "times under one parent counts n² (validation compares every pair).",
    )
    graphql_max_cost: int = Field(
        default=100_000_000, ge=1,
        description="Budget of a GraphQL operation's estimated cost: each field counts 1, and a list or connection "
                    "field multiplies its selection by its `first`/`limit` (or the list size below).",
    )
    graphql_default_list_size: int = Field(
        default=100, ge=1,
        description="Items the GraphQL cost assumes for a list field without a `first`/`limit` argument value.",
    )
    max_request_body_bytes: int = Field(
        default=1024 * 1024, ge=1024,
        description="Largest request body (streamed or not) and GraphQL WebSocket message accepted; larger: 413.",
    )
    catalog_statement_timeout_ms: int = Field(
        default=30_000, ge=0,
        description="Statements on the catalog database taking longer are cancelled (0: no limit). Migrations "
                    "and the event fan-out's LISTEN connection are not limited.",
    )
    cors_allow_origins: list[str] = Field(
        default_factory=list,
        description="Browser origins (e.g. `https://catalog.example.com`) allowed to call the API cross-origin "
                    "and open GraphQL WebSockets; empty: none (no CORS headers are sent).",
    )
