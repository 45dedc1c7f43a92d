"""URNs: escaping round-trips, canonical form, and clear rejection of malformed ones."""

from __future__ import annotations

import pytest

from catalog_api.errors import InvalidInput
from catalog_api.urns import EntityType, column_urn, dataset_urn, parse_urn, schema_urn, source_urn

NAMES = ["orders", "Kunden Übersicht", "a:b", "x/y", "100%", "tab\there", "日本語", "#?", "MixedCase"]


@pytest.mark.parametrize("name", NAMES)
def test_round_trip(name):
    for urn, kind, names in [
        (schema_urn("src", name), EntityType.SCHEMA, ("src", name)),
        (dataset_urn("src", name, name), EntityType.DATASET, ("src", name, name)),
        (column_urn("src", "s", name, name), EntityType.COLUMN, ("src", "s", name, name)),
    ]:
        parsed = parse_urn(urn)
        assert parsed.type is kind and parsed.names == names and str(parsed) == urn


def test_readable_form():
    assert source_urn("erp") == "urn:catalog:source:erp"
    assert dataset_urn("erp", "public", "orders") == "urn:catalog:dataset:erp:public:orders"
    assert dataset_urn("erp", "Ärger", "a b:c") == "urn:catalog:dataset:erp:Ärger:a%20b%3Ac"


@pytest.mark.parametrize(
    "text, reason",
    [
        ("", "starts with"),
        ("urn:other:dataset:a:b:c", "starts with"),
        ("urn:catalog:table:a:b:c", "unknown entity type"),
        ("urn:catalog:dataset:a:b", "3 non-empty"),
        ("urn:catalog:dataset:a::c", "3 non-empty"),
        ("urn:catalog:dataset:a:b:c%2", "escape"),
        ("urn:catalog:dataset:a:b:%FF", "UTF-8"),
        ("urn:catalog:dataset:a:b:c d", "canonical"),
        ("urn:catalog:dataset:a:b:%61", "canonical"),
        ("urn:catalog:dataset:a:b:" + "x" * 2100, "at most"),
    ],
)
def test_malformed(text, reason):
    with pytest.raises(InvalidInput) as error:
        parse_urn(text)
    assert error.value.field == "urn" and reason in error.value.message


def test_expected_type():
    with pytest.raises(InvalidInput, match="expected a dataset URN"):
        parse_urn(source_urn("x"), expected=EntityType.DATASET)
