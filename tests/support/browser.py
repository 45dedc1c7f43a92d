"""A real headless Chromium for pages: the DOM it ends with, and what its console said."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.support.postgres import service_missing


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    service_missing("Chromium", RuntimeError("no chromium on PATH (apt-get install chromium)"))
    raise AssertionError("unreachable")


def run_browser(binary: str, profile: Path, *args: str) -> subprocess.CompletedProcess:
    flags = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--enable-logging=stderr", "--v=0", f"--user-data-dir={profile}"]
    return subprocess.run([binary, *flags, *args], capture_output=True, text=True, timeout=90, check=False)


@dataclass
class Page:
    """A page as Chromium left it: its DOM, and the console lines reporting a script error or a blocked load."""

    dom: str
    errors: list[str]
    blocked: list[str]


OFFLINE = ("--proxy-server=http://127.0.0.1:9",  # loopback addresses bypass a proxy by default
           "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1")
"""Flags that leave the browser only 127.0.0.1: every other host fails to resolve, and would meet a closed proxy."""


def open_page(url: str, profile: Path, *flags: str, budget_ms: int = 3000) -> Page:
    done = run_browser(chromium(), profile, *flags, f"--virtual-time-budget={budget_ms}", "--dump-dom", url)
    assert done.returncode == 0, done.stderr[-2000:]
    console = [line for line in done.stderr.splitlines() if "CONSOLE" in line]
    return Page(done.stdout, [line for line in console if "rror" in line],
                [line for line in console if "Content Security Policy" in line])
