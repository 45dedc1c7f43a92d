"""Response bodies of the REST API, derived from the services' views.

`rest_model` turns a view (a frozen dataclass) into a pydantic model with the same fields, types and defaults, in
the same order; a nested view becomes the model derived from it. `Model.of(view)` reads the view's attributes, so
whatever a view shows (or hides) is what the API answers, and a view's field is declared once.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, ClassVar, Self, Union

from pydantic import BaseModel, ConfigDict, create_model

from catalog_api.services.browse import Page
from catalog_api.services.extraction import ExtractionView
from catalog_api.services.profiling import AnomalyView, ColumnProfileView, DuplicateRowsView, ProfileView
from catalog_api.services.sources import ConnectionTestResult
from catalog_api.services.views import (
    AnomalyHealthView,
    ChangeView,
    FreshnessHealthView,
    JobView,
    LineageNamingView,
    ReportedOriginView,
    ScheduleView,
    SchemaView,
    SourceView,
    TableDetailView,
    TableHealthView,
    TableView,
    TaggedColumnView,
    TaggedEntityView,
)


class ViewModel(BaseModel):
    """A response body read from a service's view: each field (nested bodies included) from the view's attribute
    of the same name."""

    model_config = ConfigDict(from_attributes=True)

    @classmethod
    def of(cls, view: Any) -> Self:
        return cls.model_validate(view)


_DERIVED: dict[type, type[ViewModel]] = {}


def _body_type(hint: Any) -> Any:
    """A view's field type with every nested view replaced by the model derived from it."""
    if hint in _DERIVED:
        return _DERIVED[hint]
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is list:
        return list[_body_type(args[0])]
    if origin in (Union, types.UnionType):
        return Union[tuple(_body_type(a) for a in args)]  # noqa: UP007 - built from a tuple
    return hint


def rest_model(name: str, view: type, doc: str, *, exclude: frozenset[str] = frozenset(),
               base: type[ViewModel] = ViewModel) -> type[ViewModel]:
    """The response body of `view`: its fields (less `exclude`), types and defaults, in order, documented by `doc`."""
    hints = typing.get_type_hints(view)
    fields: dict[str, Any] = {}
    for f in dataclasses.fields(view):
        if f.name in exclude or f.name in base.model_fields:
            continue
        default = f.default if f.default is not dataclasses.MISSING else ...
        fields[f.name] = (_body_type(hints[f.name]), default)
    model = create_model(name, __base__=base, __doc__=doc, __module__=__name__, **fields)
    _DERIVED.setdefault(view, model)
    return model


LineageNaming = rest_model("LineageNaming", LineageNamingView, "How the source's datasets are named in OpenLineage.")
ScheduleOut = rest_model("ScheduleOut", ScheduleView, "A source's crawl schedule, when it runs next, and whether the "
                                                      "circuit breaker paused it.")
SourceOut = rest_model("SourceOut", SourceView, "A registered source. `secret_refs` are references (`env:NAME`, "
                                                "`keyvault:NAME[/VERSION]`, `local:ID`), never secret values.")
JobOut = rest_model("JobOut", JobView, "A job record: status, progress, timings, error and result summary.",
                    exclude=frozenset({"params"}))
ConnectionTestOut = rest_model("ConnectionTestOut", ConnectionTestResult, "The outcome of a connection test.")
ColumnOut = rest_model("ColumnOut", TaggedColumnView, "A column as the source defines it, with its curated "
                                                      "description and tags.")
ReportedOriginOut = rest_model("ReportedOrigin", ReportedOriginView, "Who reported a table the catalog has not "
                                                                    "crawled: the OpenLineage job, run and event time.")
AnomalyHealthOut = rest_model("AnomalyHealth", AnomalyHealthView, "The open anomalies of a table's latest profile.")
FreshnessHealthOut = rest_model("FreshnessHealth", FreshnessHealthView, "Whether a table's data is fresh by its "
                                                                        "freshness rules.")
TableHealthOut = rest_model("TableHealthOut", TableHealthView, "A table's health: its quality rules by their latest "
                                                               "results, its open anomalies and its freshness.")
TableOut = rest_model("TableOut", TableDetailView, "A table, view or file with its columns, keys and indexes; or a "
                                                   "dataset known only from OpenLineage (`origin: reported`), with "
                                                   "the columns its events reported.")
ChangeOut = rest_model("ChangeOut", ChangeView, "One change-log row: what changed, on which entity, from what to "
                                                "what, and when.")
EntityOut = rest_model("EntityOut", TaggedEntityView, "Any entity by URN after a curation call.")
ExtractionOut = rest_model("ExtractionOut", ExtractionView, "How a table is extracted: the plan in force (suggested "
                                                            "or overridden) and where its data stands.")
ColumnProfileOut = rest_model(
    "ColumnProfileOut", ColumnProfileView,
    "One column's statistics in one profile run. `stats` holds the profiler's figures (counts, min/max, mean,\n"
    "quantiles, histogram, top values, patterns, semantic types); decimals are strings, timestamps ISO 8601.\n"
    "Of a column tagged `pii.*`, a caller without `pii:read` gets the value figures null, named in `masked`.")
AnomalyOut = rest_model("AnomalyOut", AnomalyView, "A departure from a table's profile history: what was observed "
                                                   "against the expected range, and how bad.")
DuplicateRowsOut = rest_model(
    "DuplicateRowsOut", DuplicateRowsView,
    "Rows equal in every column to another row, beyond the first of each. `exact` says whether `value` is a count\n"
    "or an estimate; an estimate's true count lies in `[low, high]` with probability `confidence`. `method` says how\n"
    "it was found: `unique_column`, `counted` (64-bit row hashes), `sketch` (a sample of distinct rows) or `legacy`.")
ProfileSummaryOut = rest_model("ProfileSummaryOut", ProfileView, "One profile run of a table with its table-level "
                                                                 "figures (an entry of the profile history).",
                               exclude=frozenset({"columns", "anomalies"}))
ProfileOut = rest_model("ProfileOut", ProfileView, "One profile run with every column's statistics and the anomalies "
                                                   "it found.", base=ProfileSummaryOut)


class PageOut(ViewModel):
    """A page of items; pass `next_cursor` as `after` for the next page (null: this is the last one)."""

    item_model: ClassVar[type[ViewModel]]

    @classmethod
    def of(cls, page: Page) -> Self:
        return cls(items=[cls.item_model.of(e) for e in page.items], total=page.total,
                   next_cursor=page.cursors[-1] if page.has_next else None)


def page_model(name: str, item_model: type[ViewModel], what: str) -> type[PageOut]:
    """The body of one page of `item_model`: `items`, the `total` across pages, and `next_cursor`; `what` says what
    the items are and in which order."""
    doc = f"{what}; pass `next_cursor` as `after` for the next page."
    model = create_model(name, __base__=PageOut, __doc__=doc, __module__=__name__,
                         items=(list[item_model], ...), total=(int, ...), next_cursor=(str | None, ...))
    model.item_model = item_model
    return model


ChangePage = page_model("ChangePage", ChangeOut, "A page of change-log rows, newest first")
SchemaOut = rest_model("SchemaOut", SchemaView, "A schema (namespace) of a source; `deleted_at` is set once it "
                                                "disappeared from the source.")
SchemaPage = page_model("SchemaPage", SchemaOut, "A page of a source's schemas by name")
TableSummaryOut = rest_model("TableSummaryOut", TableView, "A table, view, materialized view, foreign table or file "
                                                           "of a schema, without its columns (GET /api/v1/tables/{urn} "
                                                           "has them).")
TablePage = page_model("TablePage", TableSummaryOut, "A page of a schema's tables by name")


class AnomalyThresholdsOut(ViewModel):
    """The anomaly-detection settings in force for a table: its own overrides merged over the defaults."""

    urn: str
    thresholds: dict[str, Any]
