"""Per-table anomaly settings: the defaults of `profiler.AnomalyThresholds`, overridden per table."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from catalog_api.db.models import Table
from catalog_api.errors import InvalidInput
from catalog_api.services.browse import entity_by_urn
from catalog_api.services.context import ServiceContext
from catalog_api.urns import EntityType
from profiler import AnomalyThresholds, InvalidProfileInput


def get_anomaly_thresholds(session: Session, urn: str) -> dict[str, Any]:
    """The table's own anomaly settings merged over the defaults, as JSON."""
    table = entity_by_urn(session, urn, expected=EntityType.DATASET)
    return _thresholds_json(table_thresholds(table))


def set_anomaly_thresholds(ctx: ServiceContext, urn: str, overrides: dict[str, Any] | None) -> dict[str, Any]:
    """Replaces the table's anomaly settings (None or {} goes back to the defaults); returns the settings in force."""
    try:
        thresholds = AnomalyThresholds.from_mapping(overrides or {})
    except (InvalidProfileInput, TypeError) as error:
        name = getattr(error, "field", None) or "thresholds"
        raise InvalidInput(f"thresholds.{name}" if name != "thresholds" else name,
                           getattr(error, "message", None) or str(error)) from None
    with ctx.db.session() as session:
        table = entity_by_urn(session, urn, expected=EntityType.DATASET)
        table.anomaly_thresholds = dict(overrides) if overrides else None
    return _thresholds_json(thresholds)


def table_thresholds(table: Table) -> AnomalyThresholds:
    return AnomalyThresholds.from_mapping(table.anomaly_thresholds or {})


def _thresholds_json(t: AnomalyThresholds) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in t.__dataclass_fields__:
        value = getattr(t, name)
        if isinstance(value, frozenset):
            value = sorted(str(getattr(v, "value", v)) for v in value)
        out[name] = value
    return out
