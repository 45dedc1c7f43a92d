"""Where a files source lives, parsed from its URL: a local folder, or a folder in an Azure Blob Storage container.

OpenLineage naming (https://openlineage.io/docs/spec/naming), which this module implements:

| storage | namespace | dataset name |
| --- | --- | --- |
| local folder | `file` | the absolute path, e.g. `/data/lake/sales/orders.csv` |
| Azure (abfs/az/abfss) | `abfss://<container>@<account>.dfs.core.windows.net` | the path in the container, no leading `/` |
"""

from __future__ import annotations

import os
import posixpath
import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import unquote, urlsplit

from crawlers.errors import InvalidSourceConfig

AZURE_SCHEMES = frozenset({"abfs", "abfss", "az"})
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):")
# https://learn.microsoft.com/rest/api/storageservices/naming-and-referencing-containers--blobs--and-metadata
_CONTAINER = re.compile(r"^(?=.{3,63}$)[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9]))*$")
_ACCOUNT = re.compile(r"^[a-z0-9]{3,24}$")
_AZURE_HOST = re.compile(r"^(?P<account>[a-z0-9]{3,24})\.(?:dfs|blob)\.core\.windows\.net$")


@dataclass(frozen=True, slots=True)
class Location:
    """A parsed source URL.

    `root` is the folder in fsspec's spelling: an absolute POSIX path for a local folder, `container/path` (or just
    `container`) for Azure. `account` is the storage account when it is known without asking the network.
    """

    protocol: Literal["file", "abfs"]
    root: str
    container: str | None = None
    account: str | None = None

    @property
    def is_azure(self) -> bool:
        return self.protocol == "abfs"

    @property
    def root_name(self) -> str:
        """The last segment of the root folder (the container's name at a container's root)."""
        return posixpath.basename(self.root.rstrip("/")) or self.root

    def url(self, path: str | None = None) -> str:
        """The URL a user would type for `path` (an fsspec path under the root), or for the root itself."""
        path = self.root if path is None else path
        return f"abfs://{path}" if self.is_azure else f"file://{path}"

    def lineage_namespace(self) -> str:
        if not self.is_azure:
            return "file"
        return f"abfss://{self.container}@{self.account or 'unknown'}.dfs.core.windows.net"

    def lineage_name(self, path: str | None = None) -> str:
        """The OpenLineage dataset name of `path` (default: the root folder)."""
        path = self.root if path is None else path
        if not self.is_azure:
            return path
        # Inside the container: drop the container, which is part of the namespace.
        return path.partition("/")[2]

    def relative(self, path: str) -> str:
        """`path` relative to the root ('' for the root itself)."""
        if path == self.root:
            return ""
        prefix = self.root.rstrip("/") + "/"
        if not path.startswith(prefix):
            raise ValueError(f"{path} is not under {self.root}")
        return path[len(prefix):]

    def join(self, *parts: str) -> str:
        return posixpath.join(self.root, *parts)


def parse_location(url: str, account_name: str | None = None, connection_string: str | None = None) -> Location:
    """Parse a source URL; raise `InvalidSourceConfig` (field `config.url` or `config.account_name`) if it is unusable.

    Local: a path (`~` expanded, made absolute) or `file:///path` (percent-decoded, as any URI). Azure:
    `abfs://container/path`, `az://container/path` or `abfss://container@account.dfs.core.windows.net/path`
    (paths kept literally, as fsspec does).
    """
    url = url.strip()
    if not url:
        raise InvalidSourceConfig("the URL is empty", field="config.url")
    if "\x00" in url:
        raise InvalidSourceConfig("a URL cannot contain a NUL character", field="config.url")
    match = _SCHEME.match(url)
    # A one-letter "scheme" is a Windows drive letter (C:\data), i.e. a local path.
    scheme = match.group(1).lower() if match and len(match.group(1)) > 1 else ""
    if scheme in ("", "file"):
        return _local(url, scheme)
    if scheme in AZURE_SCHEMES:
        return _azure(url, account_name, connection_string)
    raise InvalidSourceConfig(
        f"unsupported URL scheme {scheme!r}: use a local folder (a path or file:///path) or an Azure container "
        "(abfs://container/path, az://container/path or abfss://container@account.dfs.core.windows.net/path)",
        field="config.url",
    )


def _local(url: str, scheme: str) -> Location:
    if scheme == "file":
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost"):
            raise InvalidSourceConfig(
                f"file URLs must name a local path (file:///path), not the host {parts.netloc!r}", field="config.url"
            )
        if parts.query or parts.fragment:
            raise InvalidSourceConfig("a file URL cannot have a query or a fragment", field="config.url")
        path = unquote(parts.path)
    else:
        path = url
    root = os.path.abspath(os.path.expanduser(path)).replace(os.sep, "/")
    return Location(protocol="file", root=root)


def _azure(url: str, account_name: str | None, connection_string: str | None) -> Location:
    rest = url.split("://", 1)[1] if "://" in url else ""
    if "?" in rest or "#" in rest:
        raise InvalidSourceConfig(
            "an Azure URL cannot carry a query or fragment: give a SAS token in sas_token", field="config.url"
        )
    authority, _, path = rest.partition("/")
    container, at, host = authority.partition("@")
    account_in_url = None
    if at:
        host_match = _AZURE_HOST.match(host.lower())
        if not host_match:
            raise InvalidSourceConfig(
                f"{host!r} is not an Azure storage host (<account>.dfs.core.windows.net)", field="config.url"
            )
        account_in_url = host_match.group("account")
    if not _CONTAINER.match(container):
        raise InvalidSourceConfig(
            f"{container!r} is not a valid container name: 3-63 lower-case letters, digits and single hyphens "
            "(abfs://container/path)",
            field="config.url",
        )
    segments = [s for s in path.split("/") if s]
    if any(s in (".", "..") for s in segments):
        raise InvalidSourceConfig("an Azure URL cannot contain '.' or '..' segments", field="config.url")

    if account_name is not None and not _ACCOUNT.match(account_name):
        raise InvalidSourceConfig(
            f"{account_name!r} is not a storage account name: 3-24 lower-case letters and digits",
            field="config.account_name",
        )
    if account_in_url and account_name and account_in_url != account_name:
        raise InvalidSourceConfig(
            f"the URL names the account {account_in_url!r} but account_name is {account_name!r}",
            field="config.account_name",
        )
    account = account_in_url or account_name or _connection_string_account(connection_string)
    if account is None and connection_string is None:
        raise InvalidSourceConfig(
            "an Azure source needs its storage account: set account_name (or use "
            "abfss://container@account.dfs.core.windows.net/path, or give a connection_string)",
            field="config.account_name",
        )
    root = "/".join([container, *segments])
    return Location(protocol="abfs", root=root, container=container, account=account)


def _connection_string_account(connection_string: str | None) -> str | None:
    if not connection_string:
        return None
    for item in connection_string.split(";"):
        key, _, value = item.partition("=")
        if key.strip().lower() == "accountname" and value.strip():
            return value.strip()
    return None
