// Placeholder: the browse page is being built.
import { html } from "../lib.js";

export default function Page() {
  return html`<main><h1>browse</h1><p class="muted">This page is not built yet.</p></main>`;
}
