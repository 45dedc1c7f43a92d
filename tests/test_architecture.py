"""The layering of docs/architecture.md, checked on the source: import cycles, library boundaries, thin transports.

Imports are read statically (every `import` statement, including those inside functions and `TYPE_CHECKING`
blocks), because a lazy import hides a cycle from Python but not from a reader; importing `a.b.c` counts as
importing the packages `a` and `a.b` too, since Python runs their `__init__` first.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("catalog_api", "crawlers", "profiler", "events")
LIBRARIES = ("crawlers", "profiler", "events")
TRANSPORTS = ("catalog_api.rest", "catalog_api.graphql", "catalog_api.web")


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def _imported(module: str) -> Iterator[str]:
    """Every module name an import statement of `module` names (a `from X import y` names X and X.y)."""
    path = MODULES[module]
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(package[: len(package) - node.level + 1] + [node.module or ""]) if node.level else (
                node.module or "")
            base = base.rstrip(".")
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def _with_packages(name: str) -> Iterator[str]:
    """A module and the packages Python initialises to import it (`a.b.c` runs `a/__init__` and `a/b/__init__`)."""
    parts = name.split(".")
    for end in range(1, len(parts) + 1):
        yield ".".join(parts[:end])


def _graph() -> dict[str, set[str]]:
    graph = {}
    for m in MODULES:
        own = set(_with_packages(m))  # a module's own packages are initialised before it, never by it
        graph[m] = {t for name in _imported(m) for t in _with_packages(name) if t in MODULES and t not in own}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycles_among_the_modules():
    assert _cycles(_graph()) == []


@pytest.mark.parametrize("library", LIBRARIES)
def test_libraries_never_import_the_application(library):
    offenders = {m: sorted(t for t in _imported(m) if t.split(".")[0] == "catalog_api")
                 for m in MODULES if m.split(".")[0] == library}
    assert {m: t for m, t in offenders.items() if t} == {}


def test_transports_read_views_never_orm_rows():
    reading = {m for m in MODULES if m.startswith(TRANSPORTS)
               and any(t == "catalog_api.db" or t.startswith("catalog_api.db.") for t in _imported(m))}
    assert reading == set(), "REST and GraphQL read the services' views, never catalog_api.db"


def test_services_never_import_a_transport():
    transports = (*TRANSPORTS, "catalog_api.cli", "catalog_api.app")
    offenders = {m: sorted(t for t in _imported(m) if t.startswith(transports))
                 for m in MODULES if m.startswith("catalog_api.services")}
    assert {m: t for m, t in offenders.items() if t} == {}


def test_only_the_composition_root_builds_a_service_context():
    builders = {m for m, path in MODULES.items() if "ServiceContext(" in path.read_text()}
    assert builders == {"catalog_api.bootstrap"}


def test_tests_share_helpers_only_through_tests_support():
    """A test module never imports another test module or a folder's conftest; shared helpers live in tests/support
    (conftest files hold fixtures only)."""
    allowed = ("tests.support",)
    offenders = {}
    for path in (ROOT / "tests").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "tests":
                if not node.module.startswith(allowed):
                    offenders.setdefault(str(path.relative_to(ROOT)), []).append(node.module)
    assert offenders == {}
