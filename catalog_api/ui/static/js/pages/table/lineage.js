// Placeholder: the table page's lineage tab is being built.
import { html } from "../../lib.js";

export default function LineageTab() {
  return html`<p class="muted">The lineage tab is not built yet.</p>`;
}
