"""REST search: GET /api/v1/search, ranked full-text hits with filters, facet counts and cursor pages."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import Field, StringConstraints
from sqlalchemy.orm import Session

from catalog_api.rest.contract import checked_by_service
from catalog_api.rest.deps import QUERY_SESSION
from catalog_api.rest.models import ViewModel, rest_model
from catalog_api.rest.security import allow
from catalog_api.security.identity import Permission
from catalog_api.services.search import query

router = APIRouter(prefix="/api/v1", tags=["search"])

FacetValueOut = rest_model("FacetValueOut", query.FacetValueView, "One value of a facet and how many hits have it.")
SearchFacetsOut = rest_model("SearchFacetsOut", query.SearchFacetsView,
                             "How many of all hits (the hits considered when `total_exact` is false) have each "
                             "value (at most 50 values per facet, most frequent first); `has_pii` and "
                             "`has_anomalies` count hits. `owner` counts each principal "
                             "once per hit, `term` and `domain` count by name.")
CatalogHitOut = rest_model("CatalogHitOut", query.SearchHitView,
                           "One entity a search found: a source, schema, table (view, file, ...) or column, where it "
                           "lives, its tags, and its rank (`score`, higher first).")


class SearchPageOut(ViewModel):
    """A page of search hits, best first; pass `next_cursor` as `after` for the next page (null: the last one)."""

    hits: list[CatalogHitOut]
    total: int = Field(description="Every hit of the search, not only this page; when `total_exact` is false, the "
                       f"{query.MAX_CONSIDERED:,} hits the search considered, a lower bound.")
    total_exact: bool = Field(description=f"False when the search has more than {query.MAX_CONSIDERED:,} hits: it "
                              "ranks and counts only the first it finds (entities named exactly `q` and names that "
                              "hold every word first), pages reach only those, and `total` and every facet count "
                              "are lower bounds.")
    next_cursor: str | None
    facets: SearchFacetsOut


Value = Annotated[str, StringConstraints(min_length=1, max_length=query.MAX_FILTER_VALUE)]


def _values(what: str) -> object:
    return Query([], max_length=query.MAX_FILTER_VALUES,
                 description=f"{what}; repeat the parameter for several (a hit has one of them).")


@router.get("/search", dependencies=[allow(Permission.READ)], response_model=SearchPageOut)
def search(
    q: str | None = Query(None, max_length=query.MAX_QUERY, description="Words to find, each as a prefix, in names, "
                          "descriptions, comments and tags; none: the filters alone select.",
                          **checked_by_service(r"^(?:\s*|[^\x00]*[^\W_][^\x00]*)$")),
    kind: list[Value] = _values(f"Entity kinds: {', '.join(query.KINDS)}"),
    source: list[Value] = _values("Source names"),
    schema: list[Value] = _values("Schema names"),
    tag: list[Value] = _values("Tags, e.g. `pii.email`"),
    owner: list[Value] = _values("Owners' principals, e.g. `ana@example.com`"),
    term: list[Value] = _values("Glossary term names, in any case"),
    domain: list[Value] = _values("Domain names, in any case"),
    has_pii: bool | None = Query(None, description="Only hits that hold PII (true) or do not (false)."),
    has_anomalies: bool | None = Query(None, description="Only hits with (true) or without (false) anomalies in "
                                       "their table's latest profile."),
    first: int = Query(20, ge=0, le=query.MAX_PAGE, description="Hits per page."),
    after: str | None = Query(None, max_length=200, description="The `next_cursor` of the previous page of the "
                              "same search (any other value is refused with 422)."),
    session: Session = QUERY_SESSION,
) -> SearchPageOut:
    """Ranked full-text search over sources, schemas, tables, views and columns (names, descriptions, comments,
    tags): every word matches as a prefix, an entity named exactly `q` comes first. Facets count every hit."""
    filters = query.SearchFilters(kind=tuple(kind), source=tuple(source), schema=tuple(schema), tag=tuple(tag),
                                  owner=tuple(owner), term=tuple(term), domain=tuple(domain), has_pii=has_pii,
                                  has_anomalies=has_anomalies)
    found = query.search(session, query.SearchRequest(q=q, filters=filters, first=first, after=after))
    return SearchPageOut(hits=[CatalogHitOut.of(h) for h in found.hits], total=found.total,
                         total_exact=found.total_exact,
                         next_cursor=found.cursors[-1] if found.has_next else None,
                         facets=SearchFacetsOut.of(found.facets))
