"""Traces: OpenTelemetry spans for requests, jobs, source queries and profile stages, exported where the standard
environment says.

`configure_tracing` runs once at the start of `catalog serve` (service `catalog-api`), of each `catalog worker`
process (`catalog-worker`) and of `catalog scheduler` (`catalog-scheduler`). It installs an SDK `TracerProvider`
only when there is somewhere to send spans:

* `APPLICATIONINSIGHTS_CONNECTION_STRING` set: Azure Monitor (Application Insights);
* `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or `OTEL_EXPORTER_OTLP_ENDPOINT` set: OTLP over HTTP/protobuf (the
  exporter reads its other `OTEL_EXPORTER_OTLP_*` variables itself: headers, timeout, compression);
* both: both; neither (or `OTEL_SDK_DISABLED=true`): nothing is installed and nothing of the SDK is imported.

Sampling is the SDK's, from `OTEL_TRACES_SAMPLER` / `OTEL_TRACES_SAMPLER_ARG` (default: parent-based, always on).
The SDK and exporters are the `otel` extra (`pip install 'catalog[otel]'`, which the container image has).

HTTP requests' server spans are FastAPI's own (its native telemetry starts one per request, named after the route
template, whenever a tracer provider is installed). The catalog's own spans (`job_span`, `span`) cost nothing while
tracing is off: not even the OpenTelemetry API is imported. While it is on, the request's or job's span gives its
ids to the `WorkContext`
(`catalog_api.observability.context`), so log lines, the job's stored `traceparent` and events' `traceparent`
name the real span, and a job continues the trace of the request that submitted it. The libraries use the
OpenTelemetry API, as libraries should (`profiler` directly, `crawlers` through `crawlers.tracing`, which leaves the
API unimported in a process that never imported it); their spans nest under the job's.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.trace import Span

log = logging.getLogger(__name__)

ServiceName = Literal["catalog-api", "catalog-worker", "catalog-scheduler"]
TRACER_NAME = "catalog_api"
AZURE_MONITOR_ENV = "APPLICATIONINSIGHTS_CONNECTION_STRING"
OTLP_ENDPOINT_ENVS = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
SpanIds = tuple[str, str, str]
"""(trace id, span id, flags) of a span, in W3C trace context's hex spelling."""

_provider: TracerProvider | None = None


def tracing_on() -> bool:
    """Whether this process records spans (a provider was installed by `configure_tracing` or `install`)."""
    return _provider is not None


def exporters_from_env(env: Mapping[str, str] | None = None) -> list[SpanExporter]:
    """The exporters the environment asks for (see the module docstring); each reads its own variables."""
    env = os.environ if env is None else env
    exporters: list[SpanExporter] = []
    if env.get(AZURE_MONITOR_ENV):
        from azure.monitor.opentelemetry.exporter import AzureMonitorTraceExporter

        exporters.append(AzureMonitorTraceExporter(connection_string=env[AZURE_MONITOR_ENV]))
    if any(env.get(name) for name in OTLP_ENDPOINT_ENVS):
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporters.append(OTLPSpanExporter())
    return exporters


def build_provider(service: ServiceName, exporters: list[SpanExporter]) -> TracerProvider:
    """A provider for `service` (resource `service.name`, `service.version`; `OTEL_RESOURCE_ATTRIBUTES` adds to
    it) sending every finished span to `exporters` in batches, off the request's or job's thread."""
    from importlib.metadata import PackageNotFoundError, version

    from opentelemetry.sdk.resources import SERVICE_NAME, SERVICE_VERSION, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    try:
        release = version("catalog")
    except PackageNotFoundError:  # run from a source tree that was never installed
        release = "unknown"
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: service, SERVICE_VERSION: release}))
    for exporter in exporters:
        provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


def configure_tracing(service: ServiceName) -> bool:
    """Installs this process's tracer provider when the environment names an exporter; returns whether tracing is
    on. A process that already traces keeps its provider (a worker module imported twice, say)."""
    if _provider is not None:
        return True
    wanted = [name for name in (AZURE_MONITOR_ENV, *OTLP_ENDPOINT_ENVS) if os.environ.get(name)]
    if not wanted or os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    try:
        exporters = exporters_from_env()
    except ImportError as missing:
        log.warning("%s is set but %s is not installed: traces are off (install catalog[otel])",
                    " and ".join(wanted), missing.name)
        return False
    install(build_provider(service, exporters))
    log.info("traces of %s go to %s", service, ", ".join(type(e).__name__ for e in exporters))
    return True


def install(provider: TracerProvider) -> None:
    """Makes `provider` the process's tracer provider (OpenTelemetry allows one per process) and turns the
    catalog's spans on; tests install one with an in-memory exporter."""
    global _provider
    from opentelemetry import trace

    if trace.get_tracer_provider() is not provider:
        trace.set_tracer_provider(provider)
    _provider = provider


def uninstall() -> None:
    """Turns the catalog's spans off again (the global provider stays: OpenTelemetry cannot replace it)."""
    global _provider
    _provider = None


def span_ids(span: Span | None) -> SpanIds | None:
    """The ids of `span` for a `WorkContext`, or None when there is no span (tracing off)."""
    if span is None:
        return None
    context = span.get_span_context()
    return f"{context.trace_id:032x}", f"{context.span_id:016x}", f"{int(context.trace_flags):02x}"


@contextmanager
def span(name: str, attributes: Mapping[str, Any] | None = None) -> Iterator[Span | None]:
    """A span of the catalog's own work (a profile stage, say) under the current one; None while tracing is off."""
    if _provider is None:
        yield None
        return
    from opentelemetry import trace

    with trace.get_tracer(TRACER_NAME).start_as_current_span(name, attributes=attributes) as current:
        yield current


@contextmanager
def job_span(name: str, traceparent: str | None, attributes: Mapping[str, Any] | None = None
             ) -> Iterator[Span | None]:
    """A job attempt's span (kind consumer: a queue delivered the work), continuing the trace of the request that
    submitted it (its stored `traceparent`), or starting a trace when none did; current while the block runs.
    None while tracing is off."""
    if _provider is None:
        yield None
        return
    from opentelemetry import trace
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    parent = TraceContextTextMapPropagator().extract({"traceparent": traceparent} if traceparent else {})
    with trace.get_tracer(TRACER_NAME).start_as_current_span(name, context=parent, kind=trace.SpanKind.CONSUMER,
                                                             attributes=attributes) as current:
        yield current


def current_span() -> Span | None:
    """The span being recorded in this context (a request's, which FastAPI starts; a job's), or None while tracing
    is off or nothing valid is current."""
    if _provider is None:
        return None
    from opentelemetry import trace

    current = trace.get_current_span()
    return current if current.get_span_context().is_valid else None


def record_failure(error: BaseException) -> None:
    """Marks the current span failed with `error` (a job's handler raised; the runner records and swallows it)."""
    if _provider is None:
        return
    from opentelemetry import trace
    from opentelemetry.trace import Status, StatusCode

    current = trace.get_current_span()
    current.record_exception(error)
    current.set_status(Status(StatusCode.ERROR, type(error).__name__))


def annotate(attributes: Mapping[str, Any]) -> None:
    """Adds `attributes` to the current span (a job's outcome, a table's row count), if tracing is on."""
    if _provider is None:
        return
    from opentelemetry import trace

    trace.get_current_span().set_attributes(attributes)
