// The table page's Quality tab: the table's health (rules, anomalies, freshness), each rule with its latest result,
// and a rule's recent results on demand.
import { gql } from "../../api.js";
import { formatCount, formatTime, html, Loading, useLoad, useState } from "../../lib.js";

const RESULT_FIELDS = "ruleId evaluatedAt outcome observed failingRows sampleKeys message ruleVersion masked";
const HISTORY = 20; // results a rule's history shows

const QUALITY = `query TableQuality($urn: String!) {
  table(urn: $urn) {
    qualityRules { databaseId name kind column params severity owner description version }
    qualityHealth {
      rules passing failingErrors failingWarnings errored notEvaluated lastEvaluatedAt worstFailingSeverity
      anomalies { open critical profiledAt }
      freshness { status rule maxAge checkedAt lastExtractedAt }
    }
  }
  latestQualityResults(table: $urn) { ${RESULT_FIELDS} }
}`;

async function loadQuality(urn) {
  const { table, latestQualityResults } = await gql(QUALITY, { urn });
  return { ...table, latest: Object.fromEntries(latestQualityResults.map((result) => [result.ruleId, result])) };
}

const OUTCOME_CLASS = { passed: "ok", failed: "error", error: "warn" };

function Outcome({ result, severity }) {
  if (!result) return html`<span class="badge">not evaluated</span>`;
  const level = result.outcome === "failed" && severity === "warning" ? "warn" : OUTCOME_CLASS[result.outcome];
  return html`<span class=${`badge ${level || ""}`}>${result.outcome}</span>`;
}

function value(observed) {
  if (observed === null || observed === undefined) return "–";
  return typeof observed === "object" ? JSON.stringify(observed) : String(observed);
}

function SampleKeys({ keys }) {
  if (!keys.length) return html`<span class="muted">–</span>`;
  return html`<details><summary>${keys.length} sample${keys.length === 1 ? "" : "s"}</summary>
    <ul class="sample-keys">${keys.map((key) => html`<li><code>${JSON.stringify(key)}</code></li>`)}</ul></details>`;
}

function History({ rule }) {
  const state = useLoad(() => gql(`query RuleResults($id: Int!, $limit: Int!) {
    qualityResults(id: $id, limit: $limit) { ${RESULT_FIELDS} } }`, { id: rule.databaseId, limit: HISTORY }),
  [rule.databaseId]);
  return html`<${Loading} state=${state}>${({ qualityResults }) => html`
    <table class="grid nested" aria-label=${`Recent results of ${rule.name}`}>
      <thead><tr><th>When</th><th>Outcome</th><th>Observed</th><th>Failing rows</th><th>Version</th></tr></thead>
      <tbody>${qualityResults.map((r) => html`<tr>
        <td>${formatTime(r.evaluatedAt)}</td><td><${Outcome} result=${r} severity=${rule.severity} /></td>
        <td>${value(r.observed)}</td><td>${formatCount(r.failingRows)}</td><td>v${r.ruleVersion}</td></tr>`)}
      </tbody></table>`}</${Loading}>`;
}

function RuleRow({ rule, result }) {
  const [open, setOpen] = useState(false);
  return html`<tr data-rule=${rule.name}>
      <td><strong>${rule.name}</strong>${rule.description ? html`<div class="muted">${rule.description}</div>` : null}
      </td>
      <td>${rule.kind.replace("_", " ")}${rule.column ? html` on <code>${rule.column}</code>` : null}
        ${Object.keys(rule.params || {}).length ? html`<div class="muted"><code>${JSON.stringify(rule.params)}</code>
        </div>` : null}</td>
      <td><span class=${`badge ${rule.severity === "error" ? "error" : "warn"}`}>${rule.severity}</span></td>
      <td class="outcome"><${Outcome} result=${result} severity=${rule.severity} />
        ${result?.message ? html`<div class="muted">${result.message}</div>` : null}</td>
      <td>${result ? value(result.observed) : "–"}</td>
      <td>${result ? formatCount(result.failingRows) : "–"}</td>
      <td>${result ? html`<${SampleKeys} keys=${result.sampleKeys} />` : "–"}</td>
      <td>${result ? formatTime(result.evaluatedAt) : "–"}</td>
      <td><button type="button" class="link" aria-expanded=${open} onClick=${() => setOpen(!open)}>
        ${open ? "Hide history" : "History"}</button></td>
    </tr>
    ${open ? html`<tr class="history-row"><td colspan="9"><${History} rule=${rule} /></td></tr>` : null}`;
}

function Health({ health }) {
  const failing = health.failingErrors + health.failingWarnings;
  return html`<dl class="health" aria-label="Health">
    <div class=${`stat ${failing ? (health.failingErrors ? "bad" : "warned") : ""}`}><dt>Rules</dt>
      <dd>${health.rules ? `${health.passing} of ${health.rules} passing` : "none"}</dd>
      ${failing ? html`<dd class="muted">${failing} failing, ${health.errored} errored</dd>` : null}
      ${health.notEvaluated ? html`<dd class="muted">${health.notEvaluated} not evaluated</dd>` : null}</div>
    <div class=${`stat ${health.anomalies.critical ? "bad" : health.anomalies.open ? "warned" : ""}`}>
      <dt>Anomalies</dt><dd>${health.anomalies.open} open, ${health.anomalies.critical} critical</dd>
      <dd class="muted">profiled ${formatTime(health.anomalies.profiledAt)}</dd></div>
    <div class=${`stat ${health.freshness.status === "stale" ? "bad" : ""}`}><dt>Freshness</dt>
      <dd>${health.freshness.status.replace("_", " ")}${health.freshness.maxAge
        ? ` (max age ${health.freshness.maxAge})` : ""}</dd>
      <dd class="muted">last extracted ${formatTime(health.freshness.lastExtractedAt)}</dd></div>
    <div class="stat"><dt>Last evaluated</dt><dd>${formatTime(health.lastEvaluatedAt)}</dd></div>
  </dl>`;
}

export default function QualityTab({ urn }) {
  const state = useLoad(() => loadQuality(urn), [urn]);
  return html`<${Loading} state=${state}>${(table) => html`<div class="quality-tab">
    ${table.qualityHealth ? html`<${Health} health=${table.qualityHealth} />` : null}
    <h2 id="rules-heading">Rules</h2>
    ${table.qualityRules.length === 0
      ? html`<p class="muted">No quality rules on this table. Add them through the API or a rule file
          (docs/quality.md).</p>`
      : html`<table class="grid" aria-labelledby="rules-heading">
        <thead><tr><th>Rule</th><th>Check</th><th>Severity</th><th>Latest result</th><th>Observed</th>
          <th>Failing rows</th><th>Samples</th><th>Evaluated</th><th></th></tr></thead>
        <tbody>${table.qualityRules.map((rule) => html`<${RuleRow} key=${rule.databaseId} rule=${rule}
          result=${table.latest[rule.databaseId]} />`)}</tbody>
      </table>`}
  </div>`}</${Loading}>`;
}
