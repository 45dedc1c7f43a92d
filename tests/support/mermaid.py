"""Mermaid's own parser, for tests of Mermaid output: `mermaid_graph(text)` is what Mermaid reads in a diagram.

Mermaid is JavaScript: its npm package (with jsdom for the DOM it needs even to parse) is installed once with npm
into a cache folder (~180 MB, ~15 s; never committed). Without npm the test skips, except under `CI=true`.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

PACKAGES = ("mermaid@11.17.2", "jsdom@29.1.1")
SCRIPT = Path(__file__).with_name("mermaid_graph.mjs")


def _missing(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"Mermaid's parser is required under CI=true: {reason}")
    pytest.skip(f"Mermaid's parser is not available: {reason}")


def _installed() -> Path:
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    folder = cache / "catalog-tests" / ("mermaid-" + "-".join(p.replace("@", "") for p in PACKAGES))
    if (folder / ".installed").exists():
        return folder
    if not (shutil.which("npm") and shutil.which("node")):
        _missing("node and npm are not installed")
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as lock:  # two test processes must not install into one folder at once
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (folder / ".installed").exists():
            done = subprocess.run(["npm", "install", "--prefix", str(folder), "--no-audit", "--no-fund",
                                   "--loglevel=error", *PACKAGES], capture_output=True, text=True, timeout=600)
            if done.returncode != 0:
                _missing(f"npm install failed: {done.stderr[-2000:]}")
            (folder / ".installed").touch()
    return folder


def mermaid_graph(text: str) -> dict:
    """`{"type", "vertices": {id: text}, "edges": [{start, end, text, stroke}]}` as Mermaid parsed `text`; a
    syntax error fails the test with Mermaid's message."""
    folder = _installed()
    script = folder / SCRIPT.name  # ES modules resolve packages from the script's folder, not from NODE_PATH
    if not script.exists() or script.read_text() != SCRIPT.read_text():
        shutil.copyfile(SCRIPT, script)
    done = subprocess.run(["node", str(script)], input=text, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"Mermaid could not parse the diagram: {done.stderr}\n{text}"
    return json.loads(done.stdout)
