"""GraphQL search: `catalogSearch`, ranked full-text hits as a Relay connection with facet counts.

Resolvers translate only: the filter input into `SearchFilters`, the service's result into the connection. The old
`search(q, limit)` field (substring matches, no ranking) stays in `schema.py`, deprecated.
"""

from __future__ import annotations

import strawberry

from catalog_api.graphql.context import Info
from catalog_api.graphql.loaders import in_session
from catalog_api.graphql.types import Edge, PageInfo
from catalog_api.graphql.views import graphql_type
from catalog_api.services.search import query

FacetValueNode = graphql_type(query.FacetValueView, "FacetValue", "One value of a facet and how many hits have it.")
SearchFacetsNode = graphql_type(
    query.SearchFacetsView, "SearchFacets",
    "Facet counts over every hit of a search (not only the page); `owner` counts owners' principals, `term` and "
    "`domain` glossary term and domain names.",
    description="How many of all hits (the hits considered when `totalExact` is false) have each value (at most 50 "
                "values per facet, most frequent first); `hasPii` "
                "and `hasAnomalies` count the hits that hold PII or have anomalies in their latest profile. "
                "`owner` counts each principal once per hit, `term` and `domain` count by name.")
CatalogHitNode = graphql_type(
    query.SearchHitView, "CatalogHit", "One entity a search found.",
    description="One entity a search found: a source, schema, table (view, file, ...) or column, where it lives, "
                "its tags, and its rank (`score`, higher first).",
    descriptions={"entity_type": "`source`, `schema`, `dataset` or `column`: the URN's entity type.",
                  "kind": "What `kind` filters by: `source`, `schema`, `column` or the table's kind.",
                  "has_pii": "A column tagged `pii` or `pii.*`, or a table with such a column.",
                  "has_anomalies": "Its table's latest profile found an anomaly in it."})


@strawberry.input(description="Filters of a search: a hit has one of the values of each filter given (filters "
                              "combine with AND). `owner` is a principal, `term` and `domain` a glossary term's or "
                              "domain's name in any case.")
class SearchFilterInput:
    kind: list[str] | None = None
    source: list[str] | None = None
    schema: list[str] | None = None
    tag: list[str] | None = None
    owner: list[str] | None = None
    term: list[str] | None = None
    domain: list[str] | None = None
    has_pii: bool | None = None
    has_anomalies: bool | None = None

    def filters(self) -> query.SearchFilters:
        lists = {name: tuple(getattr(self, name) or ()) for name in
                 ("kind", "source", "schema", "tag", "owner", "term", "domain")}
        return query.SearchFilters(**lists, has_pii=self.has_pii, has_anomalies=self.has_anomalies)


@strawberry.type(description="A page of search hits, best first, with the number of all hits and their facets.")
class CatalogSearchConnection:
    edges: list[Edge[CatalogHitNode]]
    page_info: PageInfo
    total_count: int = strawberry.field(description="Every hit of the search, not only this page; when `totalExact` "
                                        "is false, a lower bound.")
    total_exact: bool = strawberry.field(description=f"False when the search has more than {query.MAX_CONSIDERED:,} "
                                         "hits: it ranks and counts only the first it finds (entities named exactly "
                                         "`q` and names that hold every word first), pages reach only those, and "
                                         "`totalCount` and every facet count are lower bounds.")
    facets: SearchFacetsNode


@strawberry.type
class SearchQuery:
    @strawberry.field(description="Ranked full-text search over sources, schemas, tables, views and columns: names, "
                                  "descriptions, comments and tags. Every word matches as a prefix (`custo` finds "
                                  "`customers`, `email` finds the tag `pii.email`); an entity named exactly `q` comes "
                                  "first. Without `q` the filters alone select. At most 100 hits per page.")
    async def catalog_search(self, info: Info, q: str | None = None, first: int = 20, after: str | None = None,
                             filter: SearchFilterInput | None = None) -> CatalogSearchConnection:  # noqa: A002
        request = query.SearchRequest(q=q, filters=filter.filters() if filter else query.SearchFilters(),
                                      first=first, after=after)
        found = await in_session(info.context.ctx, lambda session: query.search(session, request))
        edges = [Edge(cursor=cursor, node=CatalogHitNode.of(hit)) for hit, cursor in zip(found.hits, found.cursors)]
        return CatalogSearchConnection(
            edges=edges, total_count=found.total, total_exact=found.total_exact,
            facets=SearchFacetsNode.of(found.facets),
            page_info=PageInfo(has_next_page=found.has_next, end_cursor=found.cursors[-1] if found.cursors else None))
