"""A catalog the CLI tests share: the SQLite shop registered and crawled through `catalog` commands."""

from __future__ import annotations

import pytest

from tests.support.sources import sqlite_shop


@pytest.fixture
def shop(cli_in_process, tmp_path):
    """The shop (customers, orders and the view big_orders over orders), registered and crawled with the CLI; yields
    a service context on the same catalog, for the tests' oracle."""
    from catalog_api.bootstrap import build_context
    from catalog_api.settings import get_settings

    (tmp_path / "sources").mkdir()
    cli_in_process("db", "upgrade")
    cli_in_process("source", "add", "shop", "--kind", "sqlite", "--config",
                   f"path={sqlite_shop(tmp_path / 'sources' / 'shop.db')}")
    cli_in_process("crawl", "shop")
    ctx = build_context(get_settings())
    yield ctx
    ctx.close()

