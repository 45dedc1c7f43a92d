// The full-page lineage viewer at /ui/lineage?urn=…&depth=…&column_level=…: the address holds what is drawn, so a
// link (the REST API's `links.lineage_viewer`) or a bookmark opens the same graph.
import { html } from "../lib.js";
import { navigate } from "../router.js";
import { LineageViewer, MAX_DEPTH } from "../lineage/view.js";

export const DEFAULT_DEPTH = 2;

export function lineagePageHref(urn, depth = DEFAULT_DEPTH, columnLevel = false) {
  const query = new URLSearchParams({ urn, depth: String(depth), column_level: String(columnLevel) });
  return `/ui/lineage?${query}`;
}

export default function LineagePage({ query }) {
  const urn = query.get("urn");
  if (!urn) {
    return html`<main><h1>Lineage</h1><p class="muted">Open the lineage of a table from its page, or give its URN as
      <code>/ui/lineage?urn=…</code>.</p></main>`;
  }
  const asked = Number.parseInt(query.get("depth") || "", 10);
  const depth = Number.isFinite(asked) ? Math.min(MAX_DEPTH, Math.max(1, asked)) : DEFAULT_DEPTH;
  const columnLevel = query.get("column_level") === "true";
  const change = (options) => navigate(lineagePageHref(urn, options.depth, options.columnLevel), { replace: true });
  return html`<main class="lineage-page">
    <${LineageViewer} urn=${urn} depth=${depth} columnLevel=${columnLevel} onOptions=${change} heading
      className="full" />
  </main>`;
}
