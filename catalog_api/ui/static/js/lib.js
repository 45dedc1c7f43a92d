// The UI's component toolkit in one place: Preact with hooks, and htm's tagged templates in place of JSX (no build).
import { Fragment, h, render } from "preact";
import { useCallback, useEffect, useMemo, useRef, useState } from "preact/hooks";
import htm from "htm";

export const html = htm.bind(h);
export { Fragment, render, useCallback, useEffect, useMemo, useRef, useState };

// Runs `load` whenever one of `deps` changes; gives {data, error, loading, reload}. A late answer to an older
// request never overwrites a newer one.
export function useLoad(load, deps) {
  const [state, setState] = useState({ data: null, error: null, loading: true });
  const generation = useRef(0);
  const run = useCallback(() => {
    const mine = ++generation.current;
    // Unchanged while already loading (the first load), so no render comes before the request is sent.
    setState((previous) => (previous.loading ? previous : { ...previous, loading: true }));
    Promise.resolve()
      .then(load)
      .then(
        (data) => mine === generation.current && setState({ data, error: null, loading: false }),
        (error) => mine === generation.current && setState({ data: null, error, loading: false }),
      );
  }, deps);
  useEffect(run, [run]);
  return { ...state, reload: run };
}

// What every page shows while it loads or when loading failed.
export function Loading({ state, children }) {
  if (state.error) return html`<p class="error" role="alert">${state.error.message}</p>`;
  if (state.loading && state.data === null) return html`<p class="muted" aria-busy="true">Loading…</p>`;
  return children(state.data);
}

export function formatCount(value) {
  return value === null || value === undefined ? "–" : Number(value).toLocaleString("en");
}

export function formatTime(iso) {
  if (!iso) return "–";
  const when = new Date(iso);
  return when.toISOString().replace("T", " ").slice(0, 16) + " UTC";
}
