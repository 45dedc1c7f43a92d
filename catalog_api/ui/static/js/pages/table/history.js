// The table page's History tab: the table's change history (GraphQL `Table.changes`) as a timeline, newest first,
// in groups of one crawl or one day's curation: when, who, what changed, and before → after where the change
// carries them. Older changes load a page at a time.
import { gql } from "../../api.js";
import { formatCount, formatTime, html, useEffect, useState } from "../../lib.js";
import { parseUrn, shortName } from "../../urns.js";

const PAGE_SIZE = 50;

const CHANGES = `query TableChanges($urn: String!, $first: Int!, $after: String) {
  table(urn: $urn) {
    changes(first: $first, after: $after) {
      totalCount pageInfo { hasNextPage endCursor }
      edges { node { id entityUrn changeType before after jobId detectedAt actor } }
    }
  }
}`;

// What each kind of change says, about the entity it names (a column, the table, its schema).
const SAYS = {
  schema_created: "Schema created", schema_deleted: "Schema deleted", schema_comment_changed: "Schema comment changed",
  table_created: "Created", table_deleted: "Deleted", table_kind_changed: "Kind changed",
  table_comment_changed: "Comment changed", view_definition_changed: "View definition changed",
  primary_key_changed: "Primary key changed", unique_constraints_changed: "Unique constraints changed",
  foreign_keys_changed: "Foreign keys changed", indexes_changed: "Indexes changed",
  partition_key_changed: "Partition key changed", column_added: "Column added", column_removed: "Column removed",
  column_type_changed: "Type changed", column_nullability_changed: "Nullability changed",
  column_default_changed: "Default changed", column_comment_changed: "Comment changed",
  column_generation_changed: "Generation changed", description_changed: "Description edited",
  tags_changed: "Tags edited", owners_changed: "Owners changed", terms_changed: "Glossary terms changed",
  domain_changed: "Domain changed",
};

// A before or after value as a line of text: a table's or column's snapshot by its type, owners by principal.
function describe(value) {
  if (value === null || value === undefined || value === "") return "none";
  if (typeof value !== "object") return String(value);
  if (Array.isArray(value)) {
    if (!value.length) return "none";
    return value.map((item) => (typeof item === "object" && item !== null
      ? item.principal ? `${item.principal} (${item.type}, ${item.kind})` : item.name || JSON.stringify(item)
      : String(item))).join(", ");
  }
  if ("data_type" in value) return `${value.data_type}${value.nullable === false ? " not null" : ""}`;
  if ("kind" in value && "columns" in value) return `${value.kind}, ${value.columns.length} columns`;
  return value.name || JSON.stringify(value);
}

function Values({ change }) {
  const { before, after } = change;
  if (change.changeType.endsWith("_created") || change.changeType === "column_added") {
    return after ? html`<span class="after">${describe(after)}</span>` : null;
  }
  if (change.changeType.endsWith("_deleted") || change.changeType === "column_removed") {
    return before ? html`<del class="before">${describe(before)}</del>` : null;
  }
  if (before === null && after === null) return null;
  const was = before === null || before === "" || (Array.isArray(before) && !before.length)
    ? html`<span class="before muted">none</span>` : html`<del class="before">${describe(before)}</del>`;
  return html`<span class="values">${was}${" → "}<ins class="after">${describe(after)}</ins></span>`;
}

function Subject({ urn }) {
  const { type } = parseUrn(urn);
  if (type === "column") return html`<code class="subject">${shortName(urn)}</code>`;
  if (type === "dataset") return html`<span class="subject muted">table</span>`;
  return html`<span class="subject muted">${type} ${shortName(urn)}</span>`;
}

// Consecutive changes of one crawl (its job) or, without a job, of one day, as one group.
function grouped(changes) {
  const groups = [];
  for (const change of changes) {
    const day = change.detectedAt.slice(0, 10);
    const key = change.jobId ? `job:${change.jobId}` : `day:${day}`;
    const last = groups[groups.length - 1];
    if (last && last.key === key) last.changes.push(change);
    else groups.push({ key, day, jobId: change.jobId, changes: [change] });
  }
  return groups;
}

function Group({ group }) {
  const actors = [...new Set(group.changes.map((change) => change.actor || "unknown"))].join(", ");
  return html`<li class="change-group">
    <h3><time datetime=${group.day}>${group.day}</time>${" "}
      <span class="muted">${group.jobId ? html`· crawl <code title=${group.jobId}>${group.jobId.slice(0, 8)}</code>`
        : "· edits"}${` · by ${actors}`}</span></h3>
    <ol class="changes">${group.changes.map((change) => html`<li class=${`change ${change.changeType}`}>
      <span class="when muted">${formatTime(change.detectedAt).slice(11)}</span>
      <span class="what"><${Subject} urn=${change.entityUrn} /> ${SAYS[change.changeType] || change.changeType}</span>
      <${Values} change=${change} />
      <span class="actor muted" title="Who made the change">${change.actor || "unknown"}</span>
    </li>`)}</ol>
  </li>`;
}

export default function HistoryTab({ urn }) {
  const [state, setState] = useState({ changes: [], total: null, next: null, loading: true, error: null });
  const load = async (after) => {
    setState((previous) => ({ ...previous, loading: true, error: null }));
    try {
      const { table } = await gql(CHANGES, { urn, first: PAGE_SIZE, after });
      const page = table.changes;
      setState((previous) => ({
        changes: [...(after ? previous.changes : []), ...page.edges.map((edge) => edge.node)],
        total: page.totalCount,
        next: page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null,
        loading: false,
        error: null,
      }));
    } catch (error) {
      setState((previous) => ({ ...previous, loading: false, error }));
    }
  };
  useEffect(() => {
    load(null);
  }, [urn]);
  if (state.total === null && !state.error) return html`<p class="muted" aria-busy="true">Loading…</p>`;
  return html`<section class="history" aria-label="Change history">
    ${state.total !== null ? html`<p class="muted">${formatCount(state.total)} changes, newest first</p>` : null}
    ${state.total === 0 ? html`<p>No change recorded yet.</p>` : null}
    <ol class="timeline">${grouped(state.changes).map((group) => html`<${Group} key=${group.key} group=${group} />`)}
    </ol>
    ${state.error ? html`<p class="error" role="alert">${state.error.message}</p>` : null}
    ${state.next ? html`<button type="button" disabled=${state.loading} onClick=${() => load(state.next)}>
      Older changes</button>` : null}
  </section>`;
}
