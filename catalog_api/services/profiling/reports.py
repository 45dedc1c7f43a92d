"""The HTML report of a profile run: rendered with the values of PII columns masked, and read back.

The report is a page rendered once, from the run's sample, so it cannot be masked per caller: the values of every
column that is PII when it is rendered (tagged `pii.*` in the catalog, or detected as such by this very run) are
masked in the sample before ydata-profiling sees it, and the stored report never holds them, whoever reads it. The
masked columns are stored with the run. A column tagged after the report was rendered still shows its values there:
a caller without `pii:read` is refused that report (until the table is profiled again), one with it reads it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog_api.db.models import ProfileReportRow, TableProfileRow
from catalog_api.errors import NotFound, PiiWithheld
from catalog_api.security.identity import current_identity
from catalog_api.services.browse import entity_by_urn
from catalog_api.services.context import ServiceContext
from catalog_api.services.profiling.masking import detected_pii, pii_column_names, pii_profiled_columns
from catalog_api.services.profiling.reading import Target
from catalog_api.settings import Settings
from catalog_api.urns import EntityType
from profiler import TableProfile

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

MASKED_COLUMNS = "report_masked_columns"
"""The key, in a run's stored table-level profile (`TableProfileRow.profile`), of the columns its report masks."""


@dataclass(frozen=True, slots=True)
class RenderedReport:
    """A run's HTML report and the columns whose values it masks."""

    html: str
    masked_columns: tuple[str, ...]


def render_masked_report(ctx: ServiceContext, target: Target, profile: TableProfile, sample: pd.DataFrame,
                         title: str) -> RenderedReport | None:
    """The report of a run, with the columns that are PII now (or that the run found to be) masked; None when
    reports are off or rendering failed."""
    if not ctx.settings.profile_reports_enabled:
        return None
    from profiler import render_report

    with ctx.db.session() as session:
        masked = pii_column_names(session, target.table_id)
    masked |= detected_pii(profile)
    try:
        html = render_report(sample, title, max_rows=max(1, ctx.settings.profile_sample_rows), masked_columns=masked)
    except Exception:  # a report is a convenience: its failure must not lose the profile
        log.warning("HTML report of %s failed", title, exc_info=True)
        return None
    return RenderedReport(html, tuple(sorted(masked)))


def profile_report(session: Session, settings: Settings, urn: str, profile_id: int | None = None) -> str:
    """The HTML report of the table's newest profile that has one (or of the given profile)."""
    table = entity_by_urn(session, urn, expected=EntityType.DATASET)
    query = (select(ProfileReportRow.html, TableProfileRow.id, TableProfileRow.profile)
             .join(TableProfileRow, TableProfileRow.id == ProfileReportRow.table_profile_id)
             .where(TableProfileRow.table_id == table.id)
             .order_by(TableProfileRow.started_at.desc(), TableProfileRow.id.desc()))
    if profile_id is not None:
        query = query.where(TableProfileRow.id == profile_id)
    found = session.execute(query).first()
    if found is None:
        which = f"profile {profile_id} of {urn}" if profile_id is not None else urn
        raise NotFound(f"no HTML report for {which}: profile the table first (reports are kept for the newest "
                       f"{settings.profile_reports_kept} profiles)", field="urn")
    html, run, stored = found
    if not current_identity().reveals_pii:
        # Reports rendered before masking existed record no masked columns: every PII column counts as shown.
        shown = pii_profiled_columns(session, run) - set((stored or {}).get(MASKED_COLUMNS, ()))
        if shown:
            raise PiiWithheld(f"the HTML report of profile {run} of {urn} shows values of {', '.join(sorted(shown))}, "
                              "tagged pii.* after it was rendered: reading it needs the pii:read permission, or "
                              "profile the table again for a report that masks them")
    return html
