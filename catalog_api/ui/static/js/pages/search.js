// The search page (/ui and /ui/search?q=…&kind=…): ranked hits of GraphQL `catalogSearch` with its facets. The
// words, the filters and the page's cursor live in the address, so a search is a link to share; without words the
// filters alone select, so the bare page browses everything.
import { gql } from "../api.js";
import { formatCount, html, Loading, useLoad } from "../lib.js";
import { Link, navigate, schemaHref, sourceHref, tableHref } from "../router.js";
import { tableUrnOf } from "../urns.js";

const PAGE_SIZE = 25;

const SEARCH = `query Search($q: String, $first: Int!, $after: String, $filter: SearchFilterInput) {
  catalogSearch(q: $q, first: $first, after: $after, filter: $filter) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { urn entityType kind name sourceName schemaName tableName description tags hasPii hasAnomalies } }
    facets {
      source { value count } kind { value count } schemaName { value count } tag { value count }
      owner { value count } term { value count } domain { value count } hasPii hasAnomalies
    }
  }
}`;

// Each facet: the address parameter (repeated for several values), the filter field and the facet that counts it.
const LISTED_FACETS = [
  { param: "source", facet: "source", label: "Source" },
  { param: "kind", facet: "kind", label: "Kind" },
  { param: "schema", facet: "schemaName", label: "Schema" },
  { param: "tag", facet: "tag", label: "Tag" },
  { param: "owner", facet: "owner", label: "Owner" },
  { param: "term", facet: "term", label: "Glossary term" },
  { param: "domain", facet: "domain", label: "Domain" },
];
const FLAG_FACETS = [
  { param: "pii", facet: "hasPii", label: "Holds PII" },
  { param: "anomalies", facet: "hasAnomalies", label: "Has anomalies" },
];

// The GraphQL filter the address asks for.
function filterOf(query) {
  const filter = {};
  for (const { param } of LISTED_FACETS) {
    const values = query.getAll(param);
    if (values.length) filter[param] = values;
  }
  for (const { param, facet } of FLAG_FACETS) {
    if (query.has(param)) filter[facet] = query.get(param) === "true";
  }
  return filter;
}

// The search address with `change(params)` applied, back on the first page.
function searchHref(query, change) {
  const next = new URLSearchParams(query);
  next.delete("after");
  change(next);
  const text = next.toString();
  return text ? `/ui/search?${text}` : "/ui/search";
}

function toggled(query, param, value) {
  return searchHref(query, (next) => {
    const values = next.getAll(param);
    next.delete(param);
    const kept = values.includes(value) ? values.filter((v) => v !== value) : [...values, value];
    for (const item of kept) next.append(param, item);
  });
}

// Where a hit opens: a table's page (a column's table's), a schema's or a source's listing.
export function hitHref(hit) {
  if (hit.entityType === "source") return sourceHref(hit.name);
  if (hit.entityType === "schema") return schemaHref(hit.sourceName, hit.name);
  return tableHref(tableUrnOf(hit.urn));
}

function Place({ hit }) {
  const parts = [hit.sourceName, hit.schemaName, hit.entityType === "column" ? hit.tableName : null];
  return html`<span class="place">${parts.filter(Boolean).join(" › ")}</span>`;
}

function Hit({ hit }) {
  return html`<li class="hit">
    <div class="hit-title">
      <span class=${`badge kind kind-${hit.entityType}`}>${hit.kind}</span>
      <${Link} href=${hitHref(hit)}>${hit.name}</${Link}>
      ${hit.hasPii ? html`<span class="badge warn" title="Holds personal data">PII</span>` : null}
      ${hit.hasAnomalies ? html`<span class="badge error" title="Anomalies in the latest profile">anomalies</span>`
        : null}
      <${Place} hit=${hit} />
    </div>
    ${hit.description ? html`<p class="snippet">${hit.description}</p>` : null}
    ${hit.tags.length ? html`<div>${hit.tags.map((tag) => html`<span class="tag">${tag}</span>`)}</div>` : null}
  </li>`;
}

function FacetPanel({ label, param, values, query }) {
  if (!values.length) return null;
  const chosen = query.getAll(param);
  return html`<section class="facet" aria-label=${label}>
    <h3>${label}</h3>
    <ul>${values.map(({ value, count }) => html`<li>
      <${Link} href=${toggled(query, param, value)} class=${chosen.includes(value) ? "chosen" : ""}
        aria-pressed=${chosen.includes(value)}>${value} <span class="count">${formatCount(count)}</span></${Link}>
    </li>`)}</ul>
  </section>`;
}

function FlagPanel({ facets, query }) {
  const shown = FLAG_FACETS.filter(({ param, facet }) => facets[facet] || query.has(param));
  if (!shown.length) return null;
  return html`<section class="facet" aria-label="Markers">
    <h3>Markers</h3>
    <ul>${shown.map(({ param, facet, label }) => html`<li>
      <${Link} href=${searchHref(query, (next) => (next.has(param) ? next.delete(param) : next.set(param, "true")))}
        class=${query.has(param) ? "chosen" : ""} aria-pressed=${query.has(param)}>
        ${label} <span class="count">${formatCount(facets[facet])}</span></${Link}>
    </li>`)}</ul>
  </section>`;
}

// The filters in force, each removable, and a way to drop them all.
function ActiveFilters({ query }) {
  const active = [
    ...LISTED_FACETS.flatMap(({ param, label }) => query.getAll(param)
      .map((value) => ({ param, label, value, raw: value }))),
    ...FLAG_FACETS.filter(({ param }) => query.has(param))
      .map(({ param, label }) => ({ param, label, value: query.get(param) === "true" ? "yes" : "no",
        raw: query.get(param) })),
  ];
  if (!active.length) return null;
  const remove = (param, value) => searchHref(query, (next) => {
    const kept = next.getAll(param).filter((v) => v !== value);
    next.delete(param);
    for (const item of kept) next.append(param, item);
  });
  const clear = searchHref(query, (next) => {
    for (const { param } of [...LISTED_FACETS, ...FLAG_FACETS]) next.delete(param);
  });
  return html`<div class="active-filters" aria-label="Active filters" role="list">
    ${active.map(({ param, label, value, raw }) => html`<span class="chip" role="listitem">${label}: ${value}
      <${Link} href=${remove(param, raw)} aria-label=${`Remove filter ${label}: ${value}`}
        class="remove">×</${Link}></span>`)}
    <${Link} href=${clear}>Clear filters</${Link}>
  </div>`;
}

export default function SearchPage({ query }) {
  const address = query.toString();
  const q = query.get("q") || "";
  const after = query.get("after");
  const state = useLoad(
    () => gql(SEARCH, { q: q.trim() || null, first: PAGE_SIZE, after, filter: filterOf(query) }),
    [address],
  );
  return html`<main class="search-page">
    <h1>${q ? html`Results for “${q}”` : "Browse the catalog"}</h1>
    <${ActiveFilters} query=${query} />
    <${Loading} state=${state}>${({ catalogSearch: found }) => html`
      <div class="search-layout">
        <aside class="facets" aria-label="Filters">
          ${LISTED_FACETS.map(({ param, facet, label }) => html`<${FacetPanel} label=${label} param=${param}
            values=${found.facets[facet]} query=${query} />`)}
          <${FlagPanel} facets=${found.facets} query=${query} />
        </aside>
        <section class="hits" aria-label="Results">
          <p class="muted" role="status">${formatCount(found.totalCount)} ${found.totalCount === 1 ? "hit" : "hits"}</p>
          ${found.edges.length
            ? html`<ol class="hit-list">${found.edges.map(({ node }) => html`<${Hit} hit=${node} />`)}</ol>`
            : html`<p>Nothing matches. Try fewer words or filters.</p>`}
          <nav class="pager" aria-label="Pages">
            ${after ? html`<${Link} href=${searchHref(query, () => {})}>First page</${Link}>` : null}
            ${found.pageInfo.hasNextPage
              ? html`<button type="button" onClick=${() => navigate(`/ui/search?${withAfter(query, found)}`)}>
                  Next page</button>`
              : null}
          </nav>
        </section>
      </div>`}
    </${Loading}>
  </main>`;
}

function withAfter(query, found) {
  const next = new URLSearchParams(query);
  next.set("after", found.pageInfo.endCursor);
  return next.toString();
}
