// Placeholder: the table page's profile tab is being built.
import { html } from "../../lib.js";

export default function ProfileTab() {
  return html`<p class="muted">The profile tab is not built yet.</p>`;
}
