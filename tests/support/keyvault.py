"""A local stand-in for Azure Key Vault and for the managed-identity token endpoint, for tests of `keyvault:`
references.

Azure cannot exist on these machines, so the network edge is replaced, nothing else: the catalog talks to these
servers with the SDK's real `SecretClient` and a real `DefaultAzureCredential`.

- `FakeKeyVault` serves HTTPS (a certificate from a throw-away `trustme` authority, trusted only by the clients a
  test configures) and speaks the slice of the Key Vault REST API the catalog uses: `GET /secrets/{name}[/{version}]
  ?api-version=…`, with Key Vault's challenge authentication (an unauthenticated request gets 401 and a
  `WWW-Authenticate: Bearer authorization=…, resource=…` challenge; a request with a token the identity endpoint
  did not issue gets 401 too) and its error bodies (`SecretNotFound`, `ForbiddenByRbac`, `SecretDisabled`,
  `Throttled` with `Retry-After`).
- The token endpoint speaks App Service's managed-identity protocol (`IDENTITY_ENDPOINT` + `IDENTITY_HEADER`), the
  way `DefaultAzureCredential` finds an identity on Azure's own hosts; it is plain HTTP on loopback, as there.
"""

from __future__ import annotations

import json
import ssl
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import trustme

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
RESOURCE = "https://vault.azure.net"
IDENTITY_HEADER = "test-identity-header"


@dataclass
class VaultRequest:
    """One request the vault saw: the path, whether it carried a valid token, what it answered, and when."""

    path: str
    authorized: bool
    status: int
    at: float


@dataclass
class _Secret:
    versions: list[tuple[str, str]] = field(default_factory=list)  # (version, value), oldest first
    enabled: bool = True


class FakeKeyVault:
    """The vault's state (secrets and their versions, denied and throttled names) and what it has seen."""

    def __init__(self) -> None:
        self.url = ""
        self.ca_path = Path()
        self.identity_endpoint = ""
        self.requests: list[VaultRequest] = []
        self.token_requests: list[dict[str, str]] = []
        self.identity_refuses = False
        self._tokens: set[str] = set()
        self._secrets: dict[str, _Secret] = {}
        self._denied: set[str] = set()
        self._throttled: dict[str, tuple[int, int]] = {}  # name -> (answers left, Retry-After seconds)
        self._lock = threading.Lock()

    # -- what a test arranges --------------------------------------------------------------------------------------

    def set_secret(self, name: str, value: str) -> str:
        """Adds a new version (the latest from now on), as `az keyvault secret set` does; returns its id."""
        version = uuid.uuid4().hex
        with self._lock:
            self._secrets.setdefault(name.lower(), _Secret()).versions.append((version, value))
        return version

    def disable(self, name: str) -> None:
        self._secrets[name.lower()].enabled = False

    def deny(self, name: str) -> None:
        """The catalog's identity has no role that lets it read this secret."""
        self._denied.add(name.lower())

    def throttle(self, name: str, times: int, retry_after_s: int = 1) -> None:
        """The next `times` reads of `name` answer 429 with `Retry-After`."""
        self._throttled[name.lower()] = (times, retry_after_s)

    @property
    def client_options(self) -> dict:
        """What a `SecretClient` needs to talk to this vault, on top of production's options: trust the test's
        certificate authority, and accept a challenge resource (vault.azure.net) that is not the vault's host."""
        return {"connection_verify": str(self.ca_path), "verify_challenge_resource": False}

    def reads(self, name: str) -> list[VaultRequest]:
        """The authorized requests for a secret: those a cache would have saved."""
        return [r for r in self.requests if r.authorized and r.path.split("/")[2].lower() == name.lower()]

    # -- what the server answers -----------------------------------------------------------------------------------

    def answer(self, path: str, query: dict[str, list[str]], authorization: str | None) -> tuple[int, dict, dict]:
        """(status, headers, JSON body) for one GET."""
        token = (authorization or "").removeprefix("Bearer ")
        authorized = token in self._tokens
        status, headers, body = self._answer(path, query, authorized)
        self.requests.append(VaultRequest(path, authorized, status, time.monotonic()))
        return status, headers, body

    def _answer(self, path: str, query: dict[str, list[str]], authorized: bool) -> tuple[int, dict, dict]:
        if not authorized:
            challenge = f'Bearer authorization="https://login.microsoftonline.com/{TENANT}", resource="{RESOURCE}"'
            return 401, {"WWW-Authenticate": challenge}, _error(
                "Unauthorized", "AKV10000: Request is missing a Bearer or PoP token.")
        if "api-version" not in query:
            return 400, {}, _error("BadParameter", "The 'api-version' query parameter is missing.")
        parts = path.strip("/").split("/")
        if len(parts) not in (2, 3) or parts[0] != "secrets":
            return 404, {}, _error("NotFound", f"no route for {path}")
        name, version = parts[1].lower(), (parts[2] if len(parts) == 3 else "").lower()
        with self._lock:
            left, retry_after = self._throttled.get(name, (0, 0))
            if left:
                self._throttled[name] = (left - 1, retry_after)
                return 429, {"Retry-After": str(retry_after)}, _error(
                    "Throttled", "Request was not processed because too many requests were received.")
            if name in self._denied:
                return 403, {}, _error(
                    "Forbidden", "Caller is not authorized to perform action on resource. Action: "
                    "'Microsoft.KeyVault/vaults/secrets/getSecret/action'", inner="ForbiddenByRbac")
            secret = self._secrets.get(name)
            found = [v for v in (secret.versions if secret else []) if not version or v[0] == version]
            if not found:
                return 404, {}, _error("SecretNotFound", f"A secret with (name/id) {parts[1]} was not found in this "
                                                         "key vault.")
            if not secret.enabled:
                return 403, {}, _error("Forbidden", "Operation get is not allowed on a disabled secret.",
                                       inner="SecretDisabled")
            found_version, value = found[-1]
        now = int(time.time())
        return 200, {}, {
            "value": value, "id": f"{self.url}/secrets/{parts[1]}/{found_version}",
            "attributes": {"enabled": True, "created": now, "updated": now,
                           "recoveryLevel": "Recoverable+Purgeable", "recoverableDays": 90},
            "tags": {},
        }

    def issue_token(self, query: dict[str, list[str]], identity_header: str | None) -> tuple[int, dict]:
        """App Service managed identity: a token for `resource`, if the caller knows the identity header."""
        self.token_requests.append({k: v[0] for k, v in query.items()})
        if identity_header != IDENTITY_HEADER or self.identity_refuses:
            return 400, {"statusCode": 400, "message": "Unable to load the proper Managed Identity."}
        token = f"token-{uuid.uuid4().hex}"
        self._tokens.add(token)
        return 200, {"access_token": token, "expires_on": str(int(time.time()) + 3600),
                     "resource": query.get("resource", [""])[0], "token_type": "Bearer"}


def _error(code: str, message: str, *, inner: str | None = None) -> dict:
    body: dict = {"code": code, "message": message}
    if inner:
        body["innererror"] = {"code": inner}
    return {"error": body}


def _handler(vault: FakeKeyVault, kind: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body leave in one write: sent apart, delayed ACKs add 40 ms to every keep-alive request.
        wbufsize = -1
        disable_nagle_algorithm = True

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = parse_qs(parts.query)
            if kind == "vault":
                status, headers, body = vault.answer(parts.path, query, self.headers.get("Authorization"))
            else:
                status, body = vault.issue_token(query, self.headers.get("X-IDENTITY-HEADER"))
                headers = {}
            payload = json.dumps(body).encode()
            self.send_response(status)
            for name, value in {**headers, "Content-Type": "application/json; charset=utf-8",
                                "Content-Length": str(len(payload))}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *_args) -> None:
            pass  # tests read `vault.requests`, not stderr

    return Handler


@contextmanager
def _serve(server: ThreadingHTTPServer) -> Iterator[int]:
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@contextmanager
def fake_key_vault(folder: Path) -> Iterator[FakeKeyVault]:
    """Runs the vault (HTTPS, its CA certificate written to `folder/ca.pem`) and the token endpoint; yields the
    vault with `url`, `ca_path` and `identity_endpoint` set."""
    vault = FakeKeyVault()
    ca = trustme.CA()
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(tls)
    vault.ca_path = folder / "ca.pem"
    ca.cert_pem.write_to_path(str(vault.ca_path))
    https = ThreadingHTTPServer(("127.0.0.1", 0), _handler(vault, "vault"))
    https.socket = tls.wrap_socket(https.socket, server_side=True)
    identity = ThreadingHTTPServer(("127.0.0.1", 0), _handler(vault, "identity"))
    with _serve(https) as vault_port, _serve(identity) as identity_port:
        vault.url = f"https://127.0.0.1:{vault_port}"
        vault.identity_endpoint = f"http://127.0.0.1:{identity_port}/msi/token"
        yield vault
