"""The image's HEALTHCHECK: the API role must answer /healthz; the worker and scheduler roles serve no HTTP, so they
are healthy while their process runs (the container stops when it exits).

The role is read from the command line of the container's first process (`tini -- catalog-entrypoint ROLE …`);
no role means the image's default command, `serve`.
"""

from __future__ import annotations

import os
import sys
import urllib.request
from pathlib import Path

ENTRYPOINTS = {"catalog-entrypoint", "entrypoint.sh", "catalog"}


def role(argv: list[str]) -> str:
    """The catalog command that `argv` (a process's arguments) runs: the first argument after the entrypoint."""
    for index, arg in enumerate(argv):
        if os.path.basename(arg) in ENTRYPOINTS:
            rest = argv[index + 1:]
            return rest[0] if rest else "serve"
    return "serve"


def main(pid: int = 1) -> int:
    argv = [a.decode() for a in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0") if a]
    if role(argv) != "serve":
        return 0
    url = f"http://127.0.0.1:{os.environ.get('CATALOG_PORT', '8000')}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=4) as response:  # noqa: S310 (a fixed loopback URL)
            return 0 if response.status == 200 else 1
    except OSError as error:
        print(f"{url}: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 1))
