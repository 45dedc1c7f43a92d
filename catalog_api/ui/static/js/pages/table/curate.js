// In-place curation of a table or column (for viewers with catalog:curate): its description, tags, owners and
// glossary terms, each saved through its GraphQL mutation. An editor shows what the API answered, so the page shows
// the stored value (normalised tags, say) without a reload, and the API's refusal next to the control.
import { gql } from "../../api.js";
import { html, useState } from "../../lib.js";
import { isPiiTag } from "../../urns.js";

const SET_DESCRIPTION = `mutation SetDescription($urn: String!, $description: String) {
  setDescription(urn: $urn, description: $description) { description }
}`;
const SET_TAGS = `mutation SetTags($urn: String!, $tags: [String!]!) { setTags(urn: $urn, tags: $tags) { tags } }`;
const SET_OWNERS = `mutation SetOwners($urn: String!, $owners: [OwnerInput!]!) {
  setOwners(urn: $urn, owners: $owners) { principal kind type }
}`;
const LINK_TERM = `mutation LinkTerm($urn: String!, $term: String!) { linkTerm(urn: $urn, term: $term) { id name } }`;
const UNLINK_TERM = `mutation UnlinkTerm($urn: String!, $termId: Int!) {
  unlinkTerm(urn: $urn, termId: $termId) { id name }
}`;

// The id of the <datalist> of glossary terms the columns tab renders once, for every term editor to suggest from.
export const TERM_LIST = "glossary-term-names";

// Runs one save at a time; keeps the API's refusal to show it where the edit was made.
function useSave() {
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState(null);
  const run = async (work) => {
    setBusy(true);
    setProblem(null);
    try {
      await work();
      return true;
    } catch (error) {
      setProblem(error.message);
      return false;
    } finally {
      setBusy(false);
    }
  };
  return { busy, problem, run };
}

const Problem = ({ save }) => (save.problem
  ? html`<p class="error inline-error" role="alert">${save.problem}</p>` : null);

export function DescriptionEditor({ urn, label, value, canEdit, onSaved }) {
  const [shown, setShown] = useState(value);
  const [draft, setDraft] = useState(null);
  const save = useSave();
  const submit = async (event) => {
    event.preventDefault();
    await save.run(async () => {
      const { setDescription } = await gql(SET_DESCRIPTION, { urn, description: draft });
      setShown(setDescription.description);
      setDraft(null);
      onSaved?.();
    });
  };
  if (draft !== null) {
    return html`<form class="edit-description" onSubmit=${submit}>
      <textarea aria-label=${`Description of ${label}`} maxlength="20000" rows="3" value=${draft}
        onInput=${(event) => setDraft(event.target.value)} />
      <div class="edit-actions">
        <button type="submit" class="primary" disabled=${save.busy}>Save</button>
        <button type="button" onClick=${() => setDraft(null)}>Cancel</button>
      </div>
      <${Problem} save=${save} />
    </form>`;
  }
  return html`<div class="description">
    ${shown ? html`<span>${shown}</span>` : html`<span class="muted">No description</span>`}
    ${canEdit ? html`<button type="button" class="link edit" aria-label=${`Edit the description of ${label}`}
      title="Edit the description" onClick=${() => setDraft(shown || "")}>✎</button>` : null}
  </div>`;
}

// A small form opened by a "+" button: one text field and its submit button.
function AddForm({ label, placeholder, list, maxLength, onAdd, busy }) {
  const [open, setOpen] = useState(false);
  const [text, setText] = useState("");
  if (!open) {
    return html`<button type="button" class="link add" aria-label=${label} title=${label}
      onClick=${() => setOpen(true)}>+</button>`;
  }
  const submit = async (event) => {
    event.preventDefault();
    if (!text.trim()) return;
    if (await onAdd(text.trim())) {
      setText("");
      setOpen(false);
    }
  };
  return html`<form class="add-form" onSubmit=${submit}>
    <input aria-label=${label} placeholder=${placeholder} list=${list} maxlength=${maxLength} value=${text}
      onInput=${(event) => setText(event.target.value)} />
    <button type="submit" disabled=${busy}>Add</button>
    <button type="button" class="link" onClick=${() => setOpen(false)}>Cancel</button>
  </form>`;
}

export function TagEditor({ urn, label, tags, canEdit, onSaved }) {
  const [shown, setShown] = useState(tags);
  const save = useSave();
  const store = (next) => save.run(async () => {
    const { setTags } = await gql(SET_TAGS, { urn, tags: next });
    setShown(setTags.tags);
    onSaved?.();
  });
  return html`<div class="tag-editor">
    ${shown.map((tag) => html`<span class=${isPiiTag(tag) ? "tag pii" : "tag"}>${tag}${canEdit
      ? html`<button type="button" class="link remove" aria-label=${`Remove tag ${tag} from ${label}`}
          onClick=${() => store(shown.filter((t) => t !== tag))}>×</button>`
      : null}</span>`)}
    ${canEdit ? html`<${AddForm} label=${`Add a tag to ${label}`} placeholder="e.g. pii.email" maxLength="300"
      busy=${save.busy} onAdd=${(tag) => store([...shown, tag])} />` : null}
    <${Problem} save=${save} />
  </div>`;
}

export function TermEditor({ urn, label, terms, canEdit }) {
  const [shown, setShown] = useState(terms);
  const save = useSave();
  const link = (term) => save.run(async () => setShown((await gql(LINK_TERM, { urn, term })).linkTerm));
  const unlink = (term) => save.run(async () => {
    setShown((await gql(UNLINK_TERM, { urn, termId: term.id })).unlinkTerm);
  });
  return html`<div class="term-editor">
    ${shown.map((term) => html`<span class="term">${term.name}${canEdit
      ? html`<button type="button" class="link remove" aria-label=${`Unlink term ${term.name} from ${label}`}
          onClick=${() => unlink(term)}>×</button>`
      : null}</span>`)}
    ${canEdit ? html`<${AddForm} label=${`Link a glossary term to ${label}`} placeholder="a glossary term"
      list=${TERM_LIST} maxLength="200" busy=${save.busy} onAdd=${link} />` : null}
    <${Problem} save=${save} />
  </div>`;
}

const OWNER_TYPES = ["technical", "business"];
const OWNER_KINDS = ["user", "group"];

export function OwnerEditor({ urn, label, owners, canEdit }) {
  const [shown, setShown] = useState(owners);
  const [draft, setDraft] = useState(null);
  const save = useSave();
  const store = (next) => save.run(async () => {
    const owners = next.map(({ principal, kind, type }) => ({ principal, kind, type }));
    const answer = await gql(SET_OWNERS, { urn, owners });
    setShown(answer.setOwners);
  });
  const add = async (event) => {
    event.preventDefault();
    if (!draft.principal.trim()) return;
    if (await store([...shown, { ...draft, principal: draft.principal.trim() }])) setDraft(null);
  };
  const field = (name) => (event) => setDraft({ ...draft, [name]: event.target.value });
  return html`<div class="owner-editor">
    ${shown.length ? null : html`<span class="muted">No owners </span>`}
    <ul class="owners">${shown.map((owner) => html`<li>
      <span class="owner">${owner.principal}</span>
      <span class="badge">${owner.type}</span> <span class="badge">${owner.kind}</span>
      ${canEdit ? html`<button type="button" class="link remove"
        aria-label=${`Remove owner ${owner.principal} (${owner.type}) from ${label}`}
        onClick=${() => store(shown.filter((o) => o !== owner))}>×</button>` : null}
    </li>`)}</ul>
    ${canEdit && !draft ? html`<button type="button" class="link add" aria-label=${`Add an owner to ${label}`}
      title="Add an owner" onClick=${() => setDraft({ principal: "", type: "technical", kind: "user" })}>+</button>`
      : null}
    ${canEdit && draft ? html`<form class="add-owner" onSubmit=${add}>
      <input aria-label="New owner" placeholder="user or group, e.g. ana@example.com" maxlength="255"
        value=${draft.principal} onInput=${field("principal")} />
      <select aria-label="Owner type" value=${draft.type} onChange=${field("type")}>
        ${OWNER_TYPES.map((type) => html`<option value=${type}>${type}</option>`)}</select>
      <select aria-label="Owner kind" value=${draft.kind} onChange=${field("kind")}>
        ${OWNER_KINDS.map((kind) => html`<option value=${kind}>${kind}</option>`)}</select>
      <button type="submit" disabled=${save.busy}>Add owner</button>
      <button type="button" class="link" onClick=${() => setDraft(null)}>Cancel</button>
    </form>` : null}
    <${Problem} save=${save} />
  </div>`;
}
