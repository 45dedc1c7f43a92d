"""Fixtures for Azurite, the Azure Blob Storage emulator, on 127.0.0.1:10000.

`azurite` uses an Azurite that already answers there; otherwise it runs `.ci/start-azurite` (which installs Azurite
with npm into `.ci/node_modules` on first use and starts it in the background). If it still does not answer, the
test skips on a laptop and fails under `CI=true`.

How adlfs talks to Azurite: through the well-known development connection string below (Azurite's fixed account
`devstoreaccount1` and its published key, with `BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1`). The
connection string is the only adlfs input that can name a plain-http, path-style endpoint: with `account_name` +
`account_key` adlfs always builds `https://<account>.blob.core.windows.net`, and `account_host` changes only the
host (still https, and Azurite's account is in the path, not the host name). URLs are then
`abfs://<container>/<path>`, exactly as against Azure. Azurite checks shared-key signatures, so a wrong key is
refused (403 `AuthorizationFailure`, where Azure says `AuthenticationFailed`).
"""

from __future__ import annotations

import os
import socket
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from azure.storage.blob import BlobServiceClient, ContainerClient

from tests.support.postgres import service_missing

AZURITE_HOST = os.environ.get("CATALOG_TEST_AZURITE_HOST", "127.0.0.1")
AZURITE_PORT = int(os.environ.get("CATALOG_TEST_AZURITE_PORT", "10000"))
ACCOUNT_NAME = "devstoreaccount1"
# Azurite's well-known development key (public, documented by Microsoft; not a secret).
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
START_SCRIPT = Path(__file__).resolve().parents[2] / ".ci" / "start-azurite"


def connection_string(host: str = AZURITE_HOST, port: int = AZURITE_PORT, key: str = ACCOUNT_KEY) -> str:
    return (
        f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT_NAME};AccountKey={key};"
        f"BlobEndpoint=http://{host}:{port}/{ACCOUNT_NAME};"
    )


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


@dataclass(frozen=True)
class Azurite:
    """A running Azurite Blob service."""

    host: str
    port: int

    @property
    def connection_string(self) -> str:
        return connection_string(self.host, self.port)

    def service(self) -> BlobServiceClient:
        return BlobServiceClient.from_connection_string(self.connection_string)


@pytest.fixture(scope="session")
def azurite() -> Azurite:
    if not _answers(AZURITE_HOST, AZURITE_PORT):
        try:
            subprocess.run(
                [str(START_SCRIPT)],
                env={**os.environ, "AZURITE_HOST": AZURITE_HOST, "AZURITE_PORT": str(AZURITE_PORT)},
                check=True,
                capture_output=True,
                text=True,
                timeout=240,
            )
        except (OSError, subprocess.SubprocessError) as error:
            detail = getattr(error, "stderr", None) or error
            service_missing("Azurite", RuntimeError(f"{START_SCRIPT.name} failed: {detail}"))
        if not _answers(AZURITE_HOST, AZURITE_PORT):
            service_missing("Azurite", RuntimeError(f"nothing answers on {AZURITE_HOST}:{AZURITE_PORT}"))
    return Azurite(AZURITE_HOST, AZURITE_PORT)


@pytest.fixture
def azurite_container(azurite: Azurite) -> Iterator[ContainerClient]:
    """A new, empty container (`cat-test-<hex>`), deleted after the test."""
    service = azurite.service()
    container = service.create_container(f"cat-test-{uuid.uuid4().hex[:12]}")
    try:
        yield container
    finally:
        container.delete_container()
        service.close()
