"""Curation through GraphQL: descriptions and tags round trip, one result per mutation, invalid tags refused."""

from __future__ import annotations

from catalog_api.urns import column_urn, dataset_urn
from tests.support.factories import apply, make_catalog, make_source
from tests.support.graphql import data, error

SET_DESCRIPTION = """
mutation($urn: String!, $text: String) {
  setDescription(urn: $urn, description: $text) { __typename urn description tags }
}
"""
SET_TAGS = "mutation($urn: String!, $tags: [String!]!) { setTags(urn: $urn, tags: $tags) { __typename urn tags } }"
TABLE_CURATION = """
query($urn: String!) {
  table(urn: $urn) { description tags columns { edges { node { name description tags } } } }
}
"""


def test_descriptions_and_tags_round_trip(api_client, catalog_ctx):
    source_id = make_source(catalog_ctx, "erp")
    apply(catalog_ctx, source_id, make_catalog(1, 1))
    table = dataset_urn("erp", "schema_0", "table_0000")
    first_column = make_catalog(1, 1).tables[0].columns[0].name
    column = column_urn("erp", "schema_0", "table_0000", first_column)

    described = data(api_client, SET_DESCRIPTION, urn=table, text="  Orders placed in the web shop. ")
    assert described["setDescription"] == {"__typename": "Table", "urn": table,
                                           "description": "Orders placed in the web shop.", "tags": []}
    data(api_client, SET_DESCRIPTION, urn=column, text="Customer e-mail")
    tagged = data(api_client, SET_TAGS, urn=column, tags=["PII.Email", "gdpr", "gdpr"])
    assert tagged["setTags"] == {"__typename": "Column", "urn": column, "tags": ["gdpr", "pii.email"]}
    data(api_client, SET_TAGS, urn=table, tags=["finance"])

    later = data(api_client, TABLE_CURATION, urn=table)["table"]
    assert later["description"] == "Orders placed in the web shop."
    assert later["tags"] == ["finance"]
    first = later["columns"]["edges"][0]["node"]
    assert first == {"name": first_column, "description": "Customer e-mail", "tags": ["gdpr", "pii.email"]}

    cleared = data(api_client, SET_DESCRIPTION, urn=table, text=None)
    assert cleared["setDescription"]["description"] is None


HISTORY = """
query($urn: String!) {
  table(urn: $urn) { changes { totalCount edges { node { entityUrn changeType before after actor } } } }
}
"""


def test_description_and_tag_edits_are_on_the_table_history_with_before_after_and_actor(api_client, catalog_ctx):
    source_id = make_source(catalog_ctx, "erp")
    apply(catalog_ctx, source_id, make_catalog(1, 1))
    table = dataset_urn("erp", "schema_0", "table_0000")
    column = column_urn("erp", "schema_0", "table_0000", make_catalog(1, 1).tables[0].columns[0].name)
    before = data(api_client, HISTORY, urn=table)["table"]["changes"]["totalCount"]

    data(api_client, SET_DESCRIPTION, urn=table, text="Orders.")
    data(api_client, SET_DESCRIPTION, urn=table, text="Orders.")  # the same text changes nothing
    data(api_client, SET_DESCRIPTION, urn=table, text="Web shop orders.")
    data(api_client, SET_TAGS, urn=column, tags=["pii"])
    data(api_client, SET_TAGS, urn=column, tags=["pii", "gdpr"])

    changes = data(api_client, HISTORY, urn=table)["table"]["changes"]
    assert changes["totalCount"] == before + 4
    newest = [edge["node"] for edge in changes["edges"][:4]]  # newest first
    assert newest == [
        {"entityUrn": column, "changeType": "tags_changed", "before": ["pii"], "after": ["gdpr", "pii"],
         "actor": "local"},
        {"entityUrn": column, "changeType": "tags_changed", "before": [], "after": ["pii"], "actor": "local"},
        {"entityUrn": table, "changeType": "description_changed", "before": "Orders.", "after": "Web shop orders.",
         "actor": "local"},
        {"entityUrn": table, "changeType": "description_changed", "before": None, "after": "Orders.",
         "actor": "local"},
    ]


def test_two_curations_in_one_request_each_see_their_own_result(api_client, catalog_ctx):
    source_id = make_source(catalog_ctx, "erp")
    apply(catalog_ctx, source_id, make_catalog(1, 1))
    table = dataset_urn("erp", "schema_0", "table_0000")
    both = data(api_client, """
        mutation($urn: String!) { a: setTags(urn: $urn, tags: ["one"]) { tags }
                                  b: setTags(urn: $urn, tags: ["two"]) { tags } }""", urn=table)
    assert both == {"a": {"tags": ["one"]}, "b": {"tags": ["two"]}}


def test_invalid_tag_names_the_field_and_changes_nothing(api_client, catalog_ctx):
    source_id = make_source(catalog_ctx, "erp")
    apply(catalog_ctx, source_id, make_catalog(1, 1))
    table = dataset_urn("erp", "schema_0", "table_0000")
    data(api_client, SET_TAGS, urn=table, tags=["finance"])

    found = error(api_client, SET_TAGS, urn=table, tags=["ok", "Bad Tag!"])
    assert found["extensions"]["code"] == "invalid_input"
    assert found["extensions"]["field"] == "tags.1"
    assert found["message"].startswith("tags.1:")
    assert data(api_client, TABLE_CURATION, urn=table)["table"]["tags"] == ["finance"]

    unknown = error(api_client, SET_TAGS, urn=dataset_urn("erp", "schema_0", "gone"), tags=["x"])
    assert unknown["extensions"]["code"] == "not_found"


def test_a_description_holding_a_nul_character_is_refused_on_both_transports(api_client, catalog_ctx):
    from urllib.parse import quote

    from sqlalchemy import text

    source_id = make_source(catalog_ctx, "erp")
    apply(catalog_ctx, source_id, make_catalog(1, 1))
    table = dataset_urn("erp", "schema_0", "table_0000")
    data(api_client, SET_DESCRIPTION, urn=table, text="Orders")

    found = error(api_client, SET_DESCRIPTION, urn=table, text="Orders\x00 and more")
    assert (found["extensions"]["code"], found["extensions"]["field"]) == ("invalid_input", "description")
    rest = api_client.put(f"/api/v1/entities/{quote(table, safe='')}/description", json={"description": "a\x00b"})
    assert rest.status_code == 422, rest.text
    assert (rest.json()["error"]["code"], rest.json()["error"]["field"]) == ("invalid_input", "description")
    with catalog_ctx.db.session() as session:  # the stored row, not the service's view of it
        stored = session.scalar(text("select description from tables where urn = :urn"), {"urn": table})
    assert stored == "Orders"
