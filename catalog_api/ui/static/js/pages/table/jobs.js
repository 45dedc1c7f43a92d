// The table page's Jobs tab: the recent jobs of the table's source and its schedule, kept current by the live event
// stream (a running job's progress included); an operator may profile the table now and watch that job to its end.
import { gql } from "../../api.js";
import { formatCount, formatTime, html, Loading, useLoad, useState } from "../../lib.js";
import { finished, jobChange, useFollowedJob, useJobEvents } from "./follow_job.js";

const RECENT = 25;

const SOURCE = `query TableJobsSource($urn: String!) {
  me { permissions }
  table(urn: $urn) {
    source { urn databaseId name scheduleCron scheduleTimezone nextRunAt schedulePausedAt schedulePausedReason
      consecutiveFailures }
  }
}`;

const JOBS = `query SourceJobs($sourceId: Int!, $limit: Int!) {
  jobs(sourceId: $sourceId, limit: $limit) {
    jobId kind status trigger createdAt startedAt finishedAt errorCode errorMessage progressDone progressTotal
  }
}`;

const PROFILE_TABLE = `mutation ProfileTable($urn: String!) {
  profileTable(urn: $urn) { jobId kind status progressDone progressTotal progressMessage createdAt startedAt
    finishedAt errorCode errorMessage }
}`;

const STATUS_CLASS = { succeeded: "ok", failed: "error", running: "warn", queued: "", cancelled: "" };

function duration(job) {
  if (!job.startedAt) return "–";
  const end = job.finishedAt ? new Date(job.finishedAt) : new Date();
  const seconds = (end - new Date(job.startedAt)) / 1000;
  return seconds < 90 ? `${seconds.toFixed(1)} s` : `${(seconds / 60).toFixed(1)} min`;
}

function Status({ status }) {
  return html`<span class=${`badge ${STATUS_CLASS[status] ?? ""}`}>${status}</span>`;
}

function Schedule({ source }) {
  return html`<dl class="schedule" aria-label="Schedule">
    <div class="stat"><dt>Crawl schedule</dt><dd>${source.scheduleCron
      ? html`<code>${source.scheduleCron}</code> (${source.scheduleTimezone})` : "none"}</dd></div>
    <div class="stat"><dt>Next run</dt><dd>${source.schedulePausedAt ? "paused" : formatTime(source.nextRunAt)}</dd>
    </div>
    ${source.schedulePausedAt ? html`<div class="stat bad"><dt>Paused</dt>
      <dd>${formatTime(source.schedulePausedAt)}: ${source.schedulePausedReason}</dd></div>` : null}
    ${source.consecutiveFailures ? html`<div class="stat"><dt>Failures in a row</dt>
      <dd>${source.consecutiveFailures}</dd></div>` : null}
  </dl>`;
}

// A job's progress as a bar with its figures ("12 of 40"), or nothing while it has no count yet.
function ProgressBar({ job, label }) {
  const total = job.progressTotal || 0;
  if (!total) return null;
  const done = job.progressDone || 0;
  return html`<span class="job-bar" data-done=${done} data-total=${total}>
    <progress max=${total} value=${done} aria-label=${label}>${done} of ${total}</progress>
    <span class="figures">${formatCount(done)} of ${formatCount(total)}</span></span>`;
}

function JobList({ jobs }) {
  if (!jobs.length) return html`<p class="muted">No jobs have run for this source yet.</p>`;
  return html`<table class="grid jobs" aria-labelledby="jobs-heading">
    <thead><tr><th>Kind</th><th>Status</th><th>Trigger</th><th>Started</th><th>Duration</th><th>Error</th><th>Job</th>
    </tr></thead>
    <tbody>${jobs.map((job) => html`<tr key=${job.jobId} data-job=${job.jobId}>
      <td>${job.kind}</td><td class="status"><${Status} status=${job.status} />${job.status === "running"
        ? html` <${ProgressBar} job=${job} label=${`Progress of ${job.kind} job ${job.jobId.slice(0, 8)}`} />`
        : null}</td><td>${job.trigger}</td>
      <td>${formatTime(job.startedAt || job.createdAt)}</td><td>${duration(job)}</td>
      <td class="error">${job.errorMessage ? html`<span title=${job.errorCode}>${job.errorMessage}</span>` : null}</td>
      <td><code title=${job.jobId}>${job.jobId.slice(0, 8)}</code></td></tr>`)}</tbody>
  </table>`;
}

function StepFigures({ step }) {
  return step.status === "running" && step.total ? html` · ${step.done} of ${step.total}` : null;
}

function Progress({ job, steps }) {
  return html`<div class="job-progress" role="status" aria-label="Profile job" data-job=${job.jobId}>
    <p>Profile job <code>${job.jobId.slice(0, 8)}</code>: <strong class="job-status">${job.status}</strong>
      ${job.progressMessage ? html` · <span class="job-message">${job.progressMessage}</span>` : null}</p>
    <${ProgressBar} job=${job} label="Progress of the profile job" />
    <ol class="steps" aria-label="Status changes">${steps.map((step) => html`<li data-status=${step.status}
      data-via=${step.via} data-done=${step.done} data-total=${step.total}>
      <${Status} status=${step.status} />${" "}<span class="muted"><time datetime=${step.at}>${
        step.at.slice(11, 19)}</time> · ${step.via}<${StepFigures} step=${step} /></span></li>`)}</ol>
    ${job.errorMessage ? html`<p class="error" role="alert">${job.errorMessage}</p>` : null}
  </div>`;
}

function SourceJobs({ urn, source, canOperate, refresh }) {
  const list = useLoad(() => gql(JOBS, { sourceId: source.databaseId, limit: RECENT }), [source.databaseId]);
  const [problem, setProblem] = useState(null);
  const [starting, setStarting] = useState(false);
  // What started and progress events told of the listed jobs since the list was last read: {jobId: changes}.
  const [liveChanges, setLiveChanges] = useState({});
  let follower;
  const { live } = useJobEvents(source.urn, (jobId, type, data) => {
    follower.onEvent(jobId, type, data);
    const change = jobId && jobChange(type, data);
    if (change) setLiveChanges((known) => ({ ...known, [jobId]: { ...known[jobId], ...change } }));
    if (jobId && (!change || type === "catalog.job.started")) list.reload();
  });
  const withLiveChanges = (jobs) => jobs.map((job) => (liveChanges[job.jobId] && !finished(job)
    ? { ...job, ...liveChanges[job.jobId] } : job));
  follower = useFollowedJob({ live, onFinished: (job) => {
    list.reload();
    if (job.status === "succeeded") refresh();
  } });

  const profileNow = async () => {
    setProblem(null);
    setStarting(true);
    try {
      const { profileTable } = await gql(PROFILE_TABLE, { urn });
      follower.start(profileTable);
      list.reload();
    } catch (error) {
      setProblem(error.message);
    } finally {
      setStarting(false);
    }
  };
  const following = follower.job && !finished(follower.job);

  return html`<div class="jobs-tab">
    <${Schedule} source=${source} />
    ${canOperate ? html`<div class="actions">
      <button type="button" class="primary" disabled=${starting || following} onClick=${profileNow}>Profile now</button>
      <span class="muted">${live ? "Live updates on" : "Connecting to live updates…"}</span>
      ${problem ? html`<span class="error" role="alert">${problem}</span>` : null}
    </div>` : null}
    ${follower.job ? html`<${Progress} job=${follower.job} steps=${follower.steps} />` : null}
    <h2 id="jobs-heading">Recent jobs of ${source.name}</h2>
    <${Loading} state=${list}>${({ jobs }) => html`<${JobList} jobs=${withLiveChanges(jobs)} />`}</${Loading}>
  </div>`;
}

export default function JobsTab({ urn, refresh }) {
  const state = useLoad(() => gql(SOURCE, { urn }), [urn]);
  return html`<${Loading} state=${state}>${({ me, table }) => (table.source
    ? html`<${SourceJobs} urn=${urn} source=${table.source} refresh=${refresh}
        canOperate=${me.permissions.includes("catalog:operate")} />`
    : html`<p class="muted">This dataset belongs to no registered source: the catalog runs no jobs for it.</p>`)}
  </${Loading}>`;
}
