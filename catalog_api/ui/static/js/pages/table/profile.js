// The table page's Profile tab: the newest profile run (figures, keys, a card per column with its distribution
// and its null rate across runs), the table's anomalies, and a link to the run's HTML report when it has one.
import { credential, getBlob, gql } from "../../api.js";
import { Histogram, percent, RateOverTime, TopValues } from "../../charts.js";
import { formatCount, formatTime, html, Loading, useLoad, useState } from "../../lib.js";

const RUNS = 30; // profile runs the null-rate charts cover

// A report opened from a blob: address keeps this page's Content-Security-Policy, which runs no inline script, so
// the report's own scripts (its tabs, its "More details") do not run: this shows every section, one after another.
const SHOW_EVERY_SECTION = `<style>.tab-content > .tab-pane, .collapse:not(.show) {
  display: block !important; opacity: 1 !important; }</style>`;

// The blob: addresses of the reports opened, by report address (a run's report never changes), so that a report's
// tab can be reloaded; forgotten with the credential that read them.
const opened = new Map();
window.addEventListener("catalog:credential", () => {
  for (const address of opened.values()) URL.revokeObjectURL(address);
  opened.clear();
});

const PROFILE = `query TableProfile($urn: String!, $runs: Int!) {
  table(urn: $urn) {
    profile {
      databaseId jobId startedAt durationSeconds rowCount columnCount readFrom sampleRows reportUrl reportStatus
      duplicateRows { value exact }
      candidateKeys { columns verified declared }
      foreignKeys { childColumns parentTable parentColumns confirmed orphanValues }
      columns {
        name kind dataType count nullCount nullRate distinctCount distinctExact min max mean stddev masked
        histogram { edges counts } topValues { value count } topValuesComplete patterns { pattern count ratio }
      }
    }
    profiles(limit: $runs) { databaseId startedAt columns { name nullRate } }
    anomalies(limit: 50) {
      id kind severity column message observed expected expectedMin expectedMax detectedAt
    }
  }
}`;

const NUMERIC = new Set(["integer", "float", "decimal"]);
const TEMPORAL = new Set(["date", "timestamp"]);

function edgeLabel(kind) {
  if (TEMPORAL.has(kind)) return (edge) => new Date(edge * 1000).toISOString().slice(0, 10);
  return (edge) => Number(edge.toPrecision(4)).toLocaleString("en");
}

function figure(value) {
  if (value === null || value === undefined) return "–";
  if (typeof value === "number") return Number(value.toPrecision(6)).toLocaleString("en");
  return String(value);
}

function Stat({ label, children }) {
  return html`<div class="stat"><dt>${label}</dt><dd>${children}</dd></div>`;
}

function Distribution({ column }) {
  if (column.histogram && column.histogram.counts.length) {
    return html`<${Histogram} name=${`Histogram of ${column.name}`} edges=${column.histogram.edges}
      counts=${column.histogram.counts} label=${edgeLabel(column.kind)} />`;
  }
  if (column.topValues.length && column.topValues[0].count === 1) {
    return html`<p class="muted note">Every value occurs once: no value stands out.</p>`;
  }
  if (column.topValues.length) {
    return html`<${TopValues} name=${`Top values of ${column.name}`} values=${column.topValues.slice(0, 8)}
      total=${column.count + column.nullCount} />
      ${column.topValuesComplete ? null : html`<p class="note">From a sample: too many distinct values.</p>`}`;
  }
  return html`<p class="muted note">No distribution for this column.</p>`;
}

function ColumnCard({ column, history }) {
  const numeric = NUMERIC.has(column.kind);
  return html`<article class="column-card" aria-labelledby=${`col-${column.name}`}>
    <header><h3 id=${`col-${column.name}`}>${column.name}</h3>
      <span class="badge">${column.dataType}</span>
      ${column.masked.length ? html`<span class="badge warn" title="Values withheld: PII">masked</span>` : null}
    </header>
    <dl class="stats">
      <${Stat} label="Non-null">${formatCount(column.count)}</${Stat}>
      <${Stat} label="Nulls">${formatCount(column.nullCount)} (${percent(column.nullRate)})</${Stat}>
      <${Stat} label="Distinct">${column.distinctExact ? "" : "≈"}${formatCount(column.distinctCount)}</${Stat}>
      <${Stat} label="Min"><span title=${figure(column.min)}>${figure(column.min)}</span></${Stat}>
      <${Stat} label="Max"><span title=${figure(column.max)}>${figure(column.max)}</span></${Stat}>
      ${numeric ? html`<${Stat} label="Mean">${figure(column.mean)}</${Stat}>
        <${Stat} label="Std dev">${figure(column.stddev)}</${Stat}>` : null}
    </dl>
    <${Distribution} column=${column} />
    ${column.patterns.length ? html`<p class="patterns">Patterns: ${column.patterns.slice(0, 3).map((p) => html`
      <code title=${`${formatCount(p.count)} values`}>${p.pattern}</code> ${percent(p.ratio)} `)}</p>` : null}
    <h4>Null rate over time</h4>
    <${RateOverTime} name=${`Null rate of ${column.name} over time`} points=${history} />
  </article>`;
}

// Each column's null rate in each run, oldest first.
function nullRates(profiles) {
  const byColumn = {};
  for (const run of [...profiles].reverse()) {
    for (const column of run.columns) {
      (byColumn[column.name] ||= []).push({ at: run.startedAt, value: column.nullRate });
    }
  }
  return byColumn;
}

function Keys({ profile }) {
  if (!profile.candidateKeys.length && !profile.foreignKeys.length) return null;
  return html`<section class="keys" aria-label="Keys the profile found">
    ${profile.candidateKeys.length ? html`<h2>Candidate keys</h2><ul>${profile.candidateKeys.map((key) => html`
      <li><code>${key.columns.join(", ")}</code>
        ${key.declared ? html`<span class="badge">declared</span>` : null}
        ${key.verified ? html`<span class="badge ok">verified</span>` : html`<span class="badge">from a sample</span>`}
      </li>`)}</ul>` : null}
    ${profile.foreignKeys.length ? html`<h2>Foreign key candidates</h2><ul>${profile.foreignKeys.map((fk) => html`
      <li><code>${fk.childColumns.join(", ")}</code> → <code>${fk.parentTable}</code>
        (<code>${fk.parentColumns.join(", ")}</code>)
        ${fk.confirmed ? html`<span class="badge ok">confirmed</span>`
          : html`<span class="badge warn">${formatCount(fk.orphanValues)} orphan values</span>`}</li>`)}</ul>` : null}
  </section>`;
}

function expectation(anomaly) {
  if (anomaly.expectedMin !== null || anomaly.expectedMax !== null) {
    return `${figure(anomaly.expectedMin)} – ${figure(anomaly.expectedMax)}`;
  }
  return figure(anomaly.expected === null ? null : JSON.stringify(anomaly.expected));
}

function Anomalies({ anomalies }) {
  return html`<section aria-labelledby="anomalies-heading">
    <h2 id="anomalies-heading">Anomalies</h2>
    ${anomalies.length === 0 ? html`<p class="muted">No anomalies found in this table's profiles.</p>` : html`
    <table class="grid" aria-labelledby="anomalies-heading">
      <thead><tr><th>Severity</th><th>Metric</th><th>Column</th><th>Expected</th><th>Observed</th><th>When</th>
      </tr></thead>
      <tbody>${anomalies.map((a) => html`<tr>
        <td><span class=${`badge ${a.severity === "critical" ? "error" : "warn"}`}>${a.severity}</span></td>
        <td title=${a.message}>${a.kind.replace("_", " ")}</td><td>${a.column || "(table)"}</td>
        <td>${expectation(a)}</td><td>${figure(a.observed === null ? null : JSON.stringify(a.observed))}</td>
        <td>${formatTime(a.detectedAt)}</td></tr>`)}</tbody>
    </table>`}
  </section>`;
}

// The run's HTML report in a new tab. Without a credential (CATALOG_AUTH=none) the link itself opens it, served with
// the policy that sandboxes it. A signed-in tab's credential travels in a header, which no link can send, and never
// in an address (docs/ui.md#signing-in): the report is fetched with it and opened from a blob: address. The tab is
// opened at the click (a tab opened after a slow download would be taken for a pop-up) and given neither this page
// (`opener`) nor a copy of this tab's sessionStorage, which holds the credential.
function ReportLink({ url }) {
  const [problem, setProblem] = useState(null);
  const open = async (event) => {
    if (!credential()) return;
    event.preventDefault();
    setProblem(null);
    const tab = window.open("", "_blank");
    if (!tab) {
      setProblem("The browser refused to open a tab: allow pop-ups from this site.");
      return;
    }
    tab.opener = null;
    tab.sessionStorage.clear();
    tab.document.title = "Loading the report…";
    try {
      if (!opened.has(url)) {
        const report = await getBlob(url);
        opened.set(url, URL.createObjectURL(new Blob([report, SHOW_EVERY_SECTION], { type: report.type })));
      }
      tab.location.replace(opened.get(url));
    } catch (error) {
      tab.close();
      setProblem(error.message);
    }
  };
  return html`<a href=${url} target="_blank" rel="noopener" onClick=${open}>HTML report</a>
    ${problem ? html` <span class="error" role="alert">${problem}</span>` : null}`;
}

function Summary({ profile }) {
  return html`<dl class="profile-summary" aria-label="Latest profile">
    <${Stat} label="Profiled"><time datetime=${profile.startedAt}>${formatTime(profile.startedAt)}</time></${Stat}>
    <${Stat} label="Rows">${formatCount(profile.rowCount)}</${Stat}>
    <${Stat} label="Columns">${formatCount(profile.columnCount)}</${Stat}>
    <${Stat} label="Duration">${profile.durationSeconds.toFixed(1)} s</${Stat}>
    <${Stat} label="Duplicate rows">${profile.duplicateRows
      ? `${profile.duplicateRows.exact ? "" : "≈"}${formatCount(profile.duplicateRows.value)}` : "–"}</${Stat}>
    <${Stat} label="Read from">${profile.readFrom}${profile.sampleRows ? ` (sample ${formatCount(profile.sampleRows)})`
      : ""}</${Stat}>
    <${Stat} label="Report">${profile.reportUrl
      ? html`<${ReportLink} url=${profile.reportUrl} />`
      : html`<span class="muted">${profile.reportStatus === "pending" ? "being rendered" : "none"}</span>`}</${Stat}>
  </dl>`;
}

export default function ProfileTab({ urn }) {
  const state = useLoad(() => gql(PROFILE, { urn, runs: RUNS }), [urn]);
  return html`<${Loading} state=${state}>${({ table }) => {
    if (!table.profile) {
      return html`<p class="muted">This table has not been profiled yet. Start a profile from the Jobs tab.</p>
        <${Anomalies} anomalies=${table.anomalies} />`;
    }
    const history = nullRates(table.profiles);
    return html`<div class="profile-tab">
      <${Summary} profile=${table.profile} />
      <${Keys} profile=${table.profile} />
      <${Anomalies} anomalies=${table.anomalies} />
      <h2>Columns</h2>
      <div class="column-cards">
        ${table.profile.columns.map((column) => html`<${ColumnCard} key=${column.name} column=${column}
          history=${history[column.name] || []} />`)}
      </div>
    </div>`;
  }}</${Loading}>`;
}
