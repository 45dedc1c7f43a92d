"""The GraphQL type of a job, and how a mutation that queues one answers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from catalog_api.graphql.context import Info
from catalog_api.graphql.nodes import register_node
from catalog_api.graphql.views import graphql_type
from catalog_api.services.jobs import get_job, jobs_by_id, wait_for_job
from catalog_api.services.views import JobView

JobNode = graphql_type(JobView, "Job", "A crawl job: status, progress, timings, error and result summary.",
                       exclude=frozenset({"params"}), node="jobId",
                       descriptions={"id": "The job's own id, as REST, the CLI and the job's events name it.",
                                     "actor": "Who asked for the job (`system` for scheduled runs); null on jobs "
                                              "older than actors.",
                                     "request_id": "The `X-Request-ID` of the API request that created the job, also "
                                                   "on its log lines and events; null for scheduled and CLI runs."})

register_node(JobNode, get_job, jobs_by_id)


async def queued_job(info: Info, wait: bool, request: Callable[..., JobView], *args: Any) -> JobNode:
    """Calls a service that queues a job (`request(ctx, *args)`); with `wait`, answers once the job finished. The
    request's DataLoaders are cleared, since the job may have changed what they hold."""
    ctx = info.context.ctx
    job = await asyncio.to_thread(request, ctx, *args)
    if wait:
        job = await asyncio.to_thread(wait_for_job, ctx, job.id)
    info.context.loaders.clear()
    return JobNode.of(job)
