// Browsing the catalog from the top: /ui/sources (the registered sources), /ui/sources/<name> (a source's schemas)
// and /ui/sources/<name>/<schema> (a schema's tables and views). Each list is a GraphQL connection read a page at a
// time; the page's cursor is in the address (`after`), so a page is a link like any other.
import { gql } from "../api.js";
import { formatCount, formatTime, html, Loading, useLoad } from "../lib.js";
import { Link, schemaHref, sourceHref, tableHref } from "../router.js";
import { schemaUrn } from "../urns.js";

const PAGE_SIZE = 50;

const SOURCES = `query Sources($first: Int!, $after: String) {
  sources(first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { name kind description lastCrawledAt tags schemas(first: 1) { totalCount } } }
  }
}`;

const SCHEMAS = `query Schemas($name: String!, $first: Int!, $after: String) {
  source(name: $name) {
    name kind description lastCrawledAt
    schemas(first: $first, after: $after) {
      totalCount pageInfo { hasNextPage endCursor }
      edges { node { name description tags tables(first: 1) { totalCount } } }
    }
  }
}`;

const TABLES = `query Tables($urn: String!, $first: Int!, $after: String) {
  entity(urn: $urn) {
    ... on Schema {
      name description source { name kind }
      tables(first: $first, after: $after) {
        totalCount pageInfo { hasNextPage endCursor }
        edges { node { urn name kind rowEstimate description tags } }
      }
    }
  }
}`;

function Crumbs({ source, schema }) {
  return html`<nav class="crumbs" aria-label="Breadcrumbs">
    <${Link} href="/ui/sources">Sources</${Link}>
    ${source ? html` › <${Link} href=${sourceHref(source)}>${source}</${Link}>` : null}
    ${schema ? html` › ${schema}` : null}
  </nav>`;
}

const Tags = ({ tags }) => tags.map((tag) => html`<span class="tag">${tag}</span>`);

// "Next page" for a connection, and a way back to its first page.
function Pager({ path, after, connection }) {
  const next = connection.pageInfo.hasNextPage ? `${path}?after=${encodeURIComponent(connection.pageInfo.endCursor)}`
    : null;
  if (!after && !next) return null;
  return html`<nav class="pager" aria-label="Pages">
    ${after ? html`<${Link} href=${path}>First page</${Link}>` : null}
    ${next ? html`<${Link} href=${next}>Next page</${Link}>` : null}
  </nav>`;
}

function Count({ connection, one, many }) {
  return html`<p class="muted">${formatCount(connection.totalCount)} ${connection.totalCount === 1 ? one : many}</p>`;
}

function SourceList({ path, after }) {
  const state = useLoad(() => gql(SOURCES, { first: PAGE_SIZE, after }), [after]);
  return html`<${Crumbs} />
    <h1>Sources</h1>
    <${Loading} state=${state}>${({ sources }) => html`
      <${Count} connection=${sources} one="source" many="sources" />
      <table class="grid browse" aria-label="Sources">
        <thead><tr><th>Source</th><th>Kind</th><th>Description</th><th>Schemas</th><th>Last crawl</th></tr></thead>
        <tbody>${sources.edges.map(({ node }) => html`<tr>
          <td><${Link} href=${sourceHref(node.name)}>${node.name}</${Link}> <${Tags} tags=${node.tags} /></td>
          <td><span class="badge">${node.kind}</span></td>
          <td>${node.description || html`<span class="muted">–</span>`}</td>
          <td class="number">${formatCount(node.schemas.totalCount)}</td>
          <td>${node.lastCrawledAt ? formatTime(node.lastCrawledAt) : html`<span class="muted">never</span>`}</td>
        </tr>`)}</tbody>
      </table>
      <${Pager} path=${path} after=${after} connection=${sources} />`}
    </${Loading}>`;
}

function SchemaList({ path, after, name }) {
  const state = useLoad(() => gql(SCHEMAS, { name, first: PAGE_SIZE, after }), [name, after]);
  return html`<${Crumbs} source=${name} />
    <${Loading} state=${state}>${({ source }) => html`
      <h1>${source.name} <span class="badge">${source.kind}</span></h1>
      <p>${source.description || ""} <span class="muted">Last crawl: ${
        source.lastCrawledAt ? formatTime(source.lastCrawledAt) : "never"}</span></p>
      <h2>Schemas</h2>
      <${Count} connection=${source.schemas} one="schema" many="schemas" />
      <table class="grid browse" aria-label="Schemas">
        <thead><tr><th>Schema</th><th>Description</th><th>Tables and views</th></tr></thead>
        <tbody>${source.schemas.edges.map(({ node }) => html`<tr>
          <td><${Link} href=${schemaHref(source.name, node.name)}>${node.name}</${Link}> <${Tags} tags=${node.tags} />
          </td>
          <td>${node.description || html`<span class="muted">–</span>`}</td>
          <td class="number">${formatCount(node.tables.totalCount)}</td>
        </tr>`)}</tbody>
      </table>
      <${Pager} path=${path} after=${after} connection=${source.schemas} />`}
    </${Loading}>`;
}

function TableList({ path, after, source, schema }) {
  const urn = schemaUrn(source, schema);
  const state = useLoad(() => gql(TABLES, { urn, first: PAGE_SIZE, after }), [urn, after]);
  return html`<${Crumbs} source=${source} schema=${schema} />
    <${Loading} state=${state}>${({ entity }) => html`
      <h1>${entity.name} <span class="muted">schema of ${entity.source.name}</span></h1>
      ${entity.description ? html`<p>${entity.description}</p>` : null}
      <${Count} connection=${entity.tables} one="table or view" many="tables and views" />
      <table class="grid browse" aria-label="Tables and views">
        <thead><tr><th>Name</th><th>Kind</th><th class="number">Rows (estimate)</th><th>Description</th><th>Tags</th>
        </tr></thead>
        <tbody>${entity.tables.edges.map(({ node }) => html`<tr>
          <td><${Link} href=${tableHref(node.urn)}>${node.name}</${Link}></td>
          <td><span class="badge">${node.kind}</span></td>
          <td class="number">${formatCount(node.rowEstimate)}</td>
          <td>${node.description || html`<span class="muted">–</span>`}</td>
          <td><${Tags} tags=${node.tags} /></td>
        </tr>`)}</tbody>
      </table>
      <${Pager} path=${path} after=${after} connection=${entity.tables} />`}
    </${Loading}>`;
}

export default function BrowsePage({ params, query, path }) {
  const after = query.get("after");
  const List = params.schema ? TableList : params.source ? SchemaList : SourceList;
  return html`<main class="browse-page">
    <${List} path=${path} after=${after} name=${params.source} source=${params.source} schema=${params.schema} />
  </main>`;
}
