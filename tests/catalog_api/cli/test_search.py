"""`catalog search TEXT`: the matches the catalog holds, as a table or as JSON."""

from __future__ import annotations

import json

from catalog_api.urns import column_urn
from tests.support.cli import rows, table_rows

MATCHING = """
select urn from tables where deleted_at is null and (lower(name) like :pattern
    or lower(coalesce(description, '')) like :pattern or lower(coalesce(comment, '')) like :pattern)
union
select urn from columns where deleted_at is null and (lower(name) like :pattern
    or lower(coalesce(description, '')) like :pattern or lower(coalesce(comment, '')) like :pattern)
"""


def test_search_finds_names_and_descriptions(shop, cli_in_process):
    from catalog_api.services.curation import set_description

    email = column_urn("shop", "main", "customers", "email")
    set_description(shop, email, "Where the customer's ORDER confirmations go")
    expected = {urn for (urn,) in rows(shop, MATCHING, pattern="%order%")}
    assert email in expected and len(expected) >= 3

    found = json.loads(cli_in_process("search", "Order", "--json").stdout)
    assert {hit["urn"] for hit in found} == expected
    assert {hit["type"] for hit in found} == {"dataset", "column"}

    shown = table_rows(cli_in_process("search", "Order").stdout)
    assert {row[3] for row in shown if row[3]} == expected

    limited = json.loads(cli_in_process("search", "order", "--limit", "1", "--json").stdout)
    assert len(limited) == 1


def test_search_without_matches_or_with_bad_text(shop, cli_in_process):
    assert "no table or column matches 'zebra'" in cli_in_process("search", "zebra").stdout
    assert json.loads(cli_in_process("search", "zebra", "--json").stdout) == []
    refused = cli_in_process("search", " ", ok=False)
    assert refused.exit_code == 1 and "q: a search text has 1 to 200 characters" in refused.stderr
