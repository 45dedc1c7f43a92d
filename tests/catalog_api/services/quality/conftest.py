"""The fixture the quality tests share: the small catalog of `tests/support/quality.py` with every rule of `RULES`."""

from __future__ import annotations

import pytest

from tests.support.quality import add_all, rules_catalog


@pytest.fixture
def ruled(catalog_ctx):
    rules_catalog(catalog_ctx)
    add_all(catalog_ctx)
    return catalog_ctx
