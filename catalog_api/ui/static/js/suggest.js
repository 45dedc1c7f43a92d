// The header's search box: a search on Enter, and while typing the best few entities (GraphQL `catalogSearch`) as
// suggestions that open their page directly (ARIA combobox: arrows move, Enter opens, Escape closes).
import { gql } from "./api.js";
import { html, useEffect, useState } from "./lib.js";
import { navigate } from "./router.js";
import { hitHref } from "./pages/search.js";

const SUGGESTIONS = 8;
const PAUSE_MS = 150;  // ask once the typing pauses, not on every key
const SUGGEST = `query Suggest($q: String!, $first: Int!) {
  catalogSearch(q: $q, first: $first) {
    edges { node { urn entityType kind name sourceName schemaName tableName } }
  }
}`;

// Suggestions follow what the user types (`typed`), not the words a page opened with: a search page's own results
// already answer those, and asking for them would only add a request to every search page.
function useSuggestions(q, typed) {
  const [hits, setHits] = useState([]);
  useEffect(() => {
    const words = q.trim();
    if (!typed || words.length < 2) {
      setHits([]);
      return undefined;
    }
    let current = true;
    const timer = setTimeout(() => {
      gql(SUGGEST, { q: words, first: SUGGESTIONS }).then(
        (data) => current && setHits(data.catalogSearch.edges.map((edge) => edge.node)),
        () => current && setHits([]),  // a suggestion is a convenience: the search itself reports errors
      );
    }, PAUSE_MS);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [q, typed]);
  return hits;
}

const where = (hit) => [hit.sourceName, hit.schemaName, hit.entityType === "column" ? hit.tableName : null]
  .filter(Boolean).join(" › ");

export function SearchBox({ initial }) {
  const [q, setQ] = useState(initial);
  const [typed, setTyped] = useState(false);
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(-1);
  const hits = useSuggestions(q, typed);
  const shown = open && hits.length > 0;
  const go = (href) => {
    setOpen(false);
    setActive(-1);
    navigate(href);
  };
  const submit = (event) => {
    event.preventDefault();
    go(`/ui/search?q=${encodeURIComponent(q)}`);
  };
  const keys = (event) => {
    if (event.key === "ArrowDown" && hits.length) {
      event.preventDefault();
      setOpen(true);
      setActive((active + 1) % hits.length);
    } else if (event.key === "ArrowUp" && hits.length) {
      event.preventDefault();
      setActive(active <= 0 ? hits.length - 1 : active - 1);
    } else if (event.key === "Enter" && shown && active >= 0) {
      event.preventDefault();
      go(hitHref(hits[active]));
    } else if (event.key === "Escape") {
      setOpen(false);
    }
  };
  return html`<form role="search" class="search-box" onSubmit=${submit}>
    <input type="search" name="q" role="combobox" aria-label="Search the catalog" aria-autocomplete="list"
      aria-expanded=${shown} aria-controls="search-suggestions"
      aria-activedescendant=${shown && active >= 0 ? `suggestion-${active}` : undefined}
      placeholder="Search tables, columns, tags…" maxlength="200" autocomplete="off" value=${q}
      onInput=${(event) => { setQ(event.target.value); setTyped(true); setOpen(true); setActive(-1); }}
      onKeyDown=${keys} onFocus=${() => setOpen(true)} onBlur=${() => setOpen(false)} />
    <ul id="search-suggestions" role="listbox" aria-label="Suggestions" hidden=${!shown}>
      ${hits.map((hit, index) => html`<li id=${`suggestion-${index}`} role="option" aria-selected=${index === active}
        onMouseDown=${(event) => { event.preventDefault(); go(hitHref(hit)); }}>
        <span class="badge">${hit.kind}</span> <strong>${hit.name}</strong> <span class="muted">${where(hit)}</span>
      </li>`)}
    </ul>
  </form>`;
}
