"""Secret references: how a source's credentials are held without the catalog ever storing them in plaintext.

A reference is one of:
- `env:NAME`: read from the service's environment variable NAME when a connection is made;
- `local:ID`: a value the user handed over raw, encrypted (Fernet) with the key from `CATALOG_SECRET_KEY`
  and kept in the `local_secrets` table;
- `keyvault:NAME` or `keyvault:NAME/VERSION`: read from the Azure Key Vault named by `CATALOG_KEYVAULT_URL`
  (`catalog_api.security.keyvault`), cached for a while.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import secrets as std_secrets
from collections.abc import Iterable
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy.orm import Session

from catalog_api.db.models import LocalSecret
from catalog_api.errors import InvalidInput, SecretUnavailable
from catalog_api.security.keyvault import KeyVaultReference, KeyVaultSecrets

_ENV_NAME = re.compile(r"[A-Za-z0-9_.\-]{1,256}")


def validate_reference(reference: str, field: str) -> str:
    """The reference if a user may give it (`env:` or `keyvault:`, well formed); else `InvalidInput` on `field`."""
    scheme, _, body = (reference or "").partition(":")
    if scheme == "local":
        raise InvalidInput(field, "'local:' references are created by the catalog; pass the raw value in `secrets`")
    if scheme == "keyvault":
        try:
            KeyVaultReference.parse(body)
        except ValueError as error:
            raise InvalidInput(field, str(error)) from None
    elif scheme != "env" or not _ENV_NAME.fullmatch(body):
        raise InvalidInput(field, "a secret reference looks like 'env:NAME', 'keyvault:NAME' or "
                                  "'keyvault:NAME/VERSION'")
    return reference


def _fernet_key(secret_key: str) -> bytes:
    # Fernet wants 32 url-safe base64 bytes; derive them so any passphrase works as CATALOG_SECRET_KEY.
    return base64.urlsafe_b64encode(hashlib.sha256(("catalog-local-secrets:" + secret_key).encode()).digest())


def load_or_create_secret_key(configured: str | None, home: Path) -> str:
    """The configured key, or a random one kept (mode 0600) in `<home>/secret.key` for the embedded default."""
    if configured:
        return configured
    path = home / "secret.key"
    if path.exists():
        return path.read_text().strip()
    home.mkdir(parents=True, exist_ok=True)
    key = std_secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


class SecretStore:
    """Stores raw values encrypted and resolves references back to values, only when a connection needs them.

    `keyvault` reads `keyvault:` references; without it (no `CATALOG_KEYVAULT_URL`) they are unavailable.
    """

    def __init__(self, secret_key: str, keyvault: KeyVaultSecrets | None = None) -> None:
        self._fernet = Fernet(_fernet_key(secret_key))
        self.keyvault = keyvault

    def put(self, session: Session, value: str) -> str:
        entry = LocalSecret(ciphertext=self._fernet.encrypt(value.encode()))
        session.add(entry)
        session.flush()
        return f"local:{entry.id}"

    def delete(self, session: Session, reference: str) -> None:
        if reference.startswith("local:"):
            entry = session.get(LocalSecret, reference.removeprefix("local:"))
            if entry is not None:
                session.delete(entry)

    def resolve(self, session: Session, reference: str, *, fresh: bool = False) -> str:
        """The value behind `reference`. `fresh` skips any cache (Key Vault): registration and connection tests
        prove the secret is readable now, and see a rotation at once."""
        scheme, _, name = reference.partition(":")
        if scheme == "env":
            value = os.environ.get(name)
            if value is None:
                raise SecretUnavailable(f"environment variable {name} (from secret reference {reference}) is not set")
            return value
        if scheme == "local":
            entry = session.get(LocalSecret, name)
            if entry is None:
                raise SecretUnavailable(f"local secret {reference} no longer exists; set the credential again")
            try:
                return self._fernet.decrypt(entry.ciphertext).decode()
            except InvalidToken:
                raise SecretUnavailable(
                    f"local secret {reference} cannot be decrypted: CATALOG_SECRET_KEY changed since it was stored"
                ) from None
        if scheme == "keyvault":
            return self._vault(reference).get(self._vault_reference(reference), fresh=fresh)
        raise SecretUnavailable(f"unknown secret reference scheme in {reference!r}")

    def forget(self, references: Iterable[str]) -> None:
        """Drops cached values of these references, so the next connection reads them again: a source that
        refused a value may have had its password rotated since it was read."""
        for reference in references:
            if reference.startswith("keyvault:") and self.keyvault is not None:
                self.keyvault.forget(self._vault_reference(reference))

    def close(self) -> None:
        if self.keyvault is not None:
            self.keyvault.close()

    def _vault(self, reference: str) -> KeyVaultSecrets:
        if self.keyvault is None:
            raise SecretUnavailable(f"secret reference {reference} needs Azure Key Vault, but no vault is configured "
                                    "(set CATALOG_KEYVAULT_URL)")
        return self.keyvault

    @staticmethod
    def _vault_reference(reference: str) -> KeyVaultReference:
        try:
            return KeyVaultReference.parse(reference.removeprefix("keyvault:"))
        except ValueError as error:
            raise SecretUnavailable(f"secret reference {reference}: {error}") from None
