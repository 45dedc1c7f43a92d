// Placeholder: the table page's history tab is being built.
import { html } from "../../lib.js";

export default function HistoryTab() {
  return html`<p class="muted">The history tab is not built yet.</p>`;
}
