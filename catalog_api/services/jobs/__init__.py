"""Jobs: records (`records`), one attempt of a job (`running`), the runners that deliver job ids (`runners` in
process, `broker` through dramatiq), and cron schedules (`cron`, `schedules`).

The names below are the domain's public face for transports; modules inside services import the submodules.
"""

from catalog_api.services.jobs.records import (
    MAX_LIST,
    add_job,
    cancel_job,
    enqueue_job,
    get_job,
    jobs_by_id,
    list_jobs,
    resolve_job_id,
    resubmit_stranded_jobs,
    short_job_id,
    wait_for_job,
)
from catalog_api.services.jobs.runners import InProcessJobRunner
from catalog_api.services.jobs.running import (
    JobCancelled,
    JobControl,
    JobHandler,
    JobTimedOut,
    backoff_s,
    is_transient,
    run_job,
)
from catalog_api.services.jobs.status import JobStatus

__all__ = [
    "MAX_LIST", "InProcessJobRunner", "JobCancelled", "JobControl", "JobHandler", "JobStatus", "JobTimedOut",
    "add_job", "backoff_s", "cancel_job", "enqueue_job", "get_job", "jobs_by_id", "is_transient", "list_jobs", "resolve_job_id",
    "resubmit_stranded_jobs", "short_job_id", "run_job", "wait_for_job",
]
