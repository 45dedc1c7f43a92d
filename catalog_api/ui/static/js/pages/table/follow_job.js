// Follows one job to its end through the live event stream: the catalog publishes `catalog.job.succeeded` and
// `catalog.job.failed` (not each step), so on every event of the job's source, and on every (re)connection, the job
// is read again by id; each status it passes through is kept, with what told the page of it. Only while the stream
// cannot be reached does the page ask for the job every few seconds instead.
import { eventStream, gql } from "../../api.js";
import { useEffect, useRef, useState } from "../../lib.js";

export const JOB_EVENTS = ["catalog.job.succeeded", "catalog.job.failed"];
const FINISHED = new Set(["succeeded", "failed", "cancelled"]);
const POLL_MS = 3000;

const JOB = `query FollowedJob($id: String!) {
  job(id: $id) { jobId kind status progressDone progressTotal progressMessage createdAt startedAt finishedAt
    errorCode errorMessage }
}`;

export function finished(job) {
  return FINISHED.has(job.status);
}

// Listens to the job events of `sourceUrn` while mounted; `onJobEvent(jobId)` hears of every one of them.
// Returns {live}: whether the stream is connected now.
export function useJobEvents(sourceUrn, onJobEvent) {
  const [live, setLive] = useState(false);
  const listener = useRef(onJobEvent);
  listener.current = onJobEvent;
  useEffect(() => {
    if (!sourceUrn) return undefined;
    return eventStream({ types: JOB_EVENTS, urn_prefix: sourceUrn },
      (event) => listener.current(event.data.data.job_id, event.type),
      { onOpen: () => { setLive(true); listener.current(null, "open"); }, onError: () => setLive(false) });
  }, [sourceUrn]);
  return { live };
}

// The job being followed (null until `start` gave one) and the statuses it went through: [{status, via, at}].
export function useFollowedJob({ live, onFinished }) {
  const [job, setJob] = useState(null);
  const [steps, setSteps] = useState([]);
  const current = useRef(null);

  const record = (next, via) => {
    current.current = next;
    setJob(next);
    setSteps((seen) => (seen.length && seen[seen.length - 1].status === next.status ? seen
      : [...seen, { status: next.status, via, at: new Date().toISOString() }]));
    if (finished(next)) onFinished?.(next);
  };

  const reread = async (via) => {
    const followed = current.current;
    if (!followed || finished(followed)) return;
    const { job: fresh } = await gql(JOB, { id: followed.jobId });
    if (current.current && current.current.jobId === fresh.jobId && !finished(current.current)) record(fresh, via);
  };

  // The stream's silence is no news while it is connected; without it, ask now and then.
  useEffect(() => {
    if (live || !job || finished(job)) return undefined;
    const timer = setInterval(() => reread("polling"), POLL_MS);
    return () => clearInterval(timer);
  }, [live, job && job.jobId, job && job.status]);

  return {
    job,
    steps,
    start: (queued) => {
      setSteps([]);
      record(queued, "request");
    },
    onEvent: (jobId) => {
      if (current.current && (jobId === null || jobId === current.current.jobId)) {
        reread(jobId === null ? "stream reconnected" : "stream").catch(() => {});
      }
    },
  };
}
