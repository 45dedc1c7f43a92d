// The lineage viewer (the /ui/lineage page and the table page's Lineage tab): the API's lineage around a dataset,
// drawn with find-in-graph, zoom buttons, the column-level toggle, per-node expand/collapse and where it was cut.
import { gql } from "../api.js";
import { html, useCallback, useEffect, useMemo, useRef, useState } from "../lib.js";
import { Link, lineageHref, tableHref } from "../router.js";
import { Canvas, useViewport } from "./canvas.js";
import { collapse, expand, find, isExpanded, label, merged, prune, start } from "./graph.js";
import { layout } from "./layout.js";

export const MAX_DEPTH = 20;

const LINEAGE = `query Lineage($urn: String!, $direction: LineageDirection!, $depth: Int!, $columnLevel: Boolean!) {
  lineage(urn: $urn, direction: $direction, depth: $depth, columnLevel: $columnLevel) {
    urn depth columnLevel truncated truncatedReason truncatedAt
    nodes { urn source schema name kind placeholder distance link }
    edges { upstream downstream upstreamColumn downstreamColumn transformation origin }
  }
}`;

export const fetchLineage = (urn, direction, depth, columnLevel) =>
  gql(LINEAGE, { urn, direction, depth, columnLevel }).then((data) => data.lineage);

function Finder({ nodes, onFound }) {
  const [text, setText] = useState("");
  const [index, setIndex] = useState(0);
  const matches = useMemo(() => find(nodes, text), [nodes, text]);
  const current = matches.length ? matches[Math.min(index, matches.length - 1)] : null;
  useEffect(() => onFound(new Set(matches), current), [matches, current]);
  const step = (delta) => matches.length && setIndex((i) => (i + delta + matches.length) % matches.length);
  const key = (event) => {
    if (event.key !== "Enter") return;
    event.preventDefault();
    step(event.shiftKey ? -1 : 1);
  };
  return html`<div class="finder" role="search">
    <input type="search" aria-label="Find in graph" placeholder="Find in graph…" maxlength="200" value=${text}
      onInput=${(event) => { setText(event.target.value); setIndex(0); }} onKeyDown=${key} />
    <button type="button" aria-label="Previous match" disabled=${!matches.length} onClick=${() => step(-1)}>‹</button>
    <button type="button" aria-label="Next match" disabled=${!matches.length} onClick=${() => step(1)}>›</button>
    <span class="muted" aria-live="polite">${text.trim()
      ? matches.length ? `${matches.indexOf(current) + 1} of ${matches.length}` : "no match" : ""}</span>
  </div>`;
}

function Banner({ graphState, depth, onDeeper }) {
  const answers = [graphState.base, ...[...graphState.expansions.values()].map((e) => e.result)];
  const reasons = [...new Set(answers.filter((a) => a.truncated).map((a) => a.truncatedReason))];
  if (!reasons.length) return null;
  return html`<p class="lineage-banner" role="status">
    <strong>Cut short:</strong> ${reasons.join("; ")}. Nodes outlined in orange have more lineage beyond them: open
    their <span class="handle-hint">+</span> handles, or
    ${depth < MAX_DEPTH ? html`<button type="button" class="link" onClick=${onDeeper}>go one level deeper
      (depth ${depth + 1})</button>` : "narrow the walk"}.
  </p>`;
}

function Selected({ node, onClose }) {
  if (!node) return null;
  return html`<div class="lineage-selected" aria-label="Selected node">
    <strong>${label(node)}</strong> <span class="muted">${node.source} · ${node.kind || "not crawled"}</span>
    ${node.placeholder ? null : html`<${Link} href=${tableHref(node.urn)}>Table page</${Link}>`}
    <${Link} href=${lineageHref(node.urn)}>Lineage from here</${Link}>
    <button type="button" class="link" aria-label="Clear selection" onClick=${onClose}>×</button>
  </div>`;
}

// The start's name, and a link to its table page when the catalog crawled it.
function Heading({ node }) {
  return html`<h1>Lineage of ${label(node)}</h1>
    <p class="urn"><code>${node.urn}</code> · ${node.source} · ${node.kind || "not crawled"}
      ${node.placeholder ? null : html` · <${Link} href=${tableHref(node.urn)}>Table page</${Link}>`}</p>`;
}

// urn, depth, columnLevel: what to walk; onOptions({depth, columnLevel}) changes them (the page keeps them in its
// address, the tab in its state); `heading`: name the start above the graph (the full page).
export function LineageViewer({ urn, depth, columnLevel, onOptions, heading = false, className = "" }) {
  const [graphState, setGraphState] = useState(null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(new Set());
  const [marks, setMarks] = useState({ matches: new Set(), current: null, selected: null });
  const viewport = useViewport();
  const shown = useRef(null);
  shown.current = graphState;

  // A new walk; around the same start, the user's expansions are asked again (with or without columns) and kept.
  useEffect(() => {
    let current = true;
    setError(null);
    const kept = shown.current?.base.urn === urn ? [...shown.current.expansions.values()] : [];
    Promise.all([fetchLineage(urn, "BOTH", depth, columnLevel),
      ...kept.map((e) => fetchLineage(e.urn, e.direction, 1, columnLevel))]).then(
      ([result, ...around]) => current && setGraphState(prune(
        kept.reduce((state, e, i) => expand(state, e.urn, e.direction, around[i]), start(result)))),
      (failure) => current && setError(failure),
    );
    return () => { current = false; };
  }, [urn, depth, columnLevel]);

  const graph = useMemo(() => graphState && merged(graphState), [graphState]);
  const laid = useMemo(() => graph && layout(graph), [graph]);
  const startBox = laid?.boxes.get(graph.start);
  const base = graphState?.base;
  useEffect(() => { if (laid) viewport.fit(laid, startBox); }, [base]); // a new walk is fitted; expanding is not

  const toggle = useCallback((node, direction) => {
    if (isExpanded(graphState, node, direction)) return setGraphState((s) => collapse(s, node, direction));
    const key = `${direction}:${node}`;
    setBusy((b) => new Set(b).add(key));
    fetchLineage(node, direction, 1, columnLevel)
      .then((result) => setGraphState((s) => (s.base === base ? expand(s, node, direction, result) : s)), setError)
      .finally(() => setBusy((b) => { const next = new Set(b); next.delete(key); return next; }));
  }, [graphState, columnLevel, base]);

  const onFound = useCallback((matches, current) => {
    setMarks((m) => ({ ...m, matches, current }));
    if (current && laid) viewport.centre(laid.boxes.get(current));
  }, [laid]);

  if (error) return html`<p class="error" role="alert">${error.message}</p>`;
  if (!graph) return html`<p class="muted" aria-busy="true">Loading…</p>`;
  const selected = graph.nodes.find((node) => node.urn === marks.selected);
  const columnEdges = graph.edges.filter((edge) => edge.upstreamColumn).length;
  return html`<div class=${`lineage-viewer ${className}`}>
    ${heading ? html`<${Heading} node=${graph.nodes.find((node) => node.urn === graph.start)} />` : null}
    <div class="lineage-toolbar">
      <${Finder} nodes=${graph.nodes} onFound=${onFound} />
      <div class="zoom" role="group" aria-label="Zoom">
        <button type="button" aria-label="Zoom out" onClick=${() => viewport.zoomBy(1 / 1.25)}>−</button>
        <button type="button" aria-label="Zoom in" onClick=${() => viewport.zoomBy(1.25)}>+</button>
        <button type="button" onClick=${() => viewport.fit(laid, startBox)}>Fit</button>
      </div>
      <label class="toggle"><input type="checkbox" checked=${columnLevel}
        onChange=${(event) => onOptions({ depth, columnLevel: event.target.checked })} /> Columns</label>
      <label class="depth">Depth <select aria-label="Depth" value=${depth}
        onChange=${(event) => onOptions({ depth: Number(event.target.value), columnLevel })}>
        ${Array.from({ length: MAX_DEPTH }, (_, i) => html`<option value=${i + 1}>${i + 1}</option>`)}</select></label>
      <span class="muted counts">${graph.nodes.length} nodes · ${graph.edges.length - columnEdges} dataset edges
        ${columnLevel ? ` · ${columnEdges} column edges` : ""}</span>
    </div>
    <${Banner} graphState=${graphState} depth=${depth} onDeeper=${() => onOptions({ depth: depth + 1, columnLevel })} />
    <${Selected} node=${selected} onClose=${() => setMarks((m) => ({ ...m, selected: null }))} />
    <${Canvas} graph=${graph} laid=${laid} viewport=${viewport} marks=${marks} busy=${busy} onToggle=${toggle}
      expanded=${(node, direction) => isExpanded(graphState, node, direction)}
      onSelect=${(node) => setMarks((m) => ({ ...m, selected: node }))} />
    <p class="lineage-legend muted">Upstream on the left. Drag to pan, wheel or buttons to zoom; + / − on a node's
      sides loads or hides one more level. <span class="swatch identity"></span> identity
      <span class="swatch expression"></span> expression</p>
  </div>`;
}
