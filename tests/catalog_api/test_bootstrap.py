"""The composition root names each job kind's handler instead of importing it: every name must resolve."""

from __future__ import annotations

from importlib import import_module

import pytest

from catalog_api.bootstrap import JOB_KINDS
from catalog_api.services.crawl import CRAWL
from catalog_api.services.extraction import EXTRACT
from catalog_api.services.profiling.jobs import PROFILE


@pytest.mark.parametrize("kind", sorted(JOB_KINDS))
def test_each_job_kind_names_a_handler_that_exists(kind):
    module, _, function = JOB_KINDS[kind].handler.partition(":")
    assert callable(getattr(import_module(module), function))


def test_the_kinds_are_the_ones_the_services_request():
    assert {CRAWL, EXTRACT, PROFILE, "ping"} == set(JOB_KINDS)
