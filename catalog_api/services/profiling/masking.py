"""PII masking: what a caller without `pii:read` sees of the values of columns tagged `pii.*`.

A column is PII while it carries a tag `pii` or `pii.<anything>` (the profiler adds `pii.email` and the like; curators
add or remove any). The tag is read when a view is built, not when the column was profiled: tagging a column masks
every stored profile of it at once, and removing the tag reveals them again.

What is withheld is everything expressed in the column's own values: `min`, `max`, `sum`, `mean`, `stddev`,
quantiles, the histogram (its edges are values), `freshness_seconds` (the age of the newest value gives that value
away), and the values of `top_values` (their counts stay). For a one-row table the mean is the value, and quantiles
and the maximum are individual values, so no figure in the value domain is safe. Counts, null counts and rates,
distinct counts, lengths and character-class shapes (`patterns`, each character reduced to its class) stay.

A withheld figure becomes null and its name is listed in the view's `masked`, so typed fields (a float mean, a
list of histogram edges) stay valid and a caller can tell "withheld" from "does not apply". The figures of an anomaly
about a PII column's values (a shifted mean, minimum or maximum, a stalled or aged newest value) are withheld the
same way, and its message, which quotes them, is replaced. Events carry no caller, so they are always built as a
caller without `pii:read` would see them (see `store`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from catalog_api.db.models import Column, ColumnProfileRow, Tag
from catalog_api.security.identity import current_identity
from catalog_api.security.pii import PII_TAG, is_pii_tag  # noqa: F401 - the definition, part of this API
from profiler import TableProfile

VALUE_STATISTICS = ("min", "max", "sum", "mean", "stddev", "quantiles", "histogram", "freshness_seconds")
"""Statistics in the column's value domain: null for a caller who may not see the column's values."""

VALUE_ANOMALIES = frozenset({"mean_shift", "min_shift", "max_shift", "freshness_stall", "freshness_age"})
"""Anomaly kinds whose figures and message quote the column's values (rates, volume and schema drift do not)."""

ANOMALY_FIGURES = ("observed", "expected", "expected_min", "expected_max", "message")
"""The fields of a stored anomaly that `masked_anomaly` may withhold."""


def _pii_tag() -> ColumnElement[bool]:
    return or_(Tag.tag == PII_TAG, Tag.tag.startswith(f"{PII_TAG}.", autoescape=True))


def detected_pii(profile: TableProfile) -> set[str]:
    """The names of the columns a profile run found to be PII (their tags are added when the run is stored)."""
    return {c.name for c in profile.columns if any(is_pii_tag(tag) for tag in c.tags)}


def pii_columns(session: Session, column_urns: Iterable[str]) -> set[str]:
    """Which of these column URNs carry a PII tag now (one query)."""
    urns = set(column_urns)
    if not urns:
        return set()
    return set(session.scalars(select(Tag.entity_urn).where(Tag.entity_urn.in_(urns), _pii_tag()).distinct()))


def pii_column_names(session: Session, table_id: int) -> set[str]:
    """The names of a table's columns (removed ones included) that carry a PII tag now (one query)."""
    return set(session.scalars(select(Column.name).join(Tag, Tag.entity_urn == Column.urn)
                               .where(Column.table_id == table_id, _pii_tag()).distinct()))


def pii_profiled_columns(session: Session, profile_id: int) -> set[str]:
    """The names of the columns of one profile run that carry a PII tag now (one query)."""
    return set(session.scalars(select(ColumnProfileRow.name).join(Tag, Tag.entity_urn == ColumnProfileRow.column_urn)
                               .where(ColumnProfileRow.table_profile_id == profile_id, _pii_tag()).distinct()))


def hidden_columns(session: Session, column_urns: Iterable[str]) -> set[str]:
    """The columns among these whose values the current caller may not see: none for a caller with `pii:read`."""
    if current_identity().reveals_pii:
        return set()
    return pii_columns(session, column_urns)


def masked_stats(stats: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """A PII column's statistics as a caller without `pii:read` sees them, and the names of those withheld."""
    shown = dict(stats)
    masked = [name for name in VALUE_STATISTICS if shown.get(name) is not None]
    for name in masked:
        shown[name] = None
    top = shown.get("top_values") or []
    if any(entry.get("value") is not None for entry in top):
        shown["top_values"] = [{**entry, "value": None} for entry in top]
        masked.append("top_values")
    return shown, masked


def masked_anomaly(kind: str, column: str | None, figures: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """An anomaly's `figures` (any of observed, expected, expected_min, expected_max and message) as a caller without
    `pii:read` sees them when the anomaly is about a PII column, and the names of those withheld. The message
    becomes one that quotes nothing; an anomaly that quotes no value keeps everything."""
    if kind not in VALUE_ANOMALIES:
        return figures, []
    masked = [name for name, value in figures.items() if value is not None]
    shown: dict[str, Any] = dict.fromkeys(figures)
    if "message" in figures:
        shown["message"] = (f"{kind.replace('_', ' ')} of {column}: the figures are withheld because the column is "
                            f"tagged {PII_TAG}.*")
    return shown, masked
