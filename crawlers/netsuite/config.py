"""The registration of one NetSuite account: where it is, how to authenticate, which record types to catalogue."""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    Field,
    SecretStr,
    ValidationError,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from crawlers.scope import ScopedConfig

AuthMethod = Literal["tba", "oauth2_client_credentials"]
JwtAlgorithm = Literal["PS256", "RS256", "ES256"]

RECORD_TYPE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
"""A record type name. Anything else is refused, so a name can be placed into a SuiteQL statement or a URL path."""

# Production "1234567", sandbox "1234567_SB1" (or "1234567-sb1" as the host spells it), test drive "TSTDRV1234567".
_ACCOUNT_ID = re.compile(r"^[A-Za-z0-9]+(?:[_-][A-Za-z0-9]+)?$")
_LOOPBACK_NAMES = {"localhost"}

SECRET_FIELDS = frozenset({"consumer_secret", "token_secret", "private_key"})
_REQUIRED_BY_AUTH: dict[str, tuple[str, ...]] = {
    "tba": ("consumer_key", "consumer_secret", "token_id", "token_secret"),
    "oauth2_client_credentials": ("client_id", "certificate_id", "private_key"),
}


def _record_type(value: str) -> str:
    if not RECORD_TYPE.match(value):
        raise ValueError("a record type starts with a letter and holds only letters, digits and `_`")
    return value


RecordType = Annotated[str, Field(min_length=1, max_length=100), AfterValidator(_record_type)]


def canonical_account_id(value: str) -> str:
    """NetSuite's own spelling of an account id, also used as the OAuth realm: upper case, `_` before a suffix."""
    return value.strip().upper().replace("-", "_")


def default_base_url(account_id: str) -> str:
    """The account-specific REST domain: the account id in lower case with `_` written as `-`."""
    return f"https://{account_id.lower().replace('_', '-')}.suitetalk.api.netsuite.com"


class NetsuiteConfig(ScopedConfig):
    """How to reach one NetSuite account through SuiteTalk REST, and which record types to catalogue.

    `record_types` is a required allow-list: discovering every record type of an account is slow (one metadata
    request each, several seconds for large records), so the registration names the ones that matter.
    """

    account_id: str = Field(min_length=1, max_length=40)
    base_url: str | None = Field(default=None, max_length=255)
    """Defaults to `https://<account>.suitetalk.api.netsuite.com`; plain http is accepted for loopback hosts only."""
    record_types: list[RecordType] = Field(min_length=1, max_length=200)
    auth: AuthMethod

    # Token-based authentication (OAuth 1.0a, HMAC-SHA256).
    consumer_key: str | None = Field(default=None, min_length=1, max_length=256)
    token_id: str | None = Field(default=None, min_length=1, max_length=256)
    consumer_secret: SecretStr | None = None
    token_secret: SecretStr | None = None

    # OAuth 2.0 client credentials (machine to machine): a JWT assertion signed with the certificate's private key.
    client_id: str | None = Field(default=None, min_length=1, max_length=256)
    certificate_id: str | None = Field(default=None, min_length=1, max_length=256)
    private_key: SecretStr | None = None
    jwt_algorithm: JwtAlgorithm | None = None
    """Defaults to PS256 for an RSA key and ES256 for an EC P-256 key."""

    page_size: int = Field(default=1000, ge=1, le=1000)
    timeout_s: float = Field(default=60.0, gt=0, le=900)
    max_retries: int = Field(default=5, ge=0, le=20)
    backoff_initial_s: float = Field(default=1.0, ge=0, le=60)
    backoff_max_s: float = Field(default=60.0, ge=0, le=600)

    @field_validator("account_id")
    @classmethod
    def _canonical_account(cls, value: str) -> str:
        if not _ACCOUNT_ID.match(value):
            raise ValueError("an account id looks like `1234567`, `1234567_SB1` or `TSTDRV1234567`")
        return canonical_account_id(value)

    @field_validator("base_url")
    @classmethod
    def _valid_base_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValueError("must be an absolute http(s) URL such as https://1234567.suitetalk.api.netsuite.com")
        if parts.query or parts.fragment or parts.username or parts.password:
            raise ValueError("must not carry a query, a fragment or credentials")
        if parts.scheme == "http" and not _is_loopback(parts.hostname):
            raise ValueError("must use https (plain http is accepted for loopback addresses only)")
        return value.rstrip("/")

    @field_validator("record_types")
    @classmethod
    def _unique_record_types(cls, values: list[str]) -> list[str]:
        seen: dict[str, int] = {}
        for index, name in enumerate(values):
            first = seen.setdefault(name.lower(), index)
            if first != index:
                raise ValueError(f"entry {index} ({name!r}) repeats entry {first}; record types are case-insensitive")
        return values

    # The inherited `str_strip_whitespace` would strip secrets too; keep what the user gave, byte for byte.
    @field_validator("consumer_secret", "token_secret", "private_key", mode="wrap")
    @classmethod
    def _keep_secret_verbatim(cls, value: Any, handler: ValidatorFunctionWrapHandler) -> SecretStr | None:
        if isinstance(value, str):
            return SecretStr(value)
        return handler(value)

    @model_validator(mode="after")
    def _credentials_for_auth(self) -> NetsuiteConfig:
        missing = [name for name in _REQUIRED_BY_AUTH[self.auth] if getattr(self, name) is None]
        if missing:
            raise ValidationError.from_exception_data(
                type(self).__name__,
                [
                    InitErrorDetails(
                        type=PydanticCustomError(
                            "missing_for_auth", "required when auth is {auth!r}", {"auth": self.auth}
                        ),
                        loc=(name,),
                        input=None,
                    )
                    for name in missing
                ],
            )
        return self

    @property
    def realm(self) -> str:
        return self.account_id

    @property
    def effective_base_url(self) -> str:
        return self.base_url or default_base_url(self.account_id)

    def record_type_index(self, name: str) -> int | None:
        """Position of `name` in `record_types` (case-insensitive), to name the offending entry in an error."""
        lowered = name.lower()
        return next((i for i, t in enumerate(self.record_types) if t.lower() == lowered), None)


def _is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
