// Follows jobs through the live event stream. The catalog publishes `catalog.job.started` when an attempt begins,
// `catalog.job.progress` while it works (throttled: about one a second), then `catalog.job.succeeded`,
// `catalog.job.failed` or `catalog.job.cancelled`. Started and progress events carry what the page shows, so they
// are applied as they come; an end, or a (re)connection, has the job read again by id for its final record. Each
// status the followed job passes through is kept with what told the page of it, and the running step keeps the last
// figures it showed. Only while the stream cannot be reached does the page ask for the job every few seconds instead.
import { eventStream, gql } from "../../api.js";
import { useEffect, useRef, useState } from "../../lib.js";

export const JOB_EVENTS = ["catalog.job.started", "catalog.job.progress", "catalog.job.succeeded",
  "catalog.job.failed", "catalog.job.cancelled"];
const FINISHED = new Set(["succeeded", "failed", "cancelled"]);
const POLL_MS = 3000;
const EARLY_KEPT = 20;

const JOB = `query FollowedJob($id: String!) {
  job(id: $id) { jobId kind status progressDone progressTotal progressMessage createdAt startedAt finishedAt
    errorCode errorMessage }
}`;

export function finished(job) {
  return FINISHED.has(job.status);
}

// What a started or progress event changes on a job record (GraphQL field names); null for an end event, which
// the page reads the job again for.
export function jobChange(type, data) {
  if (type === "catalog.job.started") return { status: "running", startedAt: data.started_at };
  if (type === "catalog.job.progress") {
    return { status: data.status, progressDone: data.done, progressTotal: data.total,
      progressMessage: data.message };
  }
  return null;
}

// Listens to the job events of `sourceUrn` while mounted; `onJobEvent(jobId, type, data)` hears of every one of
// them (jobId null and type "open" on each (re)connection). Returns {live}: whether the stream is connected now.
export function useJobEvents(sourceUrn, onJobEvent) {
  const [live, setLive] = useState(false);
  const listener = useRef(onJobEvent);
  listener.current = onJobEvent;
  useEffect(() => {
    if (!sourceUrn) return undefined;
    return eventStream({ types: JOB_EVENTS, urn_prefix: sourceUrn },
      (event) => listener.current(event.data.data.job_id, event.type, event.data.data),
      { onOpen: () => { setLive(true); listener.current(null, "open", null); }, onError: () => setLive(false) });
  }, [sourceUrn]);
  return { live };
}

// The job being followed (null until `start` gave one) and the statuses it went through:
// [{status, via, at, done, total}] (done and total: the last figures shown while in that status).
export function useFollowedJob({ live, onFinished }) {
  const [job, setJob] = useState(null);
  const [steps, setSteps] = useState([]);
  const current = useRef(null);
  // Events that came before the request starting the job answered (a fast worker): applied once it has.
  const early = useRef([]);

  const record = (next, via) => {
    current.current = next;
    setJob(next);
    const figures = { done: next.progressDone, total: next.progressTotal };
    setSteps((seen) => {
      const last = seen[seen.length - 1];
      if (last && last.status === next.status) return [...seen.slice(0, -1), { ...last, ...figures }];
      return [...seen, { status: next.status, via, at: new Date().toISOString(), ...figures }];
    });
    if (finished(next)) onFinished?.(next);
  };

  const reread = async (via) => {
    const followed = current.current;
    if (!followed || finished(followed)) return;
    const { job: fresh } = await gql(JOB, { id: followed.jobId });
    if (current.current && current.current.jobId === fresh.jobId && !finished(current.current)) record(fresh, via);
  };

  const apply = (type, data) => {
    const change = jobChange(type, data);
    if (change) record({ ...current.current, ...change }, "stream");
    else reread("stream").catch(() => {});
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
      const seen = early.current.filter((event) => event.jobId === queued.jobId);
      early.current = [];
      for (const event of seen) if (!finished(current.current)) apply(event.type, event.data);
    },
    onEvent: (jobId, type, data) => {
      const followed = current.current;
      if (jobId === null) {
        if (followed) reread("stream reconnected").catch(() => {});
      } else if (followed && jobId === followed.jobId) {
        if (!finished(followed)) apply(type, data);
      } else {
        early.current = [...early.current, { jobId, type, data }].slice(-EARLY_KEPT);
      }
    },
  };
}
