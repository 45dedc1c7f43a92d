"""Take-over of jobs whose worker died (`kill -9`, out of memory, a lost machine): a running job's heartbeat is its
worker's proof of life, and a job silent for `job_stale_after_s` is queued again by a sweep and claimed by a live
worker.

Every `catalog worker` process sweeps every `job_heartbeat_interval_s` (`catalog_api.worker`), and so does each
scheduler tick, so a dead worker's jobs, all of them, are taken over within the stale time plus one interval. The
broker's own redelivery is not waited for: Redis redelivers a dead worker's messages only after
`broker_heartbeat_timeout_s` and then on a random maintenance pass, which measured 126 s.

Several sweepers may see the same silent job; `running.release_silent_attempt` is a compare-and-set on the attempt
they saw, so exactly one of them queues it again. A late redelivery of the dead worker's message then finds the
job queued (and claims it once, like any delivery) or running under its new worker (and is dropped).
"""

from __future__ import annotations

from sqlalchemy import select

from catalog_api.db.models import Job, utcnow
from catalog_api.services.context import ServiceContext
from catalog_api.services.jobs.running import LAST_SIGN_OF_LIFE, release_silent_attempt, silent_cutoff
from catalog_api.services.jobs.status import JobStatus


def take_over_silent_jobs(ctx: ServiceContext) -> list[str]:
    """Queues again, and submits, every running job silent for `job_stale_after_s`; returns their ids. A job whose
    worker died on its last attempt fails as `worker_lost` instead."""
    now = utcnow()
    with ctx.db.session() as session:
        silent = session.execute(
            select(Job.id, Job.attempts)
            .where(Job.status == JobStatus.RUNNING, LAST_SIGN_OF_LIFE < silent_cutoff(ctx.settings, now))
        ).all()
    taken = []
    for job_id, attempt in silent:
        with ctx.db.session() as session:
            kind = release_silent_attempt(ctx, session, job_id, attempt, now)
        if kind is not None:  # submitted once committed, so the delivery finds the job queued
            ctx.jobs.submit(job_id, kind)
            taken.append(job_id)
    return taken

