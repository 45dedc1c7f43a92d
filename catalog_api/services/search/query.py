"""Ranked full-text search with filters, facet counts and Relay pages, over `search_documents`.

Every word of the search text is matched as a prefix (`custo` finds `customers`), words are combined with AND. A
search considers at most `MAX_CONSIDERED` hits, read from indexes in a fixed order (`_candidates`): the entities
named exactly as the search text, then those whose name holds every word, then any that match, each in id order.
It ranks and counts those: an entity whose whole name is the search text comes first, then by where the words are
found (name, description, tags) and, within that, shorter names first (`_score`); equal scores put tables first, then
schemas, sources and columns, then names in code point order, then ids (`_order`). When there were more hits,
`total_exact` is false: `total` and the facet counts are then lower bounds over the hits considered. Without a
search text the filters alone select, in id order.

Owners, glossary terms and domains are searched as words of the document (with the weight of tags); their filters
and facets read the curation tables (`owners`, `glossary_links`, `domain_assignments`) by the hit's URN, like tags.
A term or domain filter matches its name in any case, an owner filter the principal exactly.

A request costs two statements whatever the page size or filters: the page of hits with every facet count (one
UNION ALL over the hits, computed once in a materialized CTE), and the tags of the page's hits. The first is built
once per shape (`_search_statement`) on bound parameters, so that SQLAlchemy compiles it once.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Float,
    Integer,
    String,
    and_,
    bindparam,
    case,
    func,
    intersect,
    literal,
    literal_column,
    null,
    or_,
    select,
    table,
    tuple_,
    union_all,
)
from sqlalchemy import column as sql_column
from sqlalchemy.orm import Session

from catalog_api.db.curation import Domain, DomainAssignment, GlossaryTerm, Owner, TermLink
from catalog_api.db.models import Tag
from catalog_api.db.search import DOCUMENT_COLUMN, FTS_TABLE, NAME_WORD_TABLE, SearchDocument
from catalog_api.errors import InvalidInput
from catalog_api.services.browse import MAX_NAME, decode_cursor, encode_cursor, tags_of
from catalog_api.services.governance.assets import IN_DOMAIN, OWNED, TERMED
from catalog_api.services.text import reject_nul
from catalog_api.urns import EntityType
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


_LISTED = ("kind", "source", "schema", "tag", "owner", "term", "domain")


def _shape(filters: SearchFilters) -> tuple[str, ...]:
    """The filters a request sets: with the number of words, what its statement's text depends on."""
    return (*(n for n in _LISTED if getattr(filters, n)), *(n for n in _FLAGS if getattr(filters, n) is not None))


def _filter_values(filters: SearchFilters) -> dict[str, object]:
    """The bound values of `_filters`' parameters (terms and domains lower-cased: they match in any case)."""
    values: dict[str, object] = {}
    for name in _shape(filters):
        value = getattr(filters, name)
        values[f"f_{name}"] = sorted({v.lower() for v in value}) if name in ("term", "domain") else value
    return values


def _filters(shape: tuple[str, ...]) -> list[ColumnElement[bool]]:
    """The conditions of the filters `shape` names, on bound parameters `f_<filter>` (`_filter_values`)."""
    d = SearchDocument

    def values(name: str):
        return bindparam(f"f_{name}", expanding=True)

    conditions: list[ColumnElement[bool]] = []
    for name, column in (("kind", d.kind), ("source", d.source_name), ("schema", d.schema_name)):
        if name in shape:
            conditions.append(column.in_(values(name)))
    if "tag" in shape:
        conditions.append(select(Tag.id).where(Tag.entity_urn == d.urn, Tag.tag.in_(values("tag"))).exists())
    if "owner" in shape:
        conditions.append(select(Owner.id).where(Owner.entity_urn == d.urn, Owner.principal.in_(values("owner")))
                          .exists())
    if "term" in shape:
        conditions.append(select(TermLink.id).join(GlossaryTerm, GlossaryTerm.id == TermLink.term_id)
                          .where(TermLink.entity_urn == d.urn, func.lower(GlossaryTerm.name).in_(values("term")))
                          .exists())
    if "domain" in shape:
        conditions.append(select(DomainAssignment.id).join(Domain, Domain.id == DomainAssignment.domain_id)
                          .where(DomainAssignment.entity_urn == d.urn, func.lower(Domain.name).in_(values("domain")))
                          .exists())
    for name in _FLAGS:
        if name in shape:
            conditions.append(getattr(d, name) == bindparam(f"f_{name}", type_=Boolean))
    return conditions


def _candidates(dialect: str, words: int, shape: tuple[str, ...], considered: int):
    """The hits a search considers (`id`, `priority`), at most `considered` + 1 of them (one more than it ranks says
    there were more): the entities named exactly as the search text (priority 0), then the first whose name holds
    every word (1), then the first that match at all (2), each in id order. Every part is a bounded read of an index:
    on PostgreSQL the names' words are ranges of `search_name_words`' btree, and the documents that only mention the
    words are read only when the names leave room. The words are bound parameters (`_word_values`)."""
    d = SearchDocument
    conditions = _filters(shape)
    limit = considered + 1
    if not words:
        arms = [select(d.id, literal(2).label("priority")).where(*conditions).order_by(d.id).limit(limit)]
    elif dialect == "postgresql":
        arms = _postgres_arms(words, conditions, limit)
    else:
        fts = table(FTS_TABLE, sql_column("rowid"))
        # the documents' filters per full-text hit, so that the planner never walks a filter's index and runs the
        # full-text query once per document instead (seconds on 100,000 documents)
        kept = [select(d.id).where(d.id == fts.c.rowid, *conditions).exists()] if conditions else []
        arms = [select(fts.c.rowid.label("id"), literal(priority).label("priority"))
                .where(literal_column(FTS_TABLE).op("MATCH")(bindparam(match, type_=String)), *kept)
                .order_by(fts.c.rowid).limit(limit) for priority, match in ((1, "name_match"), (2, "any_match"))]
    if words:
        arms.append(select(d.id, literal(0).label("priority"))
                    .where(func.lower(d.name).in_(bindparam("exact", expanding=True)), *conditions)
                    .order_by(d.id).limit(limit))
    parts = [arm.subquery() for arm in arms]
    found = union_all(*(select(part.c.id, part.c.priority) for part in parts)).subquery("found")
    best = func.min(found.c.priority)
    return (select(found.c.id, best.label("priority")).group_by(found.c.id).order_by(best, found.c.id).limit(limit)
            .cte("candidates").prefix_with("MATERIALIZED"))


def _postgres_arms(words: int, conditions: list[ColumnElement[bool]], limit: int) -> list:
    """The first `limit` documents whose name holds every word (priority 1), then, only when those leave room, the
    first `limit` that hold them anywhere (2), each in id order."""
    d = SearchDocument
    # the words written into the statement's text, not bound: a prepared statement (psycopg prepares one after 5
    # runs) turns generic after 5 more, and a generic plan that cannot see how many documents a prefix matches
    # walks the primary key testing every document (100-150 ms instead of 20 on 100,000 documents)
    pairs = table(NAME_WORD_TABLE, sql_column("word"), sql_column("document_id"))
    prefixes = [select(pairs.c.document_id).where(pairs.c.word.like(
        bindparam(f"prefix_{i}", type_=String, literal_execute=True))) for i in range(words)]
    holding = (intersect(*prefixes) if words > 1 else prefixes[0].distinct()).subquery("holding")
    if conditions:
        by_name = select(d.id, literal(1).label("priority")).where(
            d.id.in_(select(holding.c.document_id)), *conditions).order_by(d.id)
    else:
        by_name = select(holding.c.document_id.label("id"), literal(1).label("priority")).order_by(
            holding.c.document_id)
    named = by_name.limit(limit).cte("named").prefix_with("MATERIALIZED")
    # the documents that only mention the words are not read when the names alone fill the candidates: all would
    # come after them (10-15 ms of a frequent prefix); a condition on no column, which PostgreSQL tests once before
    # running the arm it planned as if it ran (a LIMIT computed from the names made it plan for any number of rows)
    room = select(func.count()).select_from(named).scalar_subquery() < limit
    query = func.to_tsquery(literal_column("'simple'"), bindparam("tsquery", type_=String, literal_execute=True))
    return [select(named.c.id, named.c.priority), select(d.id, literal(2).label("priority")).where(
        literal_column(f"{d.__tablename__}.{DOCUMENT_COLUMN}").op("@@")(query), *conditions, room
    ).order_by(d.id).limit(limit)]


def _word_values(words: list[str]) -> dict[str, object]:
    """The bound values of the words' parameters in `_candidates` and `_score`."""
    if not words:
        return {}
    phrases = " AND ".join(f'"{w}"*' for w in words)
    return {"exact": _exact_names(words), "tsquery": " & ".join(f"{w}:*" for w in words),
            "name_match": f"name_text : ({phrases})", "any_match": phrases,
            **{f"prefix_{i}": f"{w}%" for i, w in enumerate(words)},  # a word has no `%` or `_` (`_WORD`)
            **{f"word_{i}": f"% {w}%" for i, w in enumerate(words)}}


def _exact_names(words: list[str]) -> list[str]:
    """The lower-cased names that are the search text: its words joined by a space, `_` or `.`."""
    return list(dict.fromkeys(sep.join(words) for sep in (" ", "_", ".")))


def _score(words: int):
    """The tiers of `_tiers`, then, within a tier, shorter names first (a closer match: `cust` ranks `customers` above
    `customer_order_lines`), as a fraction in (0, 0.5] below one step of a tier."""
    if not words:
        return literal(0.0, Float)
    return _tiers(words) + literal(1.0, Float) / (literal(1.0, Float) + func.length(SearchDocument.name))


def _tiers(words: int):
    """Whole steps by where the words are found: the name is the search text (1000), every word starts a word of the
    name (100), of the description or comment (10), of a tag (5)."""
    d = SearchDocument
    name = func.lower(d.name)

    def all_in(column) -> ColumnElement[bool]:
        spaced = literal(" ") + column
        return and_(*(spaced.like(bindparam(f"word_{i}", type_=String)) for i in range(words)))

    return (case((name.in_(bindparam("exact", expanding=True)), EXACT_NAME_BONUS), else_=0.0)
            + case((all_in(d.name_text), 100.0), else_=0.0) + case((all_in(d.body_text), 10.0), else_=0.0)
            + case((all_in(d.tag_text), 5.0), else_=0.0))


_TIE_ORDER = {EntityType.DATASET: 0, EntityType.SCHEMA: 1, EntityType.SOURCE: 2}
"""Among hits of equal score, tables (views, files, ...) first, then schemas and sources, then columns (`else`): a
table named as the search text is more often what is looked for than the columns named alike."""


def _tie(entity_kind):
    return case({k.value: v for k, v in _TIE_ORDER.items()}, value=entity_kind, else_=len(_TIE_ORDER))


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
    statement = _search_statement(session.get_bind().dialect.name, len(words), _shape(request.filters),
                                  after is not None, MAX_CONSIDERED)
    parameters = {**_word_values(words), **_filter_values(request.filters), "page_size": request.first + 1,
                  **(dict(zip(("after_score", "after_tie", "after_name", "after_id"), after)) if after else {})}
    rows, facets = [], {name: [] for name in _FACETS}
    flags = dict.fromkeys((*_FLAGS, _CONSIDERED), 0)
    summed = {name: Counter() for name in ("source", "kind", "schema")}
    for row in session.execute(statement, parameters):
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
    rows.sort(key=_order)  # the statement's page order (a UNION ALL keeps none): Python compares str by code point
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
        hits=found, cursors=[encode_cursor([h.score, r.tie, r.name, r.id]) for h, r in zip(found, rows)],
        has_next=has_next, total=total, total_exact=flags.pop(_CONSIDERED) <= MAX_CONSIDERED,
        facets=SearchFacetsView(source=facets["source"], kind=facets["kind"], schema_name=facets["schema"],
                                tag=facets["tag"], owner=facets["owner"], term=facets["term"],
                                domain=facets["domain"], **flags))


def _order(row) -> tuple:
    """Higher scores first; among equal scores tables before schemas, sources and columns (`_tie`), then by name (code
    point order on both databases), then by id."""
    return -row.score, row.tie, row.name, row.id


def _position(after: str | None) -> tuple[float, int, str, int] | None:
    if after is None:
        return None
    score, tie, name, document = decode_cursor(after, size=4)
    if (not isinstance(score, (int, float)) or not math.isfinite(score) or type(tie) is not int
            or not isinstance(name, str) or type(document) is not int):
        raise InvalidInput("after", "not a cursor returned by this API")
    return float(score), tie, name, document


@lru_cache(maxsize=256)  # shapes: up to 16 words times the filters set; the few in use stay
def _search_statement(dialect: str, words: int, shape: tuple[str, ...], after: bool, considered: int):
    """The statement of every search with this many words, these filters set and a cursor or not, on bound parameters
    alone (`search` binds them): built once, its SQL compiled once by SQLAlchemy's cache, which a statement built per
    request with its values written in would defeat (building it cost more CPU than PostgreSQL spends running it)."""
    d = SearchDocument
    candidates = _candidates(dialect, words, shape, considered)
    hits = (select(d.id, d.urn, d.entity_kind, d.kind, d.name, d.source_name, d.schema_name, d.table_name,
                   d.description, d.has_pii, d.has_anomalies, _score(words).label("score"),
                   _tie(d.entity_kind).label("tie"))
            .select_from(candidates.join(d, d.id == candidates.c.id))
            .order_by(candidates.c.priority, candidates.c.id).limit(considered)
            .cte("hits").prefix_with("MATERIALIZED"))
    return _statement(hits, candidates, dialect, after)


def _statement(hits, candidates, dialect: str, after: bool):
    """One statement over the hits computed once: the page (`part` hit), the hits counted per combination of source,
    kind, schema, PII and anomalies (`part` combinations, summed per facet by `search`), the tag, owner, term and domain
    counts (`part` the facet) and how many candidates there were (`part` considered: one more than `MAX_CONSIDERED`
    when there were more)."""
    # names compared by code point, as SQLite and Python do, not by PostgreSQL's locale
    name = hits.c.name.collate("C") if dialect == "postgresql" else hits.c.name
    page = (select(hits).order_by(hits.c.score.desc(), hits.c.tie, name, hits.c.id)
            .limit(bindparam("page_size", type_=Integer)))
    if after:
        score = bindparam("after_score", type_=Float)
        tied = tuple_(bindparam("after_tie", type_=Integer), bindparam("after_name", type_=String),
                      bindparam("after_id", type_=Integer))
        page = page.where(or_(hits.c.score < score, and_(hits.c.score == score,
                                                          tuple_(hits.c.tie, name, hits.c.id) > tied)))
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
