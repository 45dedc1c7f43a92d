"""The layering of docs/architecture.md, checked on the source: import cycles, library boundaries, thin transports.

Imports are read statically (every `import` statement, including those inside functions and `TYPE_CHECKING`
blocks), because a lazy import hides a cycle from Python but not from a reader; importing `a.b.c` counts as
importing the packages `a` and `a.b` too, since Python runs their `__init__` first. A module's own packages were
initialised before it, so they count only where it names them: `from a.b import c` (or `from . import c`) inside
`a.b` takes `c` from `a/b/__init__.py`, which may be importing that very module, so it is an edge to `a.b` as well
as to `a.b.c`.
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


def _modules(root: Path = ROOT, packages: tuple[str, ...] = PACKAGES) -> dict[str, Path]:
    found = {}
    for package in packages:
        for path in (root / package).rglob("*.py"):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def _imported(module: str, modules: dict[str, Path] = MODULES) -> Iterator[str]:
    """Every module name an import statement of `module` names (a `from X import y` names X and X.y)."""
    path = modules[module]
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


def _graph(modules: dict[str, Path] = MODULES) -> dict[str, set[str]]:
    graph = {}
    for m in modules:
        own = set(_with_packages(m))  # initialised before m: an edge only where m names one of them
        targets = set()
        for name in _imported(m, modules):
            targets.add(name)
            targets.update(package for package in _with_packages(name) if package not in own)
        graph[m] = {t for t in targets if t in modules and t != m}
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


@pytest.mark.parametrize(("records_imports", "cycles"), [
    ("from pkg import history", [["pkg", "pkg.records"]]),  # pkg/__init__ runs records, which reads pkg/__init__
    ("from . import history", [["pkg", "pkg.records"]]),
    ("import pkg.history", []),  # pkg/__init__ ran before records: naming a submodule only reads that submodule
    ("from pkg.history import write", []),
    ("from .history import write", []),
])
def test_a_cycle_through_a_packages_init_is_found_and_a_clean_package_passes(tmp_path, records_imports, cycles):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("from pkg.records import record\n")
    (package / "records.py").write_text(f"{records_imports}\n\n\ndef record():\n    pass\n")
    (package / "history.py").write_text("def write():\n    pass\n")
    assert _cycles(_graph(_modules(tmp_path, ("pkg",)))) == cycles


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
