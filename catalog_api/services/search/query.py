"""Ranked full-text search with filters, facet counts and Relay pages, over `search_documents`.

Every word of the search text is matched as a prefix (`custo` finds `customers`), words are combined with AND. A
search considers at most `MAX_CONSIDERED` hits, read from indexes in a fixed order (`_candidates`): the entities
named exactly as the search text, then those whose name holds every word, then any that match, each in id order.
It ranks and counts those: an entity whose whole name is the search text comes first, then by where the words are
found (name, description, tags) and, within that, shorter names first (`_score`). When there were more hits,
`total_exact` is false: `total` and the facet counts are then lower bounds over the hits considered. Without a
search text the filters alone select, in id order.

Owners, glossary terms and domains are searched as words of the document (with the weight of tags); their filters
and facets read the curation tables (`owners`, `glossary_links`, `domain_assignments`) by the hit's URN, like tags.
A term or domain filter matches its name in any case, an owner filter the principal exactly.

A request costs two statements whatever the page size or filters: the page of hits with every facet count (one
UNION ALL over the hits, computed once in a materialized CTE), and the tags of the page's hits.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import (
    ColumnElement,
    Float,
    and_,
    bindparam,
    case,
    func,
    literal,
    literal_column,
    null,
    or_,
    select,
    table,
    union_all,
)
from sqlalchemy import column as sql_column
from sqlalchemy.orm import Session

from catalog_api.db.curation import Domain, DomainAssignment, GlossaryTerm, Owner, TermLink
from catalog_api.db.models import Tag
from catalog_api.db.search import DOCUMENT_COLUMN, FTS_TABLE, NAME_WORDS_COLUMN, SearchDocument
from catalog_api.errors import InvalidInput
from catalog_api.services.browse import MAX_NAME, decode_cursor, encode_cursor, tags_of
from catalog_api.services.governance.assets import IN_DOMAIN, OWNED, TERMED
from catalog_api.services.text import reject_nul
from crawlers.snapshot import TableKind

MAX_QUERY = 200
MAX_WORDS = 16
MAX_PAGE = 100
MAX_FILTER_VALUES = 20
MAX_FILTER_VALUE = MAX_NAME
MAX_FACET_VALUES = 50
KINDS = ("source", "schema", *(k.value for k in TableKind), "column")
MAX_CONSIDERED = 500
"""The most hits one search ranks and counts: beyond, a short prefix would rank and count tens of thousands."""
EXACT_NAME_BONUS = 1000.0
"""Added to the score of an entity whose name is the search text: above any text rank on either database."""
_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True, slots=True)
class SearchFilters:
    """Each filter holds the values any of which a hit must have (OR); filters combine with AND. `owner` is a
    principal, `term` and `domain` names (in any case)."""

    kind: tuple[str, ...] = ()
    source: tuple[str, ...] = ()
    schema: tuple[str, ...] = ()
    tag: tuple[str, ...] = ()
    owner: tuple[str, ...] = ()
    term: tuple[str, ...] = ()
    domain: tuple[str, ...] = ()
    has_pii: bool | None = None
    has_anomalies: bool | None = None


@dataclass(frozen=True, slots=True)
class SearchRequest:
    q: str | None = None
    filters: SearchFilters = field(default_factory=SearchFilters)
    first: int = 20
    after: str | None = None


@dataclass(frozen=True, slots=True)
class SearchHitView:
    """One entity found: where it lives, what it is, its tags, and how well it matched (`score`, higher first)."""

    urn: str
    entity_type: str
    kind: str
    name: str
    source_name: str
    schema_name: str | None
    table_name: str | None
    description: str | None
    tags: list[str]
    has_pii: bool
    has_anomalies: bool
    score: float


@dataclass(frozen=True, slots=True)
class FacetValueView:
    value: str
    count: int


@dataclass(frozen=True, slots=True)
class SearchFacetsView:
    """How many of the hits considered (all of them when `total_exact`, not only the page) have each value, most
    frequent first (at most 50 values each). A hit
    with two owners counts once for each; `owner` counts a principal once per hit whatever its kinds and types."""

    source: list[FacetValueView]
    kind: list[FacetValueView]
    schema_name: list[FacetValueView]
    tag: list[FacetValueView]
    owner: list[FacetValueView]
    term: list[FacetValueView]
    domain: list[FacetValueView]
    has_pii: int
    has_anomalies: int


@dataclass(frozen=True, slots=True)
class SearchResultView:
    """A page of hits. `total` and `facets` count every hit when `total_exact`; a search with more than
    `MAX_CONSIDERED` hits considers only that many (see `_candidates`), and then `total` is that number, a lower
    bound, each facet count a lower bound too, and pages reach only those hits."""

    hits: list[SearchHitView]
    cursors: list[str]
    has_next: bool
    total: int
    total_exact: bool
    facets: SearchFacetsView


def query_words(q: str | None) -> list[str]:
    """The words of a search text, lower-cased, split as documents are (`pii.email` is `pii` and `email`)."""
    if q is None or not q.strip():
        return []
    if len(q) > MAX_QUERY:
        raise InvalidInput("q", f"a search text has at most {MAX_QUERY} characters")
    reject_nul("q", q)
    found = list(dict.fromkeys(w.lower() for w in _WORD.findall(q)))
    if not found:
        raise InvalidInput("q", "a search text needs at least one letter or digit")
    if len(found) > MAX_WORDS:
        raise InvalidInput("q", f"a search text has at most {MAX_WORDS} words")
    return found


def _check(request: SearchRequest) -> None:
    if not 0 <= request.first <= MAX_PAGE:
        raise InvalidInput("first", f"a page holds 0 to {MAX_PAGE} hits")
    filters = request.filters
    for name in ("kind", "source", "schema", "tag", "owner", "term", "domain"):
        values = getattr(filters, name)
        if len(values) > MAX_FILTER_VALUES:
            raise InvalidInput(name, f"at most {MAX_FILTER_VALUES} values")
        for index, value in enumerate(values):
            if not value or len(value) > MAX_FILTER_VALUE:
                raise InvalidInput(f"{name}.{index}", f"a value has 1 to {MAX_FILTER_VALUE} characters")
            reject_nul(f"{name}.{index}", value)
    for index, kind in enumerate(filters.kind):
        if kind not in KINDS:
            raise InvalidInput(f"kind.{index}", f"a kind is one of {', '.join(KINDS)}")


def _filters(filters: SearchFilters) -> list[ColumnElement[bool]]:
    d = SearchDocument
    conditions: list[ColumnElement[bool]] = []
    for values, column in ((filters.kind, d.kind), (filters.source, d.source_name), (filters.schema, d.schema_name)):
        if values:
            conditions.append(column.in_(values))
    if filters.tag:
        conditions.append(select(Tag.id).where(Tag.entity_urn == d.urn, Tag.tag.in_(filters.tag)).exists())
    if filters.owner:
        conditions.append(select(Owner.id).where(Owner.entity_urn == d.urn, Owner.principal.in_(filters.owner))
                          .exists())
    if filters.term:
        conditions.append(select(TermLink.id).join(GlossaryTerm, GlossaryTerm.id == TermLink.term_id)
                          .where(TermLink.entity_urn == d.urn, _lower_in(GlossaryTerm.name, filters.term)).exists())
    if filters.domain:
        conditions.append(select(DomainAssignment.id).join(Domain, Domain.id == DomainAssignment.domain_id)
                          .where(DomainAssignment.entity_urn == d.urn, _lower_in(Domain.name, filters.domain))
                          .exists())
    if filters.has_pii is not None:
        conditions.append(d.has_pii.is_(filters.has_pii))
    if filters.has_anomalies is not None:
        conditions.append(d.has_anomalies.is_(filters.has_anomalies))
    return conditions


def _lower_in(column, values: tuple[str, ...]) -> ColumnElement[bool]:
    return func.lower(column).in_(sorted({v.lower() for v in values}))


def _candidates(session: Session, words: list[str], filters: SearchFilters):
    """The hits a search considers (`id`, `priority`), at most `MAX_CONSIDERED` + 1 of them (one more than it ranks
    says there were more): the entities named exactly as the search text (priority 0), then the first whose name holds
    every word (1), then the first that match at all (2), each in id order. Every part is a bounded read of an index."""
    d = SearchDocument
    conditions = _filters(filters)
    limit = MAX_CONSIDERED + 1
    if not words:
        arms = [select(d.id, literal(2).label("priority")).where(*conditions).order_by(d.id).limit(limit)]
    elif session.get_bind().dialect.name == "postgresql":
        # the words written into the statement's text, not bound: a prepared statement (psycopg prepares one after 5
        # runs) turns generic after 5 more, and a generic plan that cannot see how many documents a prefix matches
        # walks the primary key testing every document (100-150 ms instead of 20 on 100,000 documents)
        query = func.to_tsquery(literal_column("'simple'"),
                                bindparam(None, " & ".join(f"{w}:*" for w in words), literal_execute=True))
        arms = [select(d.id, literal(priority).label("priority"))
                .where(literal_column(f"{d.__tablename__}.{vector}").op("@@")(query), *conditions)
                .order_by(d.id).limit(limit) for priority, vector in ((1, NAME_WORDS_COLUMN), (2, DOCUMENT_COLUMN))]
    else:
        fts = table(FTS_TABLE, sql_column("rowid"))
        # the documents' filters per full-text hit, so that the planner never walks a filter's index and runs the
        # full-text query once per document instead (seconds on 100,000 documents)
        kept = [select(d.id).where(d.id == fts.c.rowid, *conditions).exists()] if conditions else []
        phrases = " AND ".join(f'"{w}"*' for w in words)
        arms = [select(fts.c.rowid.label("id"), literal(priority).label("priority"))
                .where(literal_column(FTS_TABLE).op("MATCH")(match), *kept).order_by(fts.c.rowid).limit(limit)
                for priority, match in ((1, f"name_text : ({phrases})"), (2, phrases))]
    if words:
        arms.append(select(d.id, literal(0).label("priority"))
                    .where(func.lower(d.name).in_(_exact_names(words)), *conditions).order_by(d.id).limit(limit))
    parts = [arm.subquery() for arm in arms]
    found = union_all(*(select(part.c.id, part.c.priority) for part in parts)).subquery("found")
    best = func.min(found.c.priority)
    return (select(found.c.id, best.label("priority")).group_by(found.c.id).order_by(best, found.c.id).limit(limit)
            .cte("candidates").prefix_with("MATERIALIZED"))


def _exact_names(words: list[str]) -> list[str]:
    """The lower-cased names that are the search text: its words joined by a space, `_` or `.`."""
    return list(dict.fromkeys(sep.join(words) for sep in (" ", "_", ".")))


def _score(words: list[str]):
    """The tiers of `_tiers`, then, within a tier, shorter names first (a closer match: `cust` ranks `customers` above
    `customer_order_lines`), as a fraction in (0, 0.5] below one step of a tier."""
    if not words:
        return literal(0.0, Float)
    return _tiers(words) + literal(1.0, Float) / (literal(1.0, Float) + func.length(SearchDocument.name))


def _tiers(words: list[str]):
    """Whole steps by where the words are found: the name is the search text (1000), every word starts a word of the
    name (100), of the description or comment (10), of a tag (5)."""
    d = SearchDocument
    name = func.lower(d.name)

    def all_in(column) -> ColumnElement[bool]:
        spaced = literal(" ") + column
        return and_(*(spaced.like(f"% {w}%") for w in words))

    return (case((name.in_(_exact_names(words)), EXACT_NAME_BONUS), else_=0.0)
            + case((all_in(d.name_text), 100.0), else_=0.0) + case((all_in(d.body_text), 10.0), else_=0.0)
            + case((all_in(d.tag_text), 5.0), else_=0.0))


_FACETS = ("source", "kind", "schema", "tag", "owner", "term", "domain")
_FLAGS = ("has_pii", "has_anomalies")
_CONSIDERED = "considered"
_COMBINATIONS = "combinations"
"""The `part` of the rows counting the hits per source, kind, schema, PII and anomalies (one GROUP BY for five
facets: each facet's counts are sums over these rows)."""


def search(session: Session, request: SearchRequest) -> SearchResultView:
    """One page of ranked hits of `request`, with the total and the facet counts of the hits it considered."""
    words = query_words(request.q)
    _check(request)
    after = _position(request.after)
    d = SearchDocument
    candidates = _candidates(session, words, request.filters)
    hits = (select(d.id, d.urn, d.entity_kind, d.kind, d.name, d.source_name, d.schema_name, d.table_name,
                   d.description, d.has_pii, d.has_anomalies, _score(words).label("score"))
            .select_from(candidates.join(d, d.id == candidates.c.id))
            .order_by(candidates.c.priority, candidates.c.id).limit(MAX_CONSIDERED)
            .cte("hits").prefix_with("MATERIALIZED"))
    rows, facets = [], {name: [] for name in _FACETS}
    flags = dict.fromkeys((*_FLAGS, _CONSIDERED), 0)
    summed = {name: Counter() for name in ("source", "kind", "schema")}
    for row in session.execute(_statement(hits, candidates, request.first, after)):
        if row.part == "hit":
            rows.append(row)
        elif row.part == _COMBINATIONS:
            summed["source"][row.source_name] += row.n
            summed["kind"][row.kind] += row.n
            if row.schema_name is not None:
                summed["schema"][row.schema_name] += row.n
            for name in _FLAGS:
                flags[name] += row.n if row._mapping[name] else 0
        elif row.part == _CONSIDERED:
            flags[_CONSIDERED] = row.n
        else:
            facets[row.part].append(FacetValueView(row.value, row.n))
    for name, counts in summed.items():
        facets[name] = [FacetValueView(value, n) for value, n in counts.items()]
    rows.sort(key=lambda r: (-r.score, r.id))
    has_next = len(rows) > request.first
    rows = rows[:request.first]
    tags = tags_of(session, [r.urn for r in rows]) if rows else {}
    found = [SearchHitView(urn=r.urn, entity_type=r.entity_kind, kind=r.kind, name=r.name, source_name=r.source_name,
                           schema_name=r.schema_name, table_name=r.table_name, description=r.description,
                           tags=tags[r.urn], has_pii=bool(r.has_pii), has_anomalies=bool(r.has_anomalies),
                           score=float(r.score)) for r in rows]
    total = sum(v.count for v in facets["kind"])  # every document has exactly one kind
    for values in facets.values():
        values.sort(key=lambda v: (-v.count, v.value))
        del values[MAX_FACET_VALUES:]
    return SearchResultView(
        hits=found, cursors=[encode_cursor([h.score, r.id]) for h, r in zip(found, rows)], has_next=has_next,
        total=total, total_exact=flags.pop(_CONSIDERED) <= MAX_CONSIDERED,
        facets=SearchFacetsView(source=facets["source"], kind=facets["kind"], schema_name=facets["schema"],
                                tag=facets["tag"], owner=facets["owner"], term=facets["term"],
                                domain=facets["domain"], **flags))


def _position(after: str | None) -> tuple[float, int] | None:
    if after is None:
        return None
    score, document = decode_cursor(after)
    if not isinstance(score, (int, float)) or not isinstance(document, int) or not math.isfinite(score):
        raise InvalidInput("after", "not a cursor returned by this API")
    return float(score), document


def _statement(hits, candidates, first: int, after: tuple[float, int] | None):
    """One statement over the hits computed once: the page (`part` hit), the hits counted per combination of source,
    kind, schema, PII and anomalies (`part` combinations, summed per facet by `search`), the tag, owner, term and domain
    counts (`part` the facet) and how many candidates there were (`part` considered: one more than `MAX_CONSIDERED`
    when there were more)."""
    page = select(hits).order_by(hits.c.score.desc(), hits.c.id).limit(first + 1)
    if after is not None:
        page = page.where(or_(hits.c.score < after[0], and_(hits.c.score == after[0], hits.c.id > after[1])))
    page = page.subquery("page")
    blank = {c.name: null() for c in page.c}
    counted = func.count()

    def facet(name: str, value, *where, joined=None, counting=counted):
        return select(literal(name).label("part"), value.label("value"), counting.label("n"),
                      *(v.label(k) for k, v in blank.items())
                      ).select_from(joined if joined is not None else hits).where(*where).group_by(value)

    def urns_of(entity_kinds=None):
        urns = select(hits.c.urn)
        return urns if entity_kinds is None else urns.where(hits.c.entity_kind.in_(entity_kinds))

    combined = ("source_name", "kind", "schema_name", *_FLAGS)
    combinations = select(literal(_COMBINATIONS).label("part"), null().label("value"), counted.label("n"),
                          *((hits.c[k] if k in combined else v).label(k) for k, v in blank.items())
                          ).group_by(*(hits.c[k] for k in combined))

    return union_all(
        select(literal("hit").label("part"), null().label("value"), null().label("n"), *page.c),
        combinations,
        # the curation rows of the hits, looked up by URN: a join let SQLite walk every tag and owner in value order
        facet("tag", Tag.tag, Tag.entity_urn.in_(urns_of()), joined=Tag),
        # only the hits whose kind carries owners (or terms, or a domain) are looked up: most hits are columns
        facet("owner", Owner.principal, Owner.entity_urn.in_(urns_of(OWNED)), joined=Owner,
              counting=func.count(Owner.entity_urn.distinct())),
        facet("term", GlossaryTerm.name, TermLink.entity_urn.in_(urns_of(TERMED)),
              joined=TermLink.__table__.join(GlossaryTerm, GlossaryTerm.id == TermLink.term_id)),
        facet("domain", Domain.name, DomainAssignment.entity_urn.in_(urns_of(IN_DOMAIN)),
              joined=DomainAssignment.__table__.join(Domain, Domain.id == DomainAssignment.domain_id)),
        select(literal(_CONSIDERED).label("part"), null().label("value"), counted.label("n"),
               *(v.label(k) for k, v in blank.items())).select_from(candidates),
    )
