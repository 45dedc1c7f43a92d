// The lineage viewer's data, as pure functions: the first answer of the API (the base) plus one answer per node and
// direction the user expanded, merged into the graph that is drawn. Collapsing drops an expansion, and with it what
// only that expansion brought (and the expansions of the nodes that leave with it).

export const UPSTREAM = "UPSTREAM";
export const DOWNSTREAM = "DOWNSTREAM";

export const expansionKey = (urn, direction) => `${direction}:${urn}`;

export const edgeKey = (edge) =>
  [edge.upstream, edge.downstream, edge.upstreamColumn ?? "", edge.downstreamColumn ?? ""].join("\u0000");

// A node cut short is cut on the side its walk was going: upstream nodes upstream, downstream nodes downstream; the
// start (distance 0) on both, or on the side its expansion walked.
function cuts(result, direction) {
  const distance = new Map(result.nodes.map((node) => [node.urn, node.distance]));
  return result.truncatedAt.flatMap((urn) => {
    const away = distance.get(urn) ?? 0;
    const sides = away < 0 ? [UPSTREAM] : away > 0 ? [DOWNSTREAM] : direction ? [direction] : [UPSTREAM, DOWNSTREAM];
    return sides.map((side) => expansionKey(urn, side));
  });
}

// The viewer's state after the first answer.
export function start(result) {
  return { base: result, expansions: new Map() };
}

// `state` with one more level around `urn` in `direction` (the API's `result` for it).
export function expand(state, urn, direction, result) {
  const expansions = new Map(state.expansions);
  expansions.set(expansionKey(urn, direction), { urn, direction, result });
  return { ...state, expansions };
}

function reachable(base, expansions) {
  const urns = new Set(base.nodes.map((node) => node.urn));
  for (const { result } of expansions.values()) for (const node of result.nodes) urns.add(node.urn);
  return urns;
}

// `state` without the expansions whose node is no longer drawn (it came with an expansion that is gone, or the base
// changed).
export function prune(state) {
  const expansions = new Map(state.expansions);
  for (;;) {
    const drawn = reachable(state.base, expansions);
    const orphans = [...expansions.keys()].filter((key) => !drawn.has(expansions.get(key).urn));
    if (!orphans.length) return { ...state, expansions };
    for (const key of orphans) expansions.delete(key);
  }
}

// `state` without the expansion of `urn` in `direction`, nor what only it brought.
export function collapse(state, urn, direction) {
  const expansions = new Map(state.expansions);
  expansions.delete(expansionKey(urn, direction));
  return prune({ ...state, expansions });
}

export const isExpanded = (state, urn, direction) => state.expansions.has(expansionKey(urn, direction));

// The graph to draw: nodes (the start's node first, then in the order they arrived), edges without repeats, the
// columns each node shows (those its column edges touch, with the transformations into them), and the nodes cut
// short on a side no expansion has covered yet.
export function merged(state) {
  const nodes = new Map();
  const edges = new Map();
  const cut = new Set();
  const answers = [{ result: state.base, direction: null }, ...state.expansions.values()];
  for (const { result, direction } of answers) {
    for (const node of result.nodes) if (!nodes.has(node.urn)) nodes.set(node.urn, node);
    for (const edge of result.edges) edges.set(edgeKey(edge), edge);
    for (const key of cuts(result, direction)) cut.add(key);
  }
  for (const key of state.expansions.keys()) cut.delete(key);
  const cutNodes = new Set([...cut].map((key) => key.slice(key.indexOf(":") + 1)));
  // A column's lineage starts at its dataset (distance 0).
  const start = state.base.nodes.find((node) => node.distance === 0)?.urn ?? state.base.urn;
  return { start, nodes: [...nodes.values()], edges: visibleEdges([...edges.values()]),
           columns: columnsOf(edges.values()), cut: cutNodes };
}

// Column edges say more than the dataset edge between the same two datasets: that one is left out when they exist.
function visibleEdges(edges) {
  const detailed = new Set(edges.filter((e) => e.upstreamColumn).map((e) => `${e.upstream}\u0000${e.downstream}`));
  return edges.filter((e) => e.upstreamColumn || !detailed.has(`${e.upstream}\u0000${e.downstream}`));
}

// Node URN -> [{name, transformations}] in the order the column edges name them.
function columnsOf(edges) {
  const columns = new Map();
  const add = (urn, name, transformation) => {
    if (!columns.has(urn)) columns.set(urn, new Map());
    const own = columns.get(urn);
    if (!own.has(name)) own.set(name, new Set());
    if (transformation) own.get(name).add(transformation);
  };
  for (const edge of edges) {
    if (!edge.upstreamColumn) continue;
    add(edge.upstream, edge.upstreamColumn, null);
    add(edge.downstream, edge.downstreamColumn, edge.transformation);
  }
  const listed = (own) => [...own].map(([name, kinds]) => ({ name, transformations: [...kinds] }));
  return new Map([...columns].map(([urn, own]) => [urn, listed(own)]));
}

// The nodes whose name (or schema.name, or URN) contains `text`, ignoring case, in drawing order.
export function find(nodes, text) {
  const wanted = text.trim().toLowerCase();
  if (!wanted) return [];
  return nodes.filter((node) => `${node.schema}.${node.name}`.toLowerCase().includes(wanted) ||
    node.urn.toLowerCase().includes(wanted)).map((node) => node.urn);
}

export const label = (node) => `${node.schema}.${node.name}`;
