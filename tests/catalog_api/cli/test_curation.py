"""`catalog owner|term|domain`: curation of the crawled shop from the command line, checked against the catalog's
rows; a bad owner names its field and changes nothing."""

from __future__ import annotations

import json

from tests.support.cli import rows

ORDERS = "urn:catalog:dataset:shop:main:orders"
EMAIL = "urn:catalog:column:shop:main:customers:email"


def test_owners_terms_and_domains_from_the_command_line(shop, cli_in_process):
    cli_in_process("owner", "set", ORDERS, "sales-data:group", "ana@example.com:user:business")
    assert rows(shop, "select principal, principal_kind, owner_type from owners order by principal") == [
        ("ana@example.com", "user", "business"), ("sales-data", "group", "technical")]
    cli_in_process("term", "add", "Customer", "--definition", "Someone who buys.")
    cli_in_process("term", "add", "E-mail", "--parent", "customer")
    cli_in_process("term", "link", EMAIL, "e-mail")
    cli_in_process("term", "link", ORDERS, "Customer")
    shown = json.loads(cli_in_process("term", "show", "Customer", "--json").stdout)
    assert (shown["children"], shown["assets"]) == (["E-mail"], [ORDERS])
    cli_in_process("domain", "add", "Sales")
    assert "in Sales" in cli_in_process("domain", "set", ORDERS, "sales").stdout
    listed = json.loads(cli_in_process("owner", "list", ORDERS, "--json").stdout)
    assert (listed["terms"], listed["domain"], len(listed["owners"])) == (["Customer"], "Sales", 2)

    cli_in_process("term", "unlink", ORDERS, "Customer")
    cli_in_process("term", "remove", "E-mail")
    cli_in_process("domain", "remove", "Sales")
    assert rows(shop, "select count(*) from glossary_links") == [(0,)]
    assert rows(shop, "select name from glossary_terms") == [("Customer",)]
    assert rows(shop, "select count(*) from domain_assignments") == [(0,)]
    assert [t["name"] for t in json.loads(cli_in_process("term", "list", "--json").stdout)] == ["Customer"]
    assert json.loads(cli_in_process("domain", "list", "--json").stdout) == []


def test_a_bad_owner_names_its_field_and_changes_nothing(shop, cli_in_process):
    refused = cli_in_process("owner", "set", ORDERS, "ana:team", ok=False)
    assert refused.exit_code == 1
    assert "owners.0.kind" in refused.output
    assert rows(shop, "select count(*) from owners") == [(0,)]
