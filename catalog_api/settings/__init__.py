"""Service configuration, read from `CATALOG_*` environment variables with working embedded defaults."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from catalog_api.settings.security import SecuritySettings


def available_cores(cpu_max: Path = Path("/sys/fs/cgroup/cpu.max")) -> int:
    """The cores this process may use: those it may run on, fewer under a container's CPU quota (cgroup v2
    `cpu.max`, e.g. `50000 100000` for half a core), which `os.cpu_count()` does not see."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    try:
        quota, period = cpu_max.read_text().split()[:2]
    except (OSError, ValueError):
        return cores
    return cores if quota == "max" else max(1, min(cores, int(quota) // int(period)))


class Settings(SecuritySettings, BaseSettings):
    """Every setting has an embedded default, so `catalog serve` works on a fresh machine with nothing set."""

    model_config = SettingsConfigDict(env_prefix="CATALOG_", env_file=".env", extra="ignore")

    home: Path = Field(default=Path(".catalog"), description="Folder for the embedded database and local secrets.")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL of the catalog database; default SQLite in `<home>/catalog.db`."
    )
    secret_key: str | None = Field(
        default=None,
        description="Key for the local encrypted secret store; default a random key kept in `<home>/secret.key`.",
    )
    lake_url: str | None = Field(
        default=None, description="fsspec URL of the lake for extracted data; default the folder `<home>/lake`."
    )
    lake_storage_options: dict[str, str] = Field(
        default_factory=dict, description="fsspec storage options of the lake (e.g. account_name for abfs://)."
    )
    extract_chunk_rows: int = Field(
        default=1_000_000, ge=1_000, le=100_000_000,
        description="Rows per Parquet chunk an extraction or backfill writes (more when rows share a plan value).",
    )
    auto_migrate: bool = Field(default=True, description="Run `db upgrade` when the service starts.")
    host: str = "127.0.0.1"
    port: int = 8000
    web_workers: int | None = Field(
        default=None, ge=1, le=64,
        description="Processes `catalog serve` answers HTTP with (the scheduler, relay and restart of stranded jobs "
                    "run once, in their parent). Several need CATALOG_EVENTS_FANOUT, so that every process's live "
                    "feeds see every event; default: one per core with fan-out, else 1.",
    )
    job_workers: int = Field(default=2, ge=1, description="Threads for in-process jobs (no broker configured).")
    broker_url: str | None = Field(
        default=None,
        description="`redis://…` or `amqp://…` to run jobs on dramatiq workers; unset runs them in-process.",
    )
    broker_namespace: str = Field(
        default="dramatiq", min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.\-]+$",
        description="Redis broker: the prefix of its keys, so several catalogs (or test runs) can share one Redis.",
    )
    broker_heartbeat_timeout_s: float = Field(
        default=60, gt=0, description="Redis broker: after how long a silent worker's messages are redelivered."
    )
    broker_maintenance_chance: int = Field(
        default=1000, ge=0, le=1_000_000,
        description="Redis broker: per million commands, how often a worker requeues messages of dead workers.",
    )
    broker_probe_timeout_s: float = Field(
        default=2.0, gt=0, le=30,
        description="Longest wait of the broker questions /readyz and a /metrics scrape ask (connect, each reply; "
                    "the AMQP handshake): a hung broker makes them fail within it instead of stalling. Keep it "
                    "below the readiness probe's timeout.",
    )
    job_max_attempts: int = Field(default=4, ge=1, le=50, description="Attempts of a job failing transiently.")
    job_retry_min_backoff_s: float = Field(default=2.0, ge=0, description="First retry delay (doubles, jittered).")
    job_retry_max_backoff_s: float = Field(default=300.0, ge=0, description="Longest retry delay.")
    job_time_limits_s: dict[str, float] = Field(
        default_factory=lambda: {"crawl": 3600.0, "extract": 6 * 3600.0, "profile": 6 * 3600.0, "report": 3600.0,
                                 "quality": 1800.0},
        description="Time limit per job kind, in seconds."
    )
    job_concurrency: dict[str, int] = Field(
        default_factory=lambda: {"crawl": 4, "extract": 2, "profile": 1, "report": 1, "quality": 4},
        description="How many jobs of a kind may run at once, service-wide (a profile already uses every core; a "
                    "report job's renderer may take gigabytes).",
    )
    job_heartbeat_interval_s: float = Field(default=2.0, gt=0, description="How often a running job says it lives.")
    job_stale_after_s: float = Field(
        default=15.0, gt=0,
        description="A running job silent for this long has lost its worker; the next sweep (every heartbeat "
                    "interval on each worker, each scheduler tick) queues it again for a live worker.",
    )
    shutdown_timeout_s: float = Field(
        default=25.0, gt=0, le=3600,
        description="On SIGTERM, `catalog serve` and `catalog worker` stop taking jobs, hand their running jobs back "
                    "(queued again, that attempt not counted) and exit within this many seconds; past it they exit "
                    "anyway with status 1, logging the jobs they abandoned. Keep it below the orchestrator's grace "
                    "period (30 s by default on Kubernetes and Container Apps).",
    )
    circuit_breaker_threshold: int = Field(
        default=3, ge=1, description="Consecutive failed crawls after which a source's schedule pauses."
    )
    scheduler_enabled: bool | None = Field(
        default=None, description="Run the scheduler inside `catalog serve`; default: only without a broker."
    )
    scheduler_interval_s: float = Field(default=15.0, gt=0, description="How often the scheduler looks for due runs.")
    quality_freshness_interval_s: float = Field(
        default=300.0, ge=0,
        description="How often the scheduler checks each freshness rule between profiles (0: never; docs/quality.md)."
    )
    quality_lake_timeout_s: float = Field(
        default=300.0, gt=0, le=24 * 3600,
        description="Longest a custom-SQL rule's query of the lake may run on Spark before it is cancelled (its "
                    "result: error).",
    )
    source_statement_timeout_ms: int = Field(
        default=30_000, ge=100, description="Default statement timeout for discovery queries sent to a source."
    )

    # -- change events (docs/events.md) --
    events_relay_enabled: bool = Field(
        default=True, description="Run the outbox relay inside `catalog serve` (one active relay per catalog)."
    )
    events_relay_interval_s: float = Field(
        default=0.5, gt=0, description="How often the relay looks for pending events when nothing woke it."
    )
    events_relay_batch_size: int = Field(default=500, ge=1, le=10_000, description="Events read per relay round.")
    events_relay_commit_size: int = Field(
        default=50, ge=1, le=10_000,
        description="Events published, then marked sent in one commit, at a time: what a crashed relay may repeat.",
    )
    events_max_attempts: int = Field(
        default=10, ge=1, le=100, description="Relay attempts before an event is parked as `dead`."
    )
    events_retry_min_backoff_s: float = Field(default=1.0, ge=0, description="First relay retry delay (doubles).")
    events_retry_max_backoff_s: float = Field(default=600.0, ge=0, description="Longest relay retry delay.")
    events_jsonl_enabled: bool = Field(default=True, description="Append every event to a JSON Lines file.")
    events_jsonl_path: Path | None = Field(
        default=None, description="The JSON Lines file of events; default `<home>/events.jsonl`."
    )
    events_fanout: Literal["none", "postgres", "redis"] = Field(
        default="none",
        description="Feed every instance's live feed (GraphQL subscriptions, SSE) through PostgreSQL LISTEN/NOTIFY "
                    "or Redis pub/sub; `none`: only the instance whose relay leads.",
    )
    events_fanout_redis_url: str | None = Field(default=None, description="Redis URL for `events_fanout=redis`.")
    eventhub_connection_string: str | None = Field(
        default=None, description="Azure Event Hubs connection string (Send rights); enables the Event Hub publisher."
    )
    eventhub_namespace: str | None = Field(
        default=None,
        description="`<ns>.servicebus.windows.net`: publish to Event Hubs with DefaultAzureCredential instead.",
    )
    eventhub_name: str | None = Field(
        default=None, description="Event hub name (with the namespace, or when the connection string has no EntityPath)."
    )
    webhook_attempts: int = Field(
        default=3, ge=1, le=20, description="HTTP attempts per webhook delivery within one relay round."
    )
    webhook_initial_wait_s: float = Field(default=0.5, ge=0, description="First wait between webhook attempts.")
    webhook_max_wait_s: float = Field(default=10.0, ge=0, description="Longest wait between webhook attempts.")
    webhook_timeout_s: float = Field(default=10.0, gt=0, description="Timeout of one webhook request.")
    webhook_allow_private_networks: bool = Field(
        default=False,
        description="Let webhooks reach loopback, private (RFC 1918, fc00::/7), CGNAT, multicast and reserved "
                    "addresses; link-local and cloud metadata addresses stay refused.",
    )
    lineage_events_enabled: bool = Field(
        default=True, description="Emit `catalog.lineage.changed` when lineage edges change."
    )
    lineage_max_depth: int = Field(default=20, ge=1, le=100, description="Deepest lineage query allowed.")
    lineage_max_nodes: int = Field(
        default=2000, ge=10, description="A lineage query stops (and says it was truncated) past this many nodes."
    )

    # -- retention of operational rows (docs/operations.md#retention) --
    retention_sent_events_days: float | None = Field(
        default=7, ge=0, description="Days a published (`sent`) outbox event is kept; 0 or null: forever. Pending "
                                     "and dead events are never pruned.",
    )
    retention_finished_jobs_days: float | None = Field(
        default=30, ge=0, description="Days a succeeded, failed or cancelled job record is kept after it finished; "
                                      "0 or null: forever. Queued and running jobs are never pruned.",
    )
    retention_webhook_deliveries_days: float | None = Field(
        default=14, ge=0, description="Days a webhook delivery log entry is kept; 0 or null: forever. Deliveries "
                                      "of events still pending (or dead, awaiting a replay) are kept.",
    )
    retention_interval_s: float = Field(
        default=3600, ge=0, description="How often the scheduler prunes old operational rows; 0: never (prune with "
                                        "`catalog db prune`).",
    )
    retention_batch_size: int = Field(
        default=1000, ge=1, le=10_000,
        description="Rows deleted per transaction while pruning: a writer waits for one batch at most.",
    )

    # -- profiling (docs/operations.md#profiling) --
    spark_master: str = Field(
        default="local[*]", description="Spark master URL of the profiler: `local[*]`, `local[N]`, `spark://…`, …"
    )
    spark_driver_memory: str = Field(default="2g", description="JVM heap of the Spark driver (e.g. 2g, 1536m).")
    spark_conf: dict[str, str] = Field(
        default_factory=dict, description="Extra `spark.*` settings of the profiler's Spark session."
    )
    spark_idle_stop_s: float = Field(
        default=300, ge=0,
        description="A process's Spark session (and its JVM, gigabytes resident) stops after this many seconds "
                    "without a profile using it, and starts again on demand; 0: never.",
    )
    profile_in_process_max_cells: int = Field(
        default=10_000_000, ge=0,
        description="Tables of at most this many cells (rows × columns, from the Parquet footers) are profiled in "
                    "the job's own process, without starting Spark, when the Spark master is local; 0 sends every "
                    "table to Spark.",
    )
    profile_read_from: Literal["auto", "lake", "source"] = Field(
        default="auto",
        description="Where a profile reads a table: `lake` (extracted Parquet), `source` (live, through the "
                    "connector) or `auto` (the lake when it holds the whole table, else the source).",
    )
    profile_work_dir: Path | None = Field(
        default=None,
        description="Folder under which a profile job writes the Parquet it profiles (a table read live, copies of "
                    "remote lake files); default: the system's temporary folder. With a Spark cluster on other "
                    "machines, a shared folder mounted at the same path on this worker and every Spark worker, since "
                    "the executors read these files by path.",
    )
    profile_sample_rows: int = Field(
        default=10_000, ge=0, le=1_000_000,
        description="Rows of the bounded sample behind patterns, PII detection and the HTML report.",
    )
    profile_reports_enabled: bool = Field(
        default=True,
        description="Render a ydata-profiling HTML report per profile, in a `report` job queued by the profile job "
                    "(the profile is stored and announced without waiting for it).",
    )
    profile_reports_kept: int = Field(default=5, ge=1, description="HTML reports kept per table (newest first).")
    profile_report_timeout_s: float = Field(
        default=900, gt=0, le=24 * 3600,
        description="Time the child process rendering one report job's reports may take, in all.",
    )
    profile_report_memory_mb: int = Field(
        default=4096, ge=0, le=1_048_576,
        description="Address space the child process rendering reports may use, in MB (0: unbounded); past it, the "
                    "reports fail with their cause and the profiles stay.",
    )
    profile_history: int = Field(
        default=60, ge=2, le=1000, description="Earlier profiles of a table that anomaly detection compares with."
    )

    # -- metrics (docs/operations.md#metrics, docs/security.md) --
    metrics_public: bool = Field(
        default=False,
        description="Serve /metrics to anyone who can reach it (a scraper inside a private network); default: "
                    "callers with the operator role (a scraper sends an operator API key as its bearer token).",
    )
    worker_metrics_port: int | None = Field(
        default=0, ge=0, le=65535,
        description="Port on which `catalog worker` serves its processes' metrics (job outcomes and durations, "
                    "dramatiq's message counters), summed over its processes; 0 or null: none.",
    )
    metrics_query_timeout_ms: int = Field(
        default=2_000, ge=100, le=60_000,
        description="Statement timeout of the queries a /metrics scrape runs for the outbox and job gauges.",
    )

    # -- logs (docs/operations.md#logs) --
    log_format: Literal["auto", "json", "text"] = Field(
        default="auto",
        description="Log format of `catalog serve`, `worker`, `scheduler` and `relay`: `json` (one object per line), "
                    "`text`, or `auto`: text on a terminal, JSON otherwise (containers, systemd, pipes).",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="Lowest level those commands log (the catalog's and its libraries' loggers).")

    @model_validator(mode="after")
    def _stale_after_beats(self) -> Settings:
        # A live job misses a beat now and then (a slow commit); only several missed beats may count as death.
        if self.job_stale_after_s < 2 * self.job_heartbeat_interval_s:
            raise ValueError(f"job_stale_after_s ({self.job_stale_after_s:g}) must be at least twice "
                             f"job_heartbeat_interval_s ({self.job_heartbeat_interval_s:g}): live jobs would be "
                             "taken over")
        return self

    @model_validator(mode="after")
    def _live_feeds_fan_out(self) -> Settings:
        # Only the parent's relay publishes events; without fan-out, the worker processes' feeds would stay silent.
        if (self.web_workers or 1) > 1 and self.events_fanout == "none":
            raise ValueError(f"web_workers ({self.web_workers}) needs events_fanout (postgres or redis): without "
                             "it, SSE streams and subscriptions of the worker processes would miss every event")
        # Checked here so that `catalog serve` stops at start with the variable named, not in the relay's start-up.
        if self.events_fanout == "redis" and not self.events_fanout_redis_url:
            raise ValueError("CATALOG_EVENTS_FANOUT_REDIS_URL is required with CATALOG_EVENTS_FANOUT=redis, e.g. "
                             "redis://cache:6379/0")
        return self

    def time_limit_s(self, kind: str) -> float | None:
        return self.job_time_limits_s.get(kind)

    def concurrency(self, kind: str) -> int | None:
        return self.job_concurrency.get(kind)

    @property
    def effective_lake_url(self) -> str:
        return self.lake_url or str((self.home / "lake").resolve())

    @property
    def effective_events_jsonl_path(self) -> Path:
        return self.events_jsonl_path or (self.home / "events.jsonl")

    @property
    def log_dir(self) -> Path:
        """Where the catalog's processes write what is not for the console: `spark.log` (the profiler's JVM) and
        `cli.log` (library logs of `catalog` commands that show progress)."""
        return self.home / "logs"

    @property
    def effective_web_workers(self) -> int:
        if self.web_workers is not None:
            return self.web_workers
        return min(available_cores(), 8) if self.events_fanout != "none" else 1

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'catalog.db').as_posix()}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
