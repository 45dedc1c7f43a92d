"""GraphQL types of a table's keys and indexes (`Table.keys`), derived from the views of
`catalog_api.services.constraints`."""

from __future__ import annotations

from catalog_api.graphql.views import graphql_type
from catalog_api.services.constraints import ForeignKeyView, IndexView, KeyView, TableKeysView

KeyNode = graphql_type(KeyView, "KeyConstraint", "A primary key or unique constraint.",
                       description="A primary key or unique constraint: its name and columns, in key order.")
ForeignKeyNode = graphql_type(
    ForeignKeyView, "ForeignKey", "A foreign key with the URN of the table it references.",
    description="A foreign key from `columns` to `referencedColumns` (in the same order) of another table of the "
                "same source.",
    descriptions={"referenced_table_urn": "The referenced table's dataset URN (`table(urn:)` answers with it when the "
                                          "catalog has crawled it).",
                  "on_delete": "The referential action on delete, as the source spells it; null when it does not say.",
                  "on_update": "The referential action on update, as the source spells it; null when it does not say."})
IndexNode = graphql_type(IndexView, "Index", "An index of a table.",
                         description="An index over `columns`; `definition` is the source's own DDL where it offers "
                                     "one.")
TableKeysNode = graphql_type(TableKeysView, "TableKeys", "A table's keys and indexes.",
                             description="A table's primary key (null when it has none), unique constraints, foreign "
                                         "keys and indexes, as the source declares them.")
