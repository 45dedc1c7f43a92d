"""What makes a column PII: a tag `pii` or `pii.<anything>`. Masking (`services/profiling/masking.py`) and search's
"has PII" read this one definition."""

from __future__ import annotations

PII_TAG = "pii"


def is_pii_tag(tag: str) -> bool:
    return tag == PII_TAG or tag.startswith(f"{PII_TAG}.")
