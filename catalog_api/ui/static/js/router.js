// Addresses of the UI: every page is a real URL under /ui (bookmarkable, shareable), drawn without a reload.
import { html, useEffect, useState } from "./lib.js";

const listeners = new Set();

function current() {
  return { path: location.pathname, query: new URLSearchParams(location.search) };
}

export function navigate(href, { replace = false } = {}) {
  history[replace ? "replaceState" : "pushState"](null, "", href);
  for (const listener of listeners) listener();
}

window.addEventListener("popstate", () => {
  for (const listener of listeners) listener();
});

// The address now, re-rendering the caller when it changes.
export function useLocation() {
  const [where, setWhere] = useState(current);
  useEffect(() => {
    const listener = () => setWhere(current());
    listeners.add(listener);
    return () => listeners.delete(listener);
  }, []);
  return where;
}

// The first of `routes` ([RegExp with named groups, page]) that matches `path`, with its decoded parameters.
export function match(routes, path) {
  for (const [pattern, page] of routes) {
    const found = pattern.exec(path);
    if (found) {
      const params = Object.fromEntries(
        Object.entries(found.groups || {}).map(([name, value]) => [name, decodeURIComponent(value)]),
      );
      return { page, params };
    }
  }
  return null;
}

// A link inside the UI: a plain click navigates without a reload, a modified click opens a tab as usual.
export function Link({ href, children, ...attributes }) {
  const follow = (event) => {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
    event.preventDefault();
    navigate(href);
  };
  return html`<a href=${href} onClick=${follow} ...${attributes}>${children}</a>`;
}

// Where each entity's page is.
export const sourceHref = (source) => `/ui/sources/${encodeURIComponent(source)}`;
export const schemaHref = (source, schema) => `${sourceHref(source)}/${encodeURIComponent(schema)}`;
export const tableHref = (urn, tab) => `/ui/tables/${encodeURIComponent(urn)}${tab ? `?tab=${tab}` : ""}`;
export const lineageHref = (urn) => `/ui/lineage?urn=${encodeURIComponent(urn)}`;
