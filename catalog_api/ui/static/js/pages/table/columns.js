// Placeholder: the table page's columns tab is being built.
import { html } from "../../lib.js";

export default function ColumnsTab() {
  return html`<p class="muted">The columns tab is not built yet.</p>`;
}
