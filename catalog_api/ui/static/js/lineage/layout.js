// Where the lineage viewer draws each node and edge: a layered layout (dagre), upstream on the left, computed from
// the boxes' real sizes so nothing overlaps, whatever the number of nodes.
import dagre from "@dagrejs/dagre";
import { label } from "./graph.js";

// Sizes in drawing units (1 unit = 1 CSS pixel at zoom 1); css/lineage.css uses the same font sizes.
export const FONT = { name: 13, meta: 12, column: 12 };
const HEADER = 46;
export const ROW = 18;
const PAD = 14;
const MIN_WIDTH = 180;
const MAX_WIDTH = 380;

let measurer = null;
function textWidth(text, size, weight = 400) {
  measurer ??= document.createElement("canvas").getContext("2d");
  measurer.font = `${weight} ${size}px system-ui, sans-serif`;
  return measurer.measureText(text).width;
}

function boxSize(node, columns) {
  const widest = Math.max(
    textWidth(label(node), FONT.name, 600),
    textWidth(`${node.source} · ${node.kind || "not crawled"}`, FONT.meta),
    ...columns.map((column) => textWidth(`${column.name}  ${column.transformations.join(", ")}`, FONT.column) + 10),
  );
  const width = Math.min(MAX_WIDTH, Math.max(MIN_WIDTH, Math.ceil(widest) + 2 * PAD));
  const height = HEADER + (columns.length ? columns.length * ROW + 6 : 0);
  return { width, height };
}

// The row of `column` in a node's box, as a y offset from the box's top.
export const rowY = (index) => HEADER + index * ROW + ROW / 2 + 2;

function curve(x1, y1, x2, y2) {
  const bend = Math.max(40, Math.abs(x2 - x1) / 2);
  const forward = x2 >= x1 ? 1 : -1;
  return `M${x1},${y1} C${x1 + bend * forward},${y1} ${x2 - bend * forward},${y2} ${x2},${y2}`;
}

// A smooth path through dagre's bend points: straight to the first midpoint, then a quadratic curve around each bend.
function through(points) {
  if (points.length < 3) return `M${points.map((p) => `${p.x},${p.y}`).join(" L")}`;
  const mid = (a, b) => `${(a.x + b.x) / 2},${(a.y + b.y) / 2}`;
  let d = `M${points[0].x},${points[0].y} L${mid(points[0], points[1])}`;
  for (let i = 1; i < points.length - 1; i += 1) {
    d += ` Q${points[i].x},${points[i].y} ${mid(points[i], points[i + 1])}`;
  }
  const last = points[points.length - 1];
  return `${d} L${last.x},${last.y}`;
}

// graph (from graph.merged) -> {boxes: Map urn -> {x, y, width, height}, edges: [{edge, d}], width, height}.
export function layout(graph) {
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: "LR", nodesep: 18, ranksep: 110, marginx: 30, marginy: 30 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const node of graph.nodes) g.setNode(node.urn, boxSize(node, graph.columns.get(node.urn) || []));
  for (const edge of graph.edges) {
    if (edge.upstream !== edge.downstream) g.setEdge(edge.upstream, edge.downstream);
  }
  dagre.layout(g);

  const boxes = new Map();
  for (const node of graph.nodes) {
    const { x, y, width, height } = g.node(node.urn);
    boxes.set(node.urn, { x: x - width / 2, y: y - height / 2, width, height });
  }
  const edges = graph.edges.map((edge) => {
    const from = boxes.get(edge.upstream);
    const to = boxes.get(edge.downstream);
    if (!edge.upstreamColumn) {
      const points = edge.upstream === edge.downstream ? null : g.edge(edge.upstream, edge.downstream)?.points;
      if (points?.length) return { edge, d: through(points) };
      return { edge, d: curve(from.x + from.width, from.y + 23, to.x, to.y + 23) };
    }
    const names = (urn) => (graph.columns.get(urn) || []).map((column) => column.name);
    const y1 = from.y + rowY(names(edge.upstream).indexOf(edge.upstreamColumn));
    const y2 = to.y + rowY(names(edge.downstream).indexOf(edge.downstreamColumn));
    const forward = to.x >= from.x + from.width;
    return { edge, d: forward ? curve(from.x + from.width, y1, to.x, y2) : curve(from.x, y1, to.x + to.width, y2) };
  });
  const { width, height } = g.graph();
  return { boxes, edges, width: width || 0, height: height || 0 };
}
