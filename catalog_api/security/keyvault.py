"""Azure Key Vault secret references: `keyvault:NAME` (the latest version) or `keyvault:NAME/VERSION`.

One vault per catalog (`CATALOG_KEYVAULT_URL`), read with azure-keyvault-secrets' `SecretClient` and
`DefaultAzureCredential` (managed identity or workload identity in Azure, `az login` on a laptop). The identity
needs the *Key Vault Secrets User* role (or an access policy granting `get` on secrets).

- Values are cached per (name, version) for `CATALOG_KEYVAULT_CACHE_TTL_S`, so a crawl of many tables or a busy
  schedule does not read the vault for every connection, and a rotated secret is picked up after at most the TTL.
  `fresh=True` (registration, connection tests) reads the vault whatever the cache holds.
- Throttling (429), server errors and network failures are retried by the SDK's retry policy (honouring the vault's
  `Retry-After`) up to `CATALOG_KEYVAULT_RETRIES` times; what is left raises `SecretStoreUnavailable`, which jobs
  retry. A missing secret, a denied access or a rejected identity raise `SecretUnavailable`: retrying will not help.
- A value never appears in a log line or an error message: messages name the secret, the vault and the cause only.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from catalog_api.errors import SecretStoreUnavailable, SecretUnavailable

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential
    from azure.core.exceptions import AzureError, HttpResponseError
    from azure.keyvault.secrets import SecretClient

    from catalog_api.settings import Settings

log = logging.getLogger(__name__)

# Key Vault's own rules: https://learn.microsoft.com/azure/key-vault/general/about-keys-secrets-certificates
_NAME = re.compile(r"[0-9A-Za-z-]{1,127}")
_VERSION = re.compile(r"[0-9A-Fa-f]{32}")
SYNTAX = ("a Key Vault reference looks like 'keyvault:NAME' or 'keyvault:NAME/VERSION': NAME has 1 to 127 letters, "
          "digits and '-', VERSION is 32 hexadecimal digits")
ROLE_HINT = "the catalog's identity needs the Key Vault Secrets User role on the vault"


@dataclass(frozen=True, slots=True)
class KeyVaultReference:
    """A secret in the catalog's vault: its name and, optionally, a pinned version."""

    name: str
    version: str | None = None

    @classmethod
    def parse(cls, text: str) -> KeyVaultReference:
        """Parses what follows `keyvault:`; raises ValueError with the syntax when it is malformed."""
        name, slash, version = text.partition("/")
        if not _NAME.fullmatch(name) or (slash and not _VERSION.fullmatch(version)):
            raise ValueError(SYNTAX)
        return cls(name, version or None)

    @property
    def cache_key(self) -> tuple[str, str]:
        # The vault treats names and versions case-insensitively; so does the cache.
        return self.name.lower(), (self.version or "").lower()

    def __str__(self) -> str:
        return f"{self.name}/{self.version}" if self.version else self.name


class KeyVaultSecrets:
    """Reads secrets from one Azure Key Vault through a single `SecretClient`, built on first use, with a TTL cache.

    `credential` defaults to `DefaultAzureCredential()`. `client_options` go to `SecretClient` unchanged; tests
    use them to trust a local certificate authority (`connection_verify`) and to accept a vault that is not on an
    Azure domain (`verify_challenge_resource=False`). Production passes neither. `clock` (monotonic seconds) times
    the cache; it is injectable so that a test moves time instead of sleeping.
    """

    def __init__(self, vault_url: str, *, cache_ttl_s: float = 300, timeout_s: float = 10, retries: int = 3,
                 credential: TokenCredential | None = None, clock: Callable[[], float] = time.monotonic,
                 **client_options: Any) -> None:
        self.vault_url = vault_url.rstrip("/")
        self._ttl_s = cache_ttl_s
        self._clock = clock
        self._credential = credential
        self._client_options = {
            "retry_total": retries, "retry_status": retries, "retry_connect": retries, "retry_read": retries,
            "connection_timeout": timeout_s, "read_timeout": timeout_s, **client_options,
        }
        self._client: SecretClient | None = None
        self._owned_credential: Any = None  # the DefaultAzureCredential built here, closed with the client
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, str], tuple[float, str]] = {}

    @classmethod
    def from_settings(cls, settings: Settings, **client_options: Any) -> KeyVaultSecrets | None:
        """The resolver for `CATALOG_KEYVAULT_URL`, or None when no vault is configured."""
        if not settings.keyvault_url:
            return None
        return cls(settings.keyvault_url, cache_ttl_s=settings.keyvault_cache_ttl_s,
                   timeout_s=settings.keyvault_timeout_s, retries=settings.keyvault_retries, **client_options)

    def get(self, reference: KeyVaultReference, *, fresh: bool = False) -> str:
        """The secret's value: from the cache while it is younger than the TTL (unless `fresh`), else the vault."""
        key = reference.cache_key
        cached = self._cache.get(key)
        if cached is not None and not fresh and self._clock() < cached[0]:
            return cached[1]
        value = self._fetch(reference)
        if self._ttl_s > 0:
            self._cache[key] = (self._clock() + self._ttl_s, value)
        return value

    def forget(self, reference: KeyVaultReference) -> None:
        """Drops the cached value, so the next `get` reads the vault (e.g. after a source refused the value)."""
        self._cache.pop(reference.cache_key, None)

    def close(self) -> None:
        with self._lock:
            client, credential = self._client, self._owned_credential
            self._client = self._owned_credential = None
        self._cache.clear()
        for resource in (client, credential):
            if resource is not None:
                resource.close()

    def _secret_client(self) -> SecretClient:
        with self._lock:
            if self._client is None:
                # Imported on first use: azure-identity is heavy, and most catalogs never reference the vault.
                from azure.keyvault.secrets import SecretClient

                credential = self._credential
                if credential is None:
                    from azure.identity import DefaultAzureCredential

                    credential = self._owned_credential = DefaultAzureCredential()
                self._client = SecretClient(self.vault_url, credential, **self._client_options)
            return self._client

    def _fetch(self, reference: KeyVaultReference) -> str:
        # Imported here, as the client is: azure-core costs every process that starts a tenth of a second.
        from azure.core.exceptions import AzureError

        started = time.monotonic()
        try:
            secret = self._secret_client().get_secret(reference.name, reference.version)
        except AzureError as error:
            # `from None`: an SDK error holds the HTTP response; keep it out of tracebacks and error reports.
            raise self._mapped(reference, error) from None
        log.info("read secret %s from Key Vault %s in %.0f ms", reference, self.vault_url,
                 (time.monotonic() - started) * 1000)
        if secret.value is None:
            raise SecretUnavailable(f"secret {reference} in Key Vault {self.vault_url} has no value")
        return secret.value

    def _mapped(self, reference: KeyVaultReference, error: AzureError) -> SecretUnavailable | SecretStoreUnavailable:
        from azure.core.exceptions import (
            ClientAuthenticationError,
            HttpResponseError,
            ResourceNotFoundError,
            ServiceRequestError,
            ServiceResponseError,
        )

        where = f"Key Vault {self.vault_url}"
        if isinstance(error, ResourceNotFoundError):
            return SecretUnavailable(f"secret {reference} not found in {where}")
        if isinstance(error, ClientAuthenticationError) and getattr(error, "response", None) is None:
            # Raised by the credential before any request reached the vault: no identity, or Entra ID said no.
            return SecretUnavailable(f"no Azure identity could sign in to {where}: {_brief(error.message)}")
        if isinstance(error, HttpResponseError):
            status, code = error.status_code, _vault_code(error)
            if status == 401:
                return SecretUnavailable(f"{where} rejected the catalog's identity (401 {code}); {ROLE_HINT}")
            if status == 403 and code == "SecretDisabled":
                return SecretUnavailable(f"secret {reference} is disabled in {where}")
            if status == 403:
                return SecretUnavailable(f"access denied to secret {reference} in {where} ({code}): {ROLE_HINT}")
            if status == 429 or (status or 0) >= 500:
                return SecretStoreUnavailable(
                    f"{where} answered {status} ({code}) for secret {reference}, still after "
                    f"{self._client_options['retry_total']} retries; try again later")
            return SecretUnavailable(f"{where} answered {status} ({code}) for secret {reference}")
        if isinstance(error, (ServiceRequestError, ServiceResponseError)):
            return SecretStoreUnavailable(f"{where} did not answer ({type(error).__name__}): "
                                          f"{_brief(error.message)}")
        return SecretUnavailable(f"reading secret {reference} from {where} failed: {type(error).__name__}")


def _vault_code(error: HttpResponseError) -> str:
    """The vault's most specific error code, e.g. `SecretDisabled` inside a `Forbidden`, or `ForbiddenByRbac`."""
    odata = getattr(error, "error", None)
    inner = getattr(odata, "innererror", None) or {}
    return str(inner.get("code") or getattr(odata, "code", None) or error.reason or "error")


def _brief(text: str | None, limit: int = 1500) -> str:
    """The SDK's message on one line, bounded: credential chains explain themselves over many lines."""
    return " ".join((text or "no detail").split())[:limit]
