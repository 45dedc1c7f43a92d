"""Where things are in the repository, for tests that read its files or run a process from its root."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
