"""Secret references: how a source's credentials are held without the catalog ever storing them in plaintext.

A reference is one of:
- `env:NAME`: read from the service's environment variable NAME when a connection is made;
- `local:ID`: a value the user handed over raw, encrypted (Fernet) with the key from `CATALOG_SECRET_KEY`
  and kept in the `local_secrets` table;
- `keyvault:NAME` is reserved for Azure Key Vault and refused until its resolver lands.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import secrets as std_secrets
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy.orm import Session

from catalog_api.db.models import LocalSecret
from catalog_api.errors import CatalogError, InvalidInput

_REFERENCE = re.compile(r"^(env|local|keyvault):([A-Za-z0-9_.\-]{1,256})$")


class SecretUnavailable(CatalogError):
    """A secret reference could not be resolved (variable unset, key changed, store entry missing)."""

    code = "secret_unavailable"
    status = 422


def validate_reference(reference: str, field: str) -> str:
    match = _REFERENCE.match(reference or "")
    if not match:
        raise InvalidInput(field, "a secret reference looks like 'env:NAME' or 'keyvault:NAME'")
    if match.group(1) == "local":
        raise InvalidInput(field, "'local:' references are created by the catalog; pass the raw value in `secrets`")
    if match.group(1) == "keyvault":
        raise InvalidInput(field, "Azure Key Vault references are not supported by this version yet; use 'env:NAME'")
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
    """Stores raw values encrypted and resolves references back to values, only when a connection needs them."""

    def __init__(self, secret_key: str) -> None:
        self._fernet = Fernet(_fernet_key(secret_key))

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

    def resolve(self, session: Session, reference: str) -> str:
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
        raise SecretUnavailable(f"unknown secret reference scheme in {reference!r}")
