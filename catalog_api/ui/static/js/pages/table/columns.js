// The table page's Columns tab: what the table is about (description, tags, owners, terms, domain), then its
// columns in ordinal order with their types, keys, nullability, defaults and curation. A viewer with catalog:curate
// edits descriptions, tags, owners and term links in place (curate.js).
import { gql } from "../../api.js";
import { html, Loading, useLoad } from "../../lib.js";
import { Link, tableHref } from "../../router.js";
import { isPiiTag } from "../../urns.js";
import { DescriptionEditor, OwnerEditor, TagEditor, TERM_LIST, TermEditor } from "./curate.js";

const COLUMN_PAGE = 100;

// The first page also brings the glossary's term names (for the term editors' suggestions), in the same request
// rather than one more after it: any reader may list them, and only a curator's page uses them.
const COLUMNS = `query TableColumns($urn: String!, $first: Int!, $after: String, $withTerms: Boolean!) {
  me { permissions }
  glossaryTerms(limit: 10000) @include(if: $withTerms) { id name }
  table(urn: $urn) {
    urn name description tags
    owners { principal kind type }
    terms { id name }
    domain { id name }
    keys {
      primaryKey { name columns }
      uniqueConstraints { name columns }
      foreignKeys { name columns referencedTableUrn referencedSchema referencedTable referencedColumns }
      indexes { name columns unique }
    }
    columns(first: $first, after: $after) {
      pageInfo { hasNextPage endCursor }
      edges { node { urn name ordinal dataType nullable default description tags terms { id name } } }
    }
  }
}`;

// The table with all its columns: the connection read page by page (a wide table has hundreds).
async function loadColumns(urn) {
  const first = await gql(COLUMNS, { urn, first: COLUMN_PAGE, after: null, withTerms: true });
  const columns = first.table.columns.edges.map((edge) => edge.node);
  let page = first.table.columns.pageInfo;
  while (page.hasNextPage) {
    const next = await gql(COLUMNS, { urn, first: COLUMN_PAGE, after: page.endCursor, withTerms: false });
    columns.push(...next.table.columns.edges.map((edge) => edge.node));
    page = next.table.columns.pageInfo;
  }
  const canCurate = first.me.permissions.includes("catalog:curate");
  const terms = canCurate ? first.glossaryTerms : [];
  return { table: first.table, columns, canCurate, terms };
}

// Per column name: the key markers the table's declared keys give it.
function keyMarkers(keys) {
  const markers = {};
  const mark = (column, marker) => (markers[column] ||= []).push(marker);
  for (const column of keys.primaryKey?.columns || []) mark(column, { kind: "pk" });
  for (const key of keys.foreignKeys) {
    key.columns.forEach((column, index) => mark(column, { kind: "fk", key, referenced: key.referencedColumns[index] }));
  }
  for (const key of keys.uniqueConstraints) for (const column of key.columns) mark(column, { kind: "unique", key });
  for (const index of keys.indexes) for (const column of index.columns) mark(column, { kind: "index", key: index });
  return markers;
}

function KeyMarker({ marker }) {
  if (marker.kind === "pk") return html`<span class="key pk" title="Primary key">PK</span>`;
  if (marker.kind === "unique") return html`<span class="key" title=${`Unique: ${marker.key.name}`}>UQ</span>`;
  if (marker.kind === "index") {
    return html`<span class="key" title=${`Index ${marker.key.name}${marker.key.unique ? " (unique)" : ""}`}>IX</span>`;
  }
  const { key, referenced } = marker;
  const target = tableHref(key.referencedTableUrn, "columns");
  return html`<span class="key fk" title=${`Foreign key ${key.name}`}>${"FK → "}<${Link} href=${target}>${
    key.referencedTable}.${referenced}</${Link}></span>`;
}

function TableSummary({ table, canCurate, refresh }) {
  return html`<section class="table-summary" aria-label="About this table">
    <${DescriptionEditor} urn=${table.urn} label=${table.name} value=${table.description} canEdit=${canCurate}
      onSaved=${refresh} />
    <dl class="facts">
      <dt>Tags</dt>
      <dd><${TagEditor} urn=${table.urn} label=${table.name} tags=${table.tags} canEdit=${canCurate}
        onSaved=${refresh} /></dd>
      <dt>Owners</dt>
      <dd><${OwnerEditor} urn=${table.urn} label=${table.name} owners=${table.owners} canEdit=${canCurate} /></dd>
      <dt>Glossary terms</dt>
      <dd><${TermEditor} urn=${table.urn} label=${table.name} terms=${table.terms} canEdit=${canCurate} /></dd>
      <dt>Domain</dt>
      <dd>${table.domain ? table.domain.name : html`<span class="muted">none</span>`}</dd>
    </dl>
  </section>`;
}

function ColumnRow({ column, markers, canCurate }) {
  const pii = column.tags.some(isPiiTag);
  return html`<tr data-column=${column.name}>
    <td class="number muted">${column.ordinal}</td>
    <th scope="row" class="column-name">${column.name}
      ${pii ? html` <span class="badge warn" title="Personal data (a pii tag)">PII</span>` : null}</th>
    <td><code>${column.dataType || "–"}</code></td>
    <td class="keys">${(markers || []).map((marker) => html`<${KeyMarker} marker=${marker} />`)}</td>
    <td>${column.nullable === null ? "–" : column.nullable ? "yes" : html`<strong>no</strong>`}</td>
    <td>${column.default === null ? html`<span class="muted">–</span>` : html`<code>${column.default}</code>`}</td>
    <td class="curation">
      <${DescriptionEditor} urn=${column.urn} label=${column.name} value=${column.description} canEdit=${canCurate} />
    </td>
    <td class="curation">
      <${TagEditor} urn=${column.urn} label=${column.name} tags=${column.tags} canEdit=${canCurate} /></td>
    <td class="curation">
      <${TermEditor} urn=${column.urn} label=${column.name} terms=${column.terms} canEdit=${canCurate} /></td>
  </tr>`;
}

export default function ColumnsTab({ urn, refresh }) {
  const state = useLoad(() => loadColumns(urn), [urn]);
  return html`<${Loading} state=${state}>${({ table, columns, canCurate, terms }) => {
    const markers = keyMarkers(table.keys);
    return html`
      <${TableSummary} table=${table} canCurate=${canCurate} refresh=${refresh} />
      ${canCurate ? html`<datalist id=${TERM_LIST}>${terms.map((term) => html`<option value=${term.name} />`)}
        </datalist>` : null}
      <h2>Columns <span class="muted">${columns.length}</span></h2>
      <table class="grid columns" aria-label="Columns">
        <thead><tr><th class="number">#</th><th>Name</th><th>Type</th><th>Keys</th><th>Nullable</th><th>Default</th>
          <th>Description</th><th>Tags</th><th>Terms</th></tr></thead>
        <tbody>${columns.map((column) => html`<${ColumnRow} key=${column.urn} column=${column}
          markers=${markers[column.name]} canCurate=${canCurate} />`)}</tbody>
      </table>`;
  }}</${Loading}>`;
}
