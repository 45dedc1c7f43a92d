"""The libraries' packages load some of their names on first use; each name they export must still be the class or
function it names, also once every submodule is imported (a submodule named like a function, `crawlers.diff`,
would otherwise shadow it)."""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

import pytest

LIBRARIES = ("crawlers", "events", "profiler")


@pytest.mark.parametrize("name", LIBRARIES)
def test_every_exported_name_is_what_it_names(name):
    package = importlib.import_module(name)
    for submodule in pkgutil.iter_modules(package.__path__, f"{name}."):
        importlib.import_module(submodule.name)
    exported = {export: getattr(package, export) for export in package.__all__}
    assert [export for export, value in exported.items() if isinstance(value, ModuleType)] == []
