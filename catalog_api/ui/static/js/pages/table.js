// A table's page: what it is and where it lives, then one tab per aspect (pages/table/<tab>.js). Each tab receives
// the table's URN, loads what it shows itself, and calls `refresh` after it changed the table so the header follows.
import { gql } from "../api.js";
import { formatCount, html, Loading, useLoad } from "../lib.js";
import { Link, navigate, schemaHref, sourceHref, tableHref } from "../router.js";
import ColumnsTab from "./table/columns.js";
import HistoryTab from "./table/history.js";
import JobsTab from "./table/jobs.js";
import LineageTab from "./table/lineage.js";
import ProfileTab from "./table/profile.js";
import QualityTab from "./table/quality.js";

export const TABS = [
  { id: "columns", label: "Columns", Tab: ColumnsTab },
  { id: "profile", label: "Profile", Tab: ProfileTab },
  { id: "quality", label: "Quality", Tab: QualityTab },
  { id: "history", label: "History", Tab: HistoryTab },
  { id: "lineage", label: "Lineage", Tab: LineageTab },
  { id: "jobs", label: "Jobs", Tab: JobsTab },
];

const HEADER = `query TableHeader($urn: String!) {
  table(urn: $urn) {
    urn name kind description tags origin rowEstimate updatedAt lastSeenAt deletedAt
    source { name kind } schema { name }
    qualityHealth { rules failingErrors failingWarnings }
  }
}`;

// Sources › the table's source › its schema: where the table lives (a reported table may have neither).
function crumbs(table) {
  const trail = [html`<${Link} href="/ui/sources">Sources</${Link}>`];
  if (table.source) trail.push(html`<${Link} href=${sourceHref(table.source.name)}>${table.source.name}</${Link}>`);
  if (table.source && table.schema) {
    trail.push(html`<${Link} href=${schemaHref(table.source.name, table.schema.name)}>${table.schema.name}</${Link}>`);
  }
  return trail;
}

function HealthBadge({ health }) {
  if (!health || !health.rules) return null;
  const failing = health.failingErrors + health.failingWarnings;
  const level = health.failingErrors ? "error" : health.failingWarnings ? "warn" : "ok";
  return html`<span class=${`badge ${level}`} title="Quality rules">
    ${failing ? `${failing} of ${health.rules} rules failing` : `${health.rules} rules passing`}</span>`;
}

// The header and the tab load at once: a tab needs only the URN, so it does not wait for the header's answer (one
// request after another would add a round trip to every table page).
export default function TablePage({ params, query }) {
  const urn = params.urn;
  const state = useLoad(() => gql(HEADER, { urn }), [urn]);
  const current = TABS.find((tab) => tab.id === query.get("tab")) || TABS[0];
  if (state.error) return html`<main class="table-page"><${Loading} state=${state} /></main>`;
  return html`<main class="table-page">
    <${Loading} state=${state}>${({ table }) => html`
      <nav class="crumbs" aria-label="Breadcrumbs">${crumbs(table).map((crumb, index) => html`${index ? " › " : ""}${crumb}`)}</nav>
      <h1>${table.name} <span class="badge">${table.kind}</span>
        ${table.deletedAt ? html`<span class="badge warn">deleted</span>` : null}
        <${HealthBadge} health=${table.qualityHealth} /></h1>
      <p class="urn"><code>${table.urn}</code> · ${formatCount(table.rowEstimate)} rows (estimate)</p>`}
    </${Loading}>
    <div class="tabs" role="tablist">
      ${TABS.map((tab) => html`<button type="button" role="tab" aria-selected=${tab.id === current.id}
        onClick=${() => navigate(tableHref(urn, tab.id), { replace: true })}>${tab.label}</button>`)}
    </div>
    <section role="tabpanel" aria-label=${current.label}>
      <${current.Tab} urn=${urn} refresh=${state.reload} />
    </section>
  </main>`;
}
