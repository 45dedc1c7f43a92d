"""The GraphQL side of the metrics: one record per operation, by type and (bounded) name, with its duration and
whether it answered with errors (`catalog_api.observability.metrics`)."""

from __future__ import annotations

import time
from collections.abc import Iterator

from strawberry.extensions import SchemaExtension

from catalog_api.observability.metrics import record_graphql_operation

INVALID_OPERATION = "invalid"
"""The type label of a document that did not parse or does not hold the operation asked for."""


class OperationMetrics(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        yield
        context = self.execution_context
        try:
            operation_type, name = context.operation_type.value, context.operation_name
        except Exception:  # no document, or no operation of that name in it: a client's name is not trusted here
            operation_type, name = INVALID_OPERATION, None
        result = context.result
        failed = bool(context.pre_execution_errors) or bool(getattr(result, "errors", None))
        record_graphql_operation(operation_type, name, time.perf_counter() - started, failed)
