"""Fixtures of the lineage tests: the `chain` graph (a cycle with a branch), built through REST."""

from tests.support.lineage import chain  # noqa: F401  (fixture)
