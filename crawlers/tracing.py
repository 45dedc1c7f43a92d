"""Spans of the work done against a source (its catalog's queries, incremental reads), through the OpenTelemetry API.

A library does not decide whether or where spans go: the application installs a tracer provider, and these spans
are no-ops until it does. The API is reached only once something in the process has imported it, since a process
that never imported OpenTelemetry cannot have installed a provider: `catalog crawl` on the command line does not
pay for the import (tests/catalog_api/cli/test_startup.py), while `catalog serve` and the workers, which import it,
record these spans under the job's.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from contextlib import AbstractContextManager, nullcontext
from typing import Any

TRACER_NAME = "crawlers"


def source_span(name: str, attributes: Mapping[str, Any] | None = None) -> AbstractContextManager[Any]:
    """A client span (work the source does for the catalog) under the current one, current while it is open: the
    span, or None when this process does not use OpenTelemetry."""
    trace = sys.modules.get("opentelemetry.trace")
    if trace is None:
        return nullcontext()
    return trace.get_tracer(TRACER_NAME).start_as_current_span(name, kind=trace.SpanKind.CLIENT,
                                                               attributes=attributes)
