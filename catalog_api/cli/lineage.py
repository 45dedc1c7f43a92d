"""`catalog lineage URN`: what a dataset or column comes from and feeds, as a tree or as Mermaid, DOT or JSON."""

from __future__ import annotations

import dataclasses
import json
from collections import defaultdict
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.tree import Tree

from catalog_api.cli.common import console, service


class Shown(StrEnum):
    """How `catalog lineage` prints the graph."""

    TREE = "tree"
    JSON = "json"
    MERMAID = "mermaid"
    DOT = "dot"
    OPENLINEAGE = "openlineage"


class Way(StrEnum):
    """Which way to walk from the start."""

    BOTH = "both"
    UPSTREAM = "upstream"
    DOWNSTREAM = "downstream"


def lineage(
    urn: Annotated[str, typer.Argument(help="A dataset URN, or a column URN for the impact of changing a column.")],
    direction: Annotated[Way, typer.Option("--direction", "-d", help="Which way to walk.")] = Way.BOTH,
    depth: Annotated[int, typer.Option(help="Levels to walk each way.")] = 3,
    columns: Annotated[bool, typer.Option("--columns", help="Show which columns feed which.")] = False,
    limit: Annotated[int | None, typer.Option(help="At most this many nodes and edges.")] = None,
    output: Annotated[Shown, typer.Option("--format", "-f", help="tree (default), json, mermaid, dot or "
                                                                 "openlineage (RunEvents).")] = Shown.TREE,
) -> None:
    """Lineage around a dataset or column: upstream (what it is made from) and downstream (what it feeds)."""
    from catalog_api.services.lineage import export_graph
    from catalog_api.services.lineage import lineage as walk

    with service() as ctx, ctx.db.session() as session:
        graph = walk(session, ctx.settings, urn, direction=direction.value, depth=depth, column_level=columns,
                     limit=limit)
        # Mermaid and DOT are printed as they are: rich would take `["…"]` for markup.
        text = None if output in (Shown.TREE, Shown.JSON) else export_graph(session, ctx.settings, graph, output)
    if text is not None:
        print(text, end="")
    elif output is Shown.JSON:
        print(json.dumps(graph_json(graph)))
    else:
        console.print(lineage_tree(graph))
        if graph.truncated:
            console.print(f"[yellow]cut short:[/yellow] {escape(graph.truncated_reason or '')}")


def graph_json(graph) -> dict[str, Any]:
    """The graph as REST's `GET /lineage` answers it: nodes, and edges with their column URNs."""
    edges = []
    for edge in graph.edges:
        fields = dataclasses.asdict(edge)
        fields.pop("transformations")  # what an OpenLineage edge was reported with: the openlineage format has it
        edges.append({**fields, "upstream_column_urn": edge.upstream_column_urn,
                      "downstream_column_urn": edge.downstream_column_urn})
    return json.loads(json.dumps({
        "urn": graph.urn, "direction": graph.direction.value, "depth": graph.depth, "column_level": graph.column_level,
        "nodes": [dataclasses.asdict(node) for node in graph.nodes], "edges": edges,
        "truncated": graph.truncated, "truncated_reason": graph.truncated_reason,
        "truncated_at": list(graph.truncated_at),
    }, default=lambda moment: moment.isoformat()))


def lineage_tree(graph) -> Tree:
    """The start as the root, with an `upstream` and a `downstream` branch nesting level by level.

    A dataset reached twice (a diamond or a cycle) is expanded once; its other places say `(shown above)`.
    """
    from catalog_api.urns import EntityType, dataset_urn, parse_urn

    nodes = {node.urn: node for node in graph.nodes}
    start = parse_urn(graph.urn)
    column_start = start.type is EntityType.COLUMN
    following: dict[bool, dict[Any, dict[Any, list[str]]]] = {True: defaultdict(dict), False: defaultdict(dict)}
    for edge in graph.edges:
        if column_start:
            up, down = (edge.upstream, edge.upstream_column), (edge.downstream, edge.downstream_column)
        else:
            up, down = edge.upstream, edge.downstream
        mapped = [f"{edge.upstream_column} → {edge.downstream_column}"] if edge.upstream_column and not column_start \
            else []
        following[True][up].setdefault(down, []).extend(mapped)
        following[False][down].setdefault(up, []).extend(mapped)

    def label(key: Any, columns: list[str] | None = None) -> str:
        dataset, column = key if column_start else (key, None)
        node = nodes.get(dataset)
        name = f"{node.source}.{node.schema}.{node.name}" if node else dataset
        text = f"[bold]{escape(name)}[/bold]" + (f".{escape(column)}" if column else "")
        if node is not None and node.placeholder:
            text += " [dim](not crawled)[/dim]"
        if columns:
            text += f" [dim]({escape(', '.join(sorted(set(columns))))})[/dim]"
        return text

    root_key = (dataset_urn(*start.names[:3]), start.names[3]) if column_start else graph.urn

    def grow(parent: Tree, key: Any, forward: bool, expanded: set) -> None:
        for near, columns in sorted(following[forward][key].items(), key=lambda item: str(item[0])):
            if near in expanded:
                parent.add(label(near, columns) + " [dim](shown above)[/dim]")
                continue
            expanded.add(near)
            grow(parent.add(label(near, columns)), near, forward, expanded)

    tree = Tree(label(root_key))
    for forward in ((False, True) if graph.direction.value == "BOTH" else (graph.direction.value == "DOWNSTREAM",)):
        branch = tree.add("[cyan]downstream[/cyan]" if forward else "[magenta]upstream[/magenta]")
        grow(branch, root_key, forward, {root_key})
        if not branch.children:
            branch.add("[dim]none[/dim]")
    return tree
