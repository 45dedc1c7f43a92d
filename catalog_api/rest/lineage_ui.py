"""The lineage viewer at `/ui/lineage?urn=…`: a server-side layout drawn as SVG, with a few lines of plain JS.

Layout: one column per distance from the start (upstream on the left), nodes sorted by name within a column; with
`column_level=true` each node lists the columns its column edges touch and those edges join the column rows.
Pan (drag), zoom (wheel), expand (a node's link re-centres the graph on it; "deeper" adds a level) and the
column-level toggle need no JS library: the page is self-contained, nothing is fetched from a CDN.
"""

from __future__ import annotations

from html import escape
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from catalog_api.rest.deps import QUERY_SESSION
from catalog_api.rest.deps import settings as app_settings
from catalog_api.rest.security import allow
from catalog_api.security.identity import Permission
from catalog_api.services.lineage.graph import GraphNode, LineageGraph, lineage
from catalog_api.settings import Settings

router = APIRouter(tags=["lineage"])

_W, _H, _GAP_X, _GAP_Y, _ROW = 220, 34, 110, 26, 18



def _link(urn: str, depth: int, column_level: bool) -> str:
    return "/ui/lineage?" + urlencode({"urn": urn, "depth": depth, "column_level": str(column_level).lower()})


def _layout(graph: LineageGraph) -> tuple[dict[str, tuple[int, int, int]], dict[str, list[str]], int, int]:
    """Node URN -> (x, y, height), the columns shown per node, and the drawing's width and height."""
    columns: dict[str, list[str]] = {n.urn: [] for n in graph.nodes}
    if graph.column_level:
        for edge in graph.edges:
            for urn, column in ((edge.upstream, edge.upstream_column), (edge.downstream, edge.downstream_column)):
                if column is not None and urn in columns and column not in columns[urn]:
                    columns[urn].append(column)
    layers: dict[int, list[GraphNode]] = {}
    for node in graph.nodes:
        layers.setdefault(node.distance, []).append(node)
    low = min(layers) if layers else 0
    places: dict[str, tuple[int, int, int]] = {}
    width = height = 0
    for distance, nodes in sorted(layers.items()):
        y = 20
        x = 20 + (distance - low) * (_W + _GAP_X)
        for node in sorted(nodes, key=lambda n: (n.source, n.schema, n.name)):
            h = _H + _ROW * len(columns[node.urn])
            places[node.urn] = (x, y, h)
            y += h + _GAP_Y
        width, height = max(width, x + _W + 20), max(height, y)
    return places, columns, width, height


def render(graph: LineageGraph, depth: int) -> str:
    """The viewer page of one lineage result."""
    places, columns, width, height = _layout(graph)
    parts: list[str] = []
    for edge in graph.edges:
        if edge.upstream not in places or edge.downstream not in places:
            continue
        (x1, y1, _h1), (x2, y2, _h2) = places[edge.upstream], places[edge.downstream]
        if edge.upstream_column is None:
            if graph.column_level and any(e.upstream_column for e in graph.edges
                                          if (e.upstream, e.downstream) == (edge.upstream, edge.downstream)):
                continue  # the column edges say more
            ya, yb, cls = y1 + _H / 2, y2 + _H / 2, "edge"
        else:
            ya = y1 + _H + _ROW * columns[edge.upstream].index(edge.upstream_column) + _ROW / 2
            yb = y2 + _H + _ROW * columns[edge.downstream].index(edge.downstream_column) + _ROW / 2
            cls = f"edge column {escape(edge.transformation or 'unknown')}"
        xa, xb = x1 + _W, x2
        if xb <= xa:  # a back edge (cycle) or within a layer: loop around the boxes
            xb, xa = x2 + _W, x1
        mid = (xa + xb) / 2
        title = escape(f"{edge.upstream} → {edge.downstream} ({edge.origin})")
        parts.append(f'<path class="{cls}" d="M{xa},{ya} C{mid},{ya} {mid},{yb} {xb},{yb}" '
                     f'marker-end="url(#arrow)"><title>{title}</title></path>')
    for node in graph.nodes:
        x, y, h = places[node.urn]
        classes = "node" + (" start" if node.distance == 0 else "") + (" placeholder" if node.placeholder else "")
        label = escape(f"{node.schema}.{node.name}")
        parts.append(
            f'<g class="{classes}" data-urn="{escape(node.urn)}">'
            f'<a href="{escape(_link(node.urn, depth, graph.column_level))}">'
            f'<rect x="{x}" y="{y}" width="{_W}" height="{h}" rx="6"/>'
            f'<text x="{x + 10}" y="{y + 15}" class="name">{label}</text>'
            f'<text x="{x + 10}" y="{y + 28}" class="meta">{escape(node.source)} · '
            f'{escape(node.kind or "not crawled")}</text></a>'
            + "".join(f'<text x="{x + 18}" y="{y + _H + _ROW * i + 13}" class="col">{escape(c)}</text>'
                      for i, c in enumerate(columns[node.urn]))
            + f"<title>{escape(node.urn)}</title></g>"
        )
    banner = (f'<p class="truncated">Cut short: {escape(graph.truncated_reason or "")}. '
              f'<a href="{escape(_link(graph.urn, min(depth + 1, 20), graph.column_level))}">deeper</a></p>'
              if graph.truncated else "")
    toggle = _link(graph.urn, depth, not graph.column_level)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Lineage of {escape(graph.urn)}</title>
<style>
body {{ font: 14px system-ui, sans-serif; margin: 0; }}
header {{ padding: 8px 16px; border-bottom: 1px solid #ddd; }}
header a {{ margin-right: 12px; }}
.truncated {{ color: #a60; margin: 4px 0 0; }}
svg {{ width: 100vw; height: calc(100vh - 70px); cursor: grab; display: block; }}
.node rect {{ fill: #f4f7fb; stroke: #4a6fa5; }}
.node.start rect {{ fill: #dfe9f7; stroke-width: 2; }}
.node.placeholder rect {{ stroke-dasharray: 4 3; fill: #fff; }}
.name {{ font-weight: 600; }} .meta, .col {{ fill: #555; font-size: 12px; }}
.edge {{ fill: none; stroke: #888; stroke-width: 1.4; }}
.edge.column.expression {{ stroke-dasharray: 5 3; }}
</style></head>
<body><header><strong>{escape(graph.urn)}</strong> ·
<a href="{escape(toggle)}">{"hide" if graph.column_level else "show"} columns</a>
<a href="{escape(_link(graph.urn, min(depth + 1, 20), graph.column_level))}">deeper ({depth + 1 if depth < 20 else 20})</a>
<a href="{escape(_link(graph.urn, max(depth - 1, 1), graph.column_level))}">shallower</a>
{len(graph.nodes)} nodes, {len(graph.edges)} edges {banner}</header>
<svg id="graph" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {max(width, 400)} {max(height, 200)}">
<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto">
<path d="M0,0 L10,5 L0,10 z" fill="#888"/></marker></defs>
<g id="viewport">{"".join(parts)}</g></svg>
<script>
(() => {{
  const svg = document.getElementById("graph"), view = document.getElementById("viewport");
  let scale = 1, x = 0, y = 0, drag = null;
  const apply = () => view.setAttribute("transform", `translate(${{x}},${{y}}) scale(${{scale}})`);
  svg.addEventListener("wheel", (e) => {{
    e.preventDefault();
    const factor = e.deltaY < 0 ? 1.1 : 1 / 1.1;
    scale = Math.min(8, Math.max(0.1, scale * factor)); apply();
  }}, {{passive: false}});
  svg.addEventListener("pointerdown", (e) => {{ drag = [e.clientX - x, e.clientY - y]; }});
  svg.addEventListener("pointermove", (e) => {{ if (drag) {{ x = e.clientX - drag[0]; y = e.clientY - drag[1]; apply(); }} }});
  window.addEventListener("pointerup", () => {{ drag = null; }});
}})();
</script></body></html>
"""


@router.get("/ui/lineage", dependencies=[allow(Permission.READ)], response_class=HTMLResponse, include_in_schema=False)
def lineage_page(
    urn: str = Query(max_length=2048), depth: int = Query(default=2), column_level: bool = Query(default=False),
    session: Session = QUERY_SESSION, settings: Settings = Depends(app_settings),
) -> HTMLResponse:
    """The interactive lineage graph (both directions) of a dataset or column."""
    graph = lineage(session, settings, urn, direction="BOTH", depth=depth, column_level=column_level)
    return HTMLResponse(render(graph, depth))
