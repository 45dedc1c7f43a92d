// Placeholder: the table page's jobs tab is being built.
import { html } from "../../lib.js";

export default function JobsTab() {
  return html`<p class="muted">The jobs tab is not built yet.</p>`;
}
