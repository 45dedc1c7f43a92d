"""Profiling tables with the Spark profiler: the `profile` job, profile history, anomalies, PII tags and reports.

A profile job (`jobs`) works through a source's tables (or the ones it was given). Each table is read (`reading`)
from the lake when the lake holds the whole table (its newest extraction was a full snapshot, or an append-only key
plan since the last complete read), else live through the source's connector into a temporary Parquet file; a small
table is then profiled in the job's own process, a large one on Spark in two Spark jobs whatever its width, both
giving the same profile (`engine`, `profiler`). Each table's results are committed in one
transaction (`store`): the profile and its column rows, the anomalies found against the table's history, the PII
tags its values imply, and the `catalog.profile.completed` / `catalog.anomaly.detected` events. A crash mid-job
leaves the tables already done committed and the others as they were. Profiles are read back as views (`views`,
`history`), with the values of PII columns withheld from callers without `pii:read` (`masking`). The HTML reports
are rendered afterwards, with those values masked, by a `report` job the profile job queues, in a child process
(`report_jobs`), and read back with their status (`reports`); anomaly settings are per table (`thresholds`).

The names below are the domain's public face for transports; modules inside services import the submodules.
"""

from catalog_api.services.profiling.history import (
    MAX_ANOMALIES,
    MAX_HISTORY,
    column_profile_history,
    get_profile,
    get_profiles,
    latest_column_profiles,
    latest_profile,
    latest_profiles,
    list_anomalies,
    profile_history,
    profiles_by_id,
)
from catalog_api.services.profiling.jobs import (
    PROFILE,
    ProfileFailed,
    request_profile,
    request_table_profile,
    spark_config,
)
from catalog_api.services.profiling.reading import complete_lake_runs
from catalog_api.services.profiling.reports import profile_report
from catalog_api.services.profiling.thresholds import get_anomaly_thresholds, set_anomaly_thresholds
from catalog_api.services.profiling.views import AnomalyView, ColumnProfileView, DuplicateRowsView, ProfileView

__all__ = [
    "MAX_ANOMALIES", "MAX_HISTORY", "PROFILE", "AnomalyView", "ColumnProfileView", "DuplicateRowsView", "ProfileFailed",
    "ProfileView", "column_profile_history", "complete_lake_runs", "get_anomaly_thresholds", "get_profile",
    "get_profiles", "latest_column_profiles", "latest_profile", "latest_profiles", "list_anomalies",
    "profile_history", "profile_report", "profiles_by_id", "request_profile", "request_table_profile",
    "set_anomaly_thresholds", "spark_config",
]
