// The lineage drawing: SVG boxes and arrows from layout.js, with pan (drag), zoom (wheel) and per-node handles that
// expand or collapse one more level upstream (left) or downstream (right).
import { html, useCallback, useEffect, useRef, useState } from "../lib.js";
import { DOWNSTREAM, label, UPSTREAM } from "./graph.js";
import { rowY } from "./layout.js";

export const MIN_ZOOM = 0.2;
export const MAX_ZOOM = 3;
// Fitting the whole graph never zooms out below this: labels stay readable (13 px × 0.85 ≈ 11 px) and the user pans
// to what lies beyond; the wheel and the buttons may go further.
export const MIN_FIT_ZOOM = 0.85;

const clamp = (value, low, high) => Math.min(high, Math.max(low, value));

// The pan and zoom of one drawing: {x, y, k} maps drawing units to the SVG's pixels (screen = k × point + (x, y)).
export function useViewport() {
  const svg = useRef(null);
  const [view, setView] = useState({ x: 0, y: 0, k: 1 });
  const size = () => ({ width: svg.current?.clientWidth || 800, height: svg.current?.clientHeight || 500 });

  const zoomBy = useCallback((factor, at) => setView((v) => {
    const k = clamp(v.k * factor, MIN_ZOOM, MAX_ZOOM);
    const { width, height } = size();
    const [px, py] = at || [width / 2, height / 2];
    return { k, x: px - ((px - v.x) * k) / v.k, y: py - ((py - v.y) * k) / v.k };
  }), []);

  const centre = useCallback((box, k) => setView((v) => {
    const { width, height } = size();
    const zoom = k ?? v.k;
    return { k: zoom, x: width / 2 - zoom * (box.x + box.width / 2), y: height / 2 - zoom * (box.y + box.height / 2) };
  }), []);

  // The whole drawing in view, or if that needs a zoom below MIN_FIT_ZOOM, `focus` (the start's box) at that zoom.
  const fit = useCallback((laid, focus) => {
    const { width, height } = size();
    const k = Math.min(width / Math.max(laid.width, 1), height / Math.max(laid.height, 1), 1.25);
    if (k >= MIN_FIT_ZOOM || !focus) centre({ x: 0, y: 0, width: laid.width, height: laid.height }, k);
    else centre(focus, MIN_FIT_ZOOM);
  }, [centre]);

  return { svg, view, setView, zoomBy, centre, fit };
}

function Handle({ node, direction, x, expanded, busy, more, onToggle }) {
  const side = direction === UPSTREAM ? "upstream" : "downstream";
  const verb = expanded ? "Collapse" : "Expand";
  const toggle = (event) => {
    event.stopPropagation();
    if (!busy) onToggle(node.urn, direction);
  };
  const key = (event) => (event.key === "Enter" || event.key === " ") && (event.preventDefault(), toggle(event));
  return html`<g class=${`handle ${side}${more ? " more" : ""}${expanded ? " expanded" : ""}`}
    transform=${`translate(${x},14)`} role="button" tabindex="0" aria-pressed=${expanded}
    aria-label=${`${verb} ${side} of ${label(node)}`} onClick=${toggle} onKeyDown=${key}
    onPointerDown=${(event) => event.stopPropagation()}>
    <circle r="8" /><text y="4" text-anchor="middle">${busy ? "…" : expanded ? "−" : "+"}</text>
    <title>${verb} ${side}${more ? " (more lineage there)" : ""}</title>
  </g>`;
}

function Node({ node, box, columns, classes, expanded, busy, cut, onToggle, onSelect }) {
  return html`<g class=${`node ${classes}`} data-urn=${node.urn} transform=${`translate(${box.x},${box.y})`}
    role="group" aria-label=${label(node)} onClick=${() => onSelect(node.urn)}>
    <title>${node.urn}${cut ? " — more lineage beyond: expand it" : ""}</title>
    <rect class="box" width=${box.width} height=${box.height} rx="6" />
    <text class="name" x="14" y="20">${label(node)}</text>
    <text class="meta" x="14" y="37">${node.source} · ${node.kind || "not crawled"}</text>
    ${columns.map((column, index) => html`<text class="column" x="14" y=${rowY(index) + 4}>${column.name}
      ${column.transformations.length
        ? html`<tspan class="transformation" dx="8">${column.transformations.join(", ")}</tspan>` : null}</text>`)}
    ${[UPSTREAM, DOWNSTREAM].map((direction) => html`<${Handle} node=${node} direction=${direction}
      x=${direction === UPSTREAM ? 0 : box.width} expanded=${expanded(node.urn, direction)}
      busy=${busy.has(`${direction}:${node.urn}`)} more=${cut && node.distance !== 0
        ? (node.distance < 0) === (direction === UPSTREAM) : cut} onToggle=${onToggle} />`)}
  </g>`;
}

// graph: graph.merged(); laid: layout.layout(graph); marks: {matches: Set, current, selected}.
export function Canvas({ graph, laid, viewport, marks, expanded, busy, onToggle, onSelect }) {
  const { svg, view, setView, zoomBy } = viewport;
  const drag = useRef(null);

  useEffect(() => {
    const element = svg.current;
    const wheel = (event) => {
      event.preventDefault();
      const bounds = element.getBoundingClientRect();
      zoomBy(Math.exp(-event.deltaY * 0.0015), [event.clientX - bounds.left, event.clientY - bounds.top]);
    };
    element.addEventListener("wheel", wheel, { passive: false });
    return () => element.removeEventListener("wheel", wheel);
  }, [zoomBy]);

  const down = (event) => {
    if (event.button !== 0) return;
    drag.current = { x: event.clientX, y: event.clientY, from: view, moved: false };
  };
  const move = (event) => {
    const start = drag.current;
    if (!start) return;
    const dx = event.clientX - start.x;
    const dy = event.clientY - start.y;
    if (!start.moved && Math.hypot(dx, dy) < 4) return;
    if (!start.moved) svg.current.setPointerCapture(event.pointerId);
    start.moved = true;
    setView({ ...start.from, x: start.from.x + dx, y: start.from.y + dy });
  };
  const up = (event) => {
    if (drag.current?.moved) {
      svg.current.releasePointerCapture(event.pointerId);
      event.preventDefault();
    }
    drag.current = null;
  };

  const names = (urn) => graph.columns.get(urn) || [];
  // Edges under the nodes: a long edge dagre draws steeply across a rank passes behind the boxes, not over them.
  return html`<svg ref=${svg} class="lineage-canvas" role="img" aria-label="Lineage graph"
    onPointerDown=${down} onPointerMove=${move} onPointerUp=${up} onPointerCancel=${up}>
    <defs><marker id="lineage-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7"
      orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" /></marker></defs>
    <g class="viewport" data-zoom=${view.k} transform=${`translate(${view.x},${view.y}) scale(${view.k})`}>
      ${laid.edges.map(({ edge, d }) => html`<path class=${edge.upstreamColumn
          ? `edge column ${edge.transformation || "unknown"}` : "edge"} d=${d} marker-end="url(#lineage-arrow)"
        data-upstream=${edge.upstream} data-downstream=${edge.downstream}
        data-upstream-column=${edge.upstreamColumn} data-downstream-column=${edge.downstreamColumn}>
        <title>${edge.upstreamColumn ? `${edge.upstreamColumn} → ${edge.downstreamColumn} (${edge.transformation
          || "unknown"}, ${edge.origin})` : `${edge.upstream} → ${edge.downstream} (${edge.origin})`}</title></path>`)}
      ${graph.nodes.map((node) => {
        const classes = [node.urn === graph.start && "start", node.placeholder && "placeholder",
          graph.cut.has(node.urn) && "cut", marks.matches.has(node.urn) && "match",
          marks.current === node.urn && "current", marks.selected === node.urn && "selected"].filter(Boolean);
        return html`<${Node} key=${node.urn} node=${node} box=${laid.boxes.get(node.urn)} columns=${names(node.urn)}
          classes=${classes.join(" ")} expanded=${expanded} busy=${busy} cut=${graph.cut.has(node.urn)}
          onToggle=${onToggle} onSelect=${onSelect} />`;
      })}
    </g>
  </svg>`;
}
