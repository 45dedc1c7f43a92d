"""One HTTP session with a NetSuite account: authentication, retries, token refresh and error mapping.

Every request goes through `NetsuiteSession.request`, which counts it (so `SourceSnapshot.queries` is honest),
signs it afresh on every attempt (a TBA nonce may be used once), retries what NetSuite asks to be retried and
turns every failure into a typed `ConnectorError` naming the registration field to look at.

Retried, with exponential backoff plus jitter (tenacity), never sooner than a `Retry-After` header asks: HTTP 429,
NetSuite's concurrency-limit error codes, 5xx and read timeouts or dropped connections. A refused or unresolvable
connection is not retried: waiting does not fix a wrong address.
"""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Self
from urllib.parse import urlencode, urlsplit

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt
from tenacity.wait import wait_base, wait_exponential, wait_random

from crawlers.errors import (
    AuthenticationFailed,
    ConnectorError,
    InvalidSourceConfig,
    PermissionDenied,
    SourceUnreachable,
)
from crawlers.netsuite.auth import TOKEN_PATH, ClientCredentials, TbaSigner
from crawlers.netsuite.config import NetsuiteConfig

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
USER_AGENT = "catalog-crawler (SuiteTalk REST)"
MAX_RETRY_AFTER_S = 600.0

# NetSuite's codes for "too many concurrent requests", whatever the HTTP status they come with: REST answers 429
# (CONCURRENCY_LIMIT_EXCEEDED), RESTlets 400 (SSS_REQUEST_LIMIT_EXCEEDED), SOAP-era faults name the others.
CONCURRENCY_CODES = frozenset(
    {
        "CONCURRENCY_LIMIT_EXCEEDED",
        "SSS_REQUEST_LIMIT_EXCEEDED",
        "REQUEST_LIMIT_EXCEEDED",
        "WS_REQUEST_BLOCKED",
        "WS_CONCUR_SESSION_DISALLWD",
    }
)


class NetsuiteHttpError(ConnectorError):
    """NetSuite refused a request (a 4xx other than 401/403); callers turn it into a more precise error."""

    def __init__(self, message: str, *, status: int, code: str | None, detail: str, query_param: str | None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.detail = detail
        self.query_param = query_param


class _Transient(Exception):
    """An attempt worth repeating; `retry_after` is the server's own wish, in seconds."""

    def __init__(
        self,
        reason: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        limited: bool = False,
        timed_out: bool = False,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.retry_after = retry_after
        self.limited = limited  # refused for the account's concurrency limit, not for a fault
        self.timed_out = timed_out


class BackoffHonouringRetryAfter(wait_base):
    """Exponential backoff with jitter, but never shorter than the `Retry-After` of the failed attempt."""

    def __init__(self, initial_s: float, maximum_s: float) -> None:
        self._backoff = wait_exponential(multiplier=initial_s, max=maximum_s) + wait_random(0, initial_s)

    def __call__(self, retry_state: RetryCallState) -> float:
        backoff = self._backoff(retry_state)
        error = retry_state.outcome.exception() if retry_state.outcome else None
        retry_after = getattr(error, "retry_after", None) or 0.0
        return max(backoff, retry_after)


class NetsuiteSession:
    """Sends authenticated requests to one account's REST domain; use as a context manager."""

    def __init__(
        self,
        config: NetsuiteConfig,
        *,
        sleep: Callable[[float], None] = time.sleep,
        credentials: ClientCredentials | None = None,
    ) -> None:
        """`credentials` lets several sessions share one OAuth 2.0 access token (it lives an hour)."""
        self.config = config
        self.base_url = config.effective_base_url
        self.requests = 0
        self._sleep = sleep
        self._tba = TbaSigner(config) if config.auth == "tba" else None
        self._oauth2 = None
        if config.auth == "oauth2_client_credentials":
            self._oauth2 = credentials or ClientCredentials(config)
        self._client = httpx.Client(timeout=config.timeout_s, follow_redirects=False)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._client.close()

    # -- public ----------------------------------------------------------------------------------------------------

    def get_json(
        self, path: str, params: Mapping[str, str] | None = None, *, accept: str = JSON, field: str | None = None
    ) -> Any:
        return self._json(self.request("GET", path, params=params, accept=accept, field=field))

    def post_json(
        self,
        path: str,
        body: Mapping[str, Any],
        params: Mapping[str, str] | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        field: str | None = None,
    ) -> Any:
        response = self.request(
            "POST", path, params=params, body=json.dumps(body), content_type=JSON, headers=headers, field=field
        )
        return self._json(response)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: str | None = None,
        content_type: str | None = None,
        accept: str = JSON,
        headers: Mapping[str, str] | None = None,
        field: str | None = None,
    ) -> httpx.Response:
        """Send one logical request (retried as needed) and return its 2xx response, or raise a typed error.

        `field` names the registration field a 403 or a 4xx is about (for instance `config.record_types.2`).
        An OAuth 2.0 access token that NetSuite no longer accepts is renewed once and the request sent again.
        """
        url = str(httpx.URL(self.base_url + path, params=dict(params or {})))
        base_headers = {"Accept": accept, "User-Agent": USER_AGENT, **(headers or {})}
        if content_type:
            base_headers["Content-Type"] = content_type
        renewed = False
        while True:
            response = self._send(method, url, body, base_headers, authenticate=True)
            if response.status_code == 401 and self._oauth2 is not None and not renewed:
                self._oauth2.invalidate()
                renewed = True
                continue
            return self._checked(response, field, renewed)

    # -- sending -----------------------------------------------------------------------------------------------------

    def _send(
        self, method: str, url: str, body: str | None, headers: dict[str, str], *, authenticate: bool
    ) -> httpx.Response:
        retrying = Retrying(
            stop=stop_after_attempt(self.config.max_retries + 1),
            wait=BackoffHonouringRetryAfter(self.config.backoff_initial_s, self.config.backoff_max_s),
            retry=retry_if_exception_type(_Transient),
            sleep=self._sleep,
            reraise=True,
        )
        try:
            return retrying(self._attempt, method, url, body, headers, authenticate)
        except _Transient as exhausted:
            raise self._unreachable(exhausted, url) from None

    def _attempt(
        self, method: str, url: str, body: str | None, headers: dict[str, str], authenticate: bool
    ) -> httpx.Response:
        headers = dict(headers)
        if authenticate:
            headers["Authorization"] = self._authorization(method, url, body, headers.get("Content-Type"))
        self.requests += 1
        try:
            response = self._client.request(method, url, content=body, headers=headers)
        except (httpx.ConnectError, httpx.ConnectTimeout) as error:
            raise SourceUnreachable(
                f"cannot connect to NetSuite at {_origin(url)}: {error}", field=self._address_field()
            ) from None
        except httpx.TimeoutException:
            raise _Transient(f"no answer within {self.config.timeout_s:g} s", timed_out=True) from None
        except httpx.TransportError as error:
            raise _Transient(f"the connection failed: {error}") from None
        code, detail, _ = _error_details(response) if response.status_code >= 400 else (None, "", None)
        if response.status_code == 429 or (code in CONCURRENCY_CODES):
            raise _Transient(
                detail or "too many requests",
                status=response.status_code,
                retry_after=_retry_after(response),
                limited=True,
            )
        if response.status_code >= 500:
            raise _Transient(
                detail or response.reason_phrase, status=response.status_code, retry_after=_retry_after(response)
            )
        return response

    def _authorization(self, method: str, url: str, body: str | None, content_type: str | None) -> str:
        if self._tba is not None:
            return self._tba.authorization(method, url, body, content_type)
        assert self._oauth2 is not None
        token = self._oauth2.current() or self._fetch_token()
        return f"Bearer {token}"

    def _fetch_token(self) -> str:
        assert self._oauth2 is not None
        token_url = self.base_url + TOKEN_PATH
        body = urlencode(self._oauth2.token_request_form(token_url))
        headers = {"Accept": JSON, "User-Agent": USER_AGENT, "Content-Type": FORM}
        response = self._send("POST", token_url, body, headers, authenticate=False)
        if response.status_code != 200:
            error, description = _oauth_error(response)
            raise AuthenticationFailed(
                f"NetSuite refused to issue an OAuth 2.0 access token (HTTP {response.status_code}: {error}"
                f"{': ' + description if description else ''}) for client_id {self.config.client_id!r} and "
                f"certificate_id {self.config.certificate_id!r}: check that the certificate is mapped to this "
                "integration under OAuth 2.0 Client Credentials Setup, is neither revoked nor expired, and that "
                "private_key is the key of that certificate",
                field="secrets.private_key",
            )
        return self._oauth2.store(self._json(response))

    # -- error mapping ---------------------------------------------------------------------------------------------

    def _checked(self, response: httpx.Response, field: str | None, renewed: bool) -> httpx.Response:
        status = response.status_code
        if 200 <= status < 300:
            return response
        code, detail, query_param = _error_details(response)
        if status == 401:
            raise AuthenticationFailed(self._login_failure(detail, renewed), field=self._secret_field())
        if status == 403:
            raise PermissionDenied(
                f"the NetSuite role lacks a permission for {response.request.url.path}: {detail or 'forbidden'}",
                field=field,
            )
        raise NetsuiteHttpError(
            f"NetSuite answered HTTP {status}{' ' + code if code else ''} for "
            f"{response.request.method} {response.request.url.path}: {detail or response.reason_phrase}",
            status=status,
            code=code,
            detail=detail,
            query_param=query_param,
        )

    def _login_failure(self, detail: str, renewed: bool) -> str:
        said = f" (NetSuite: {detail})" if detail else ""
        if self._tba is not None:
            return (
                f"NetSuite account {self.config.account_id} rejected the token-based authentication{said}: check "
                "consumer_key/consumer_secret (the integration record) and token_id/token_secret (the access token), "
                "that the token belongs to this account, and that its role has the REST Web Services permission"
            )
        again = " even after a new access token was issued" if renewed else ""
        return (
            f"NetSuite account {self.config.account_id} rejected the OAuth 2.0 access token{again}{said}: check that "
            "the integration's client credentials mapping (entity, role, certificate) is active and that the role "
            "has the REST Web Services permission"
        )

    def _secret_field(self) -> str:
        return "secrets.token_secret" if self._tba is not None else "secrets.private_key"

    def _address_field(self) -> str:
        # Without a base_url the host comes from the account id, so a host that does not resolve is a wrong id.
        return "config.base_url" if self.config.base_url else "config.account_id"

    def _unreachable(self, exhausted: _Transient, url: str) -> SourceUnreachable:
        attempts = self.config.max_retries + 1
        if exhausted.limited:
            return SourceUnreachable(
                f"NetSuite account {self.config.account_id} stayed at its concurrency limit for {attempts} attempts "
                f"({exhausted.reason}); other integrations share the account's limit: retry later or raise max_retries",
                field="config.max_retries",
            )
        if exhausted.status is not None:
            return SourceUnreachable(
                f"NetSuite at {_origin(url)} answered HTTP {exhausted.status} ({exhausted.reason}) "
                f"to {attempts} attempts",
                field=self._address_field(),
            )
        hint = " (see timeout_s)" if exhausted.timed_out else ""
        return SourceUnreachable(
            f"NetSuite at {_origin(url)}: {exhausted.reason}{hint}, {attempts} attempts", field=self._address_field()
        )

    def _json(self, response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            raise InvalidSourceConfig(
                f"{_origin(str(response.request.url))} answered {response.request.url.path} without JSON: is it a "
                "NetSuite REST domain?",
                field=self._address_field(),
            ) from None


def _error_details(response: httpx.Response) -> tuple[str | None, str, str | None]:
    """(o:errorCode, detail, o:errorQueryParam) of NetSuite's error body, tolerating anything else."""
    try:
        payload = response.json()
    except ValueError:
        return None, response.text[:300].strip(), None
    if not isinstance(payload, dict):
        return None, "", None
    details = payload.get("o:errorDetails")
    if isinstance(details, list) and details and isinstance(details[0], dict):
        first = details[0]
        return first.get("o:errorCode"), str(first.get("detail") or "").strip(), first.get("o:errorQueryParam")
    return None, str(payload.get("title") or "").strip(), None


def _oauth_error(response: httpx.Response) -> tuple[str, str]:
    try:
        payload = response.json()
    except ValueError:
        return response.reason_phrase, ""
    if isinstance(payload, dict) and "error" in payload:
        return str(payload["error"]), str(payload.get("error_description") or "")
    code, detail, _ = _error_details(response)
    return code or response.reason_phrase, detail


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
