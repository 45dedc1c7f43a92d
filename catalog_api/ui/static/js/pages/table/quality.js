// Placeholder: the table page's quality tab is being built.
import { html } from "../../lib.js";

export default function QualityTab() {
  return html`<p class="muted">The quality tab is not built yet.</p>`;
}
