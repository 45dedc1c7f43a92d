"""`catalog search [TEXT]`: the ranked search with its filters, as a table or as JSON, checked against SQL over the
catalog; bad values name the field."""

from __future__ import annotations

import json
import re

from catalog_api.urns import column_urn, dataset_urn
from tests.support.cli import rows, table_rows

LIVE_TEXTS = """
select t.urn, t.name, t.description, t.comment, null from tables t where t.deleted_at is null
union all
select c.urn, c.name, c.description, c.comment, t.name from columns c join tables t on t.id = c.table_id
    where c.deleted_at is null and t.deleted_at is null
"""


def matching(ctx, prefix: str) -> set[str]:
    """The live tables and columns with a word starting with `prefix` in their name, description, comment or table
    name (a word: a run of letters and digits), read with SQL and split here."""
    return {urn for urn, *texts in rows(ctx, LIVE_TEXTS)
            if any(w.startswith(prefix) for t in texts if t for w in re.split(r"[^a-z0-9]+", t.lower()))}


def test_search_ranks_every_match_and_counts_them(shop, cli_in_process):
    from catalog_api.services.curation import set_description

    email = column_urn("shop", "main", "customers", "email")
    set_description(shop, email, "Where the customer's ORDER confirmations go")
    expected = matching(shop, "order")
    assert email in expected and len(expected) >= 3

    found = json.loads(cli_in_process("search", "Order", "--json").stdout)
    assert {hit["urn"] for hit in found["hits"]} == expected and found["total"] == len(expected)
    assert found["hits"][0]["urn"] == dataset_urn("shop", "main", "orders")  # the exact name first
    assert {v["value"]: v["count"] for v in found["facets"]["kind"]} == dict(rows(shop, f"""
        select case when urn like 'urn:catalog:column:%' then 'column' else kind end, count(*) from (
            select urn, kind from tables union all select urn, 'column' from columns) e
        where urn in ({", ".join(f"'{u}'" for u in expected)}) group by 1"""))

    shown = table_rows(cli_in_process("search", "Order").stdout)
    assert {row[4] for row in shown if row[4:] and row[4]} == expected

    limited = json.loads(cli_in_process("search", "order", "--limit", "1", "--json").stdout)
    assert len(limited["hits"]) == 1 and limited["total"] == len(expected)
    columns = json.loads(cli_in_process("search", "order", "--kind", "column", "--json").stdout)
    assert {h["urn"] for h in columns["hits"]} == {u for u in expected if u.startswith("urn:catalog:column:")}


def test_search_says_when_it_counted_only_the_hits_it_considered(shop, cli_in_process, monkeypatch):
    monkeypatch.setattr("catalog_api.services.search.query.MAX_CONSIDERED", 2)
    assert len(matching(shop, "order")) > 2
    found = json.loads(cli_in_process("search", "order", "--json").stdout)
    assert found["total"] == len(found["hits"]) == 2 and found["total_exact"] is False
    assert "2 of at least 2 hits" in cli_in_process("search", "order").stdout


def test_search_filters_by_owner_term_and_domain(shop, cli_in_process):
    orders = dataset_urn("shop", "main", "orders")
    cli_in_process("owner", "set", orders, "ana:user:business")
    cli_in_process("term", "add", "Revenue")
    cli_in_process("term", "link", orders, "revenue")
    cli_in_process("domain", "add", "Finance")
    cli_in_process("domain", "set", orders, "Finance")
    for args in (["revenue"], ["ana"], ["finance"], ["--owner", "ana"], ["--term", "REVENUE"],
                 ["--domain", "finance", "--owner", "ana", "--term", "revenue"]):
        found = json.loads(cli_in_process("search", *args, "--json").stdout)
        assert [h["urn"] for h in found["hits"]] == [orders], args
    everything = json.loads(cli_in_process("search", "--json", "--limit", "500").stdout)
    assert everything["total"] == len(everything["hits"]) == rows(shop, """
        select (select count(*) from data_sources) + (select count(*) from schemas where deleted_at is null)
             + (select count(*) from tables where deleted_at is null) + (select count(*) from columns c
               join tables t on t.id = c.table_id where c.deleted_at is null and t.deleted_at is null)""")[0][0]
    assert everything["facets"]["owner"] == [{"value": "ana", "count": 1}]


def test_search_without_matches_or_with_bad_values(shop, cli_in_process):
    assert "nothing matches 'zebra'" in cli_in_process("search", "zebra").stdout
    assert json.loads(cli_in_process("search", "zebra", "--json").stdout)["hits"] == []
    for args, message in ((["***"], "q: a search text needs at least one letter or digit"),
                          (["x", "--kind", "tables"], "kind.0: a kind is one of"),
                          (["x", "--limit", "0"], "limit: 1 to 500 hits")):
        refused = cli_in_process("search", *args, ok=False)
        assert refused.exit_code == 1 and message in refused.stderr, args
