"""An fsspec filesystem bound to one files source: listing, opening, and one place that maps storage failures.

Local folders use fsspec's `LocalFileSystem`, and only what really lies under the source's folder counts: a file or
folder whose symbolic link leads elsewhere is left out of every listing and refused when opened, so a link placed in
a data folder cannot expose other files of the machine. Azure uses adlfs, with bounded retries and timeouts (adlfs builds its
clients with the SDK's defaults: three retries 15-24 s apart, so an unreachable endpoint took ~3 minutes to report).
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import IO, Any

import aiohttp
from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from fsspec import AbstractFileSystem
from fsspec.implementations.local import LocalFileSystem

from crawlers.errors import (
    AuthenticationFailed,
    ConnectorError,
    InvalidSourceConfig,
    PermissionDenied,
    SourceNotFound,
    SourceUnreachable,
)
from crawlers.files.location import Location


@dataclass(frozen=True, slots=True)
class AzureCredentials:
    """What authenticates an Azure source; with none of the secrets and `anon` False, DefaultAzureCredential does."""

    account_name: str | None = None
    account_key: str | None = None
    connection_string: str | None = None
    sas_token: str | None = None
    anon: bool = False

    @property
    def secret_field(self) -> str | None:
        """The registration field to blame when the credentials are refused (the one adlfs actually uses)."""
        if self.connection_string:
            return "secrets.connection_string"
        if self.account_key:
            return "secrets.account_key"
        if self.sas_token:
            return "secrets.sas_token"
        return None

    @property
    def uses_default_credential(self) -> bool:
        return self.secret_field is None and not self.anon


@dataclass(frozen=True, slots=True)
class FileEntry:
    """One file as a listing reports it; `path` is in fsspec's spelling (see `Location.root`)."""

    path: str
    size: int
    modified: datetime | None

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]


class Storage:
    """The filesystem of one source. Counts the requests it makes and raises only `ConnectorError`s for failures
    that concern the whole source (unreachable, refused credentials, missing root)."""

    def __init__(self, fs: AbstractFileSystem, location: Location, credentials: AzureCredentials | None) -> None:
        self.fs = fs
        self.location = location
        self.credentials = credentials
        self._requests = 0
        self._lock = threading.Lock()
        self._real_root = None if location.is_azure else os.path.realpath(location.root)

    @property
    def requests(self) -> int:
        return self._requests

    def count(self, n: int = 1) -> None:
        with self._lock:
            self._requests += n

    @property
    def server(self) -> str:
        if not self.location.is_azure:
            return f"local filesystem on {socket.gethostname()}"
        client = getattr(self.fs, "service_client", None)
        url = getattr(client, "url", None) or f"https://{self.location.account}.blob.core.windows.net"
        return f"Azure Blob Storage {url.rstrip('/')}"

    # -- whole-source operations: every failure becomes a ConnectorError -----------------------------------------

    def check_root(self) -> None:
        """Raise unless the root exists and is a folder."""
        root = self.location.root
        with self.translating(root):
            self.count()
            try:
                info = self.fs.info(root)
            except FileNotFoundError:
                raise SourceNotFound(self._missing(root), field="config.url") from None
        if info.get("type") != "directory":
            raise InvalidSourceConfig(
                f"{self.location.url()} is a file; the URL must name the folder that holds the data files",
                field="config.url",
            )

    def list_folder(self, path: str) -> tuple[list[FileEntry], list[str]]:
        """The files and the sub-folders directly in `path` (one request on Azure)."""
        with self.translating(path):
            self.count()
            entries = self.fs.ls(path, detail=True)
        files, folders = [], []
        for entry in entries:
            name = entry["name"].rstrip("/")
            if name == path.rstrip("/"):
                continue  # some filesystems list a folder marker for the folder itself
            if not self._inside(name):
                continue
            if entry.get("type") == "directory":
                folders.append(name)
            else:
                files.append(_entry(entry))
        return files, folders

    def find(self, path: str) -> list[FileEntry]:
        """Every file under `path`, recursively (one paginated listing on Azure)."""
        with self.translating(path):
            self.count()
            found = self.fs.find(path, detail=True, withdirs=False)
        return [_entry(entry) for entry in found.values()
                if entry.get("type") != "directory" and self._inside(entry["name"])]

    # -- files ------------------------------------------------------------------------------------------------

    def open(self, path: str, block_size: int) -> IO[bytes]:
        """Open a file for reading; `block_size` bounds what one request fetches (ignored by local files)."""
        self.count()
        if not self._inside(path):  # a link swapped since the listing
            raise PermissionError(f"{path} leads outside the source's folder")
        if self.location.is_azure:
            # "readahead" fetches at least one block per request and keeps it, which suits a sequential sample read;
            # adlfs's default block is 50 MiB.
            return self.fs.open(path, "rb", block_size=block_size, cache_type="readahead")
        return self.fs.open(path, "rb")

    def _inside(self, path: str) -> bool:
        """Whether `path` really lies under the source's folder (always, on Azure: it has no links)."""
        if self._real_root is None:
            return True
        real = os.path.realpath(path)
        return real == self._real_root or real.startswith(self._real_root.rstrip("/") + "/")

    @contextmanager
    def translating(self, path: str) -> Iterator[None]:
        """Re-raise storage failures of the whole source as the matching `ConnectorError`."""
        try:
            yield
        except ConnectorError:
            raise
        except Exception as error:
            translated = self.translate(error, path)
            if translated is None:
                raise
            raise translated from error

    def translate(self, error: BaseException, path: str) -> ConnectorError | None:
        """The `ConnectorError` for a failure that concerns the whole source, or None for a problem of one file."""
        field = self.credentials.secret_field if self.credentials else None
        url = self.location.url(path)
        if isinstance(error, ClientAuthenticationError):
            if self.credentials is not None and self.credentials.uses_default_credential:
                return AuthenticationFailed(
                    "DefaultAzureCredential found no usable Azure identity (environment, managed identity, Azure CLI"
                    f" login, …): {_first_line(error)}. Sign in, or give account_key, sas_token or connection_string",
                    field=None,
                )
            return AuthenticationFailed(f"Azure refused the credentials: {_first_line(error)}", field=field)
        if isinstance(error, ResourceNotFoundError):
            return SourceNotFound(f"{url} does not exist: {_azure_code(error) or _first_line(error)}", field="config.url")
        if isinstance(error, HttpResponseError):
            return _http_error(error, url, field)
        if isinstance(error, (ServiceRequestError, ServiceResponseError)):
            return SourceUnreachable(
                f"cannot reach the storage endpoint of {url}: {_first_line(error)}", field="config.url"
            )
        if isinstance(error, AzureError):
            return SourceUnreachable(f"Azure storage failed for {url}: {_first_line(error)}", field="config.url")
        if isinstance(error, (aiohttp.ClientError, asyncio.TimeoutError, TimeoutError, ConnectionError)):
            return SourceUnreachable(f"cannot reach the storage of {url}: {error}", field="config.url")
        return None

    def _missing(self, root: str) -> str:
        location = self.location
        if not location.is_azure:
            return f"{location.url(root)} does not exist"
        container = location.container or ""
        self.count()
        if root != container and self.fs.exists(container):
            return (
                f"{location.url(root)} does not exist (Azure has no empty folders: a folder exists while it holds"
                " at least one file)"
            )
        return f"the container {container!r} does not exist in the storage account {location.account or ''}".rstrip()


def _http_error(error: HttpResponseError, url: str, field: str | None) -> ConnectorError:
    status = error.status_code or 0
    code = _azure_code(error) or ""
    text = _first_line(error)
    # Azure answers a bad signature with 403 AuthenticationFailed; Azurite with 403 AuthorizationFailure and the
    # same "failed to authenticate" text. Both mean the secret is wrong, not that it lacks a permission.
    if status == 401 or code == "AuthenticationFailed" or "failed to authenticate" in text.lower():
        return AuthenticationFailed(f"Azure refused the credentials for {url}: {text}", field=field)
    if status == 403:
        return PermissionDenied(f"not allowed to read {url}: {code or text}", field=field or "config.url")
    if status == 404:
        return SourceNotFound(f"{url} does not exist: {code or text}", field="config.url")
    if status >= 500 or status in (408, 429):
        return SourceUnreachable(f"Azure storage is unavailable for {url}: HTTP {status} {code or text}", field=None)
    return ConnectorError(f"Azure storage refused a request for {url}: HTTP {status} {code or text}")


def _azure_code(error: AzureError) -> str | None:
    return getattr(error, "error_code", None)


def _first_line(error: BaseException) -> str:
    text = getattr(error, "message", None) or str(error) or type(error).__name__
    return str(text).strip().splitlines()[0]


def _entry(info: dict[str, Any]) -> FileEntry:
    modified = info.get("last_modified") or info.get("mtime")
    if isinstance(modified, (int, float)):
        modified = datetime.fromtimestamp(modified, tz=UTC)
    return FileEntry(path=info["name"].rstrip("/"), size=int(info.get("size") or 0), modified=modified)


def open_storage(location: Location, credentials: AzureCredentials | None, retries: int, timeout_s: float) -> Storage:
    """Build the filesystem for `location`. Nothing is sent over the network here."""
    if not location.is_azure:
        return Storage(LocalFileSystem(), location, None)
    assert credentials is not None
    try:
        fs = _azure_filesystem_class()(
            retries=retries,
            timeout_s=timeout_s,
            account_name=credentials.account_name or location.account,
            account_key=credentials.account_key,
            connection_string=credentials.connection_string,
            sas_token=credentials.sas_token,
            anon=credentials.anon,
            # Fresh listings and a fresh client each time: a re-crawl must see the files as they are now, and a
            # cached instance would outlive a credential change.
            skip_instance_cache=True,
            use_listings_cache=False,
        )
    except ValueError as error:
        # adlfs wraps what the SDK said about the connection details in a ValueError.
        field = "secrets.connection_string" if credentials.connection_string else "config.account_name"
        raise InvalidSourceConfig(f"unusable Azure connection details: {error.__cause__ or error}", field=field) from None
    return Storage(fs, location, credentials)


@lru_cache(maxsize=1)
def _azure_filesystem_class() -> type[AbstractFileSystem]:
    # adlfs and the async blob SDK take ~1.5 s to import: only Azure sources pay for them.
    from adlfs import AzureBlobFileSystem
    from azure.storage.blob.aio import BlobServiceClient, ExponentialRetry

    class AzureFileSystem(AzureBlobFileSystem):
        """adlfs whose blob client has a bounded retry policy and connection/read timeouts."""

        def __init__(self, *, retries: int, timeout_s: float, **kwargs: Any) -> None:
            self._client_options = {
                "retry_policy": ExponentialRetry(
                    initial_backoff=1, increment_base=2, retry_total=retries, random_jitter_range=1
                ),
                "connection_timeout": timeout_s,
                "read_timeout": timeout_s,
            }
            super().__init__(**kwargs)

        def do_connect(self) -> None:
            # Same precedence as adlfs's own do_connect: connection string, then a credential or account key, then
            # a SAS token, then anonymous access; only the client options differ.
            options = dict(self._client_options)
            try:
                if self.connection_string is not None:
                    self.service_client = BlobServiceClient.from_connection_string(self.connection_string, **options)
                    return
                if self.account_name is None:
                    raise ValueError("an account_name is needed unless a connection_string is given")
                self.account_url = f"https://{self.account_name}.blob.core.windows.net"
                credential = self.credential or self.account_key
                if credential is not None:
                    self.service_client = BlobServiceClient(self.account_url, credential=credential, **options)
                elif self.sas_token is not None:
                    sas = self.sas_token.lstrip("?")
                    self.service_client = BlobServiceClient(f"{self.account_url}?{sas}", **options)
                else:
                    self.service_client = BlobServiceClient(self.account_url, **options)
            except Exception as error:
                raise ValueError(str(error)) from error

    return AzureFileSystem
