// The UI's shell: the header on every page, the page the address names, and sign-in when the API asks for it.
import { credential, gql, signOut } from "./api.js";
import { html, render, useEffect, useState } from "./lib.js";
import { Link, match, navigate, useLocation } from "./router.js";
import BrowsePage from "./pages/browse.js";
import LineagePage from "./pages/lineage.js";
import SearchPage from "./pages/search.js";
import SignInPage from "./pages/signin.js";
import TablePage from "./pages/table.js";
import { SearchBox } from "./suggest.js";

const ROUTES = [
  [/^\/ui\/?$/, SearchPage],
  [/^\/ui\/search\/?$/, SearchPage],
  [/^\/ui\/sources\/?$/, BrowsePage],
  [/^\/ui\/sources\/(?<source>[^/]+)\/?$/, BrowsePage],
  [/^\/ui\/sources\/(?<source>[^/]+)\/(?<schema>[^/]+)\/?$/, BrowsePage],
  [/^\/ui\/tables\/(?<urn>[^/]+)\/?$/, TablePage],
  [/^\/ui\/lineage\/?$/, LineagePage],
  [/^\/ui\/signin\/?$/, SignInPage],
];

function NotFound({ path }) {
  return html`<main><h1>Not found</h1><p>The UI has no page at <code>${path}</code>.
    <${Link} href="/ui">Search the catalog</${Link}>.</p></main>`;
}

// Who the API takes the caller for; asked again whenever the credential changes. Under `auth=none` it answers the
// local operator without a credential; under `auth=required` and without one it answers 401 (and sign-in opens).
function useViewer(signature) {
  const [viewer, setViewer] = useState(null);
  useEffect(() => {
    gql("{ me { name actor method roles permissions } }").then((data) => setViewer(data.me), () => setViewer(null));
  }, [signature]);
  return viewer;
}

const RANKS = ["admin", "operator", "curator", "viewer"];

// The caller's highest role (roles are cumulative), and `pii:read` when granted apart.
function roleLabel(roles) {
  const role = RANKS.find((name) => roles.includes(name)) || "no role";
  return roles.includes("pii:read") ? `${role} + pii:read` : role;
}

function Viewer({ viewer }) {
  const leave = () => {
    signOut();
    navigate("/ui/signin");
  };
  if (viewer && viewer.method === "none") {
    return html`<span class="viewer" title="Authentication is off (CATALOG_AUTH=none)">${viewer.name}</span>`;
  }
  if (!viewer || !credential()) {
    return html`<span class="viewer"><${Link} href="/ui/signin">Sign in</${Link}></span>`;
  }
  return html`<span class="viewer" role="group" aria-label="Signed in">
    <span class="who" title=${viewer.actor}>${viewer.name}</span>
    <span class="badge">${roleLabel(viewer.roles)}</span>
    <button type="button" class="link" onClick=${leave}>Sign out</button>
  </span>`;
}

function Header({ where, viewer }) {
  return html`<header class="shell">
    <${Link} href="/ui" class="brand">Catalog</${Link}>
    <${SearchBox} initial=${where.query.get("q") || ""} />
    <nav>
      <${Link} href="/ui/sources">Sources</${Link}>
      <a href="/graphql">GraphiQL</a>
      <a href="/docs">REST API</a>
    </nav>
    <${Viewer} viewer=${viewer} />
  </header>`;
}

// What the API refused the caller last (a 403), until the next page: the page that tried says so in its own place;
// this says who was refused and with which role, which the page does not know.
function Refusal({ refusal, viewer, dismiss }) {
  if (!refusal) return null;
  const who = viewer ? ` Signed in as ${viewer.name} (${roleLabel(viewer.roles)}).` : "";
  return html`<p class="refusal error" role="alert">Not allowed: ${refusal}.${who}
    <button type="button" class="link" onClick=${dismiss}>Dismiss</button></p>`;
}

function App() {
  const where = useLocation();
  const [signature, setSignature] = useState(credential());
  const [refusal, setRefusal] = useState(null);
  const viewer = useViewer(signature);
  useEffect(() => setRefusal(null), [where.path]);
  useEffect(() => {
    const refused = (event) => setRefusal(event.detail.message.replace(/\.$/, ""));
    window.addEventListener("catalog:forbidden", refused);
    return () => window.removeEventListener("catalog:forbidden", refused);
  }, []);
  useEffect(() => {
    // A refused credential (revoked, expired) is forgotten; the sign-in page brings the user back here after.
    const ask = (event) => {
      if (event.detail.sent !== credential()) return;
      if (event.detail.sent) signOut();
      if (location.pathname !== "/ui/signin") {
        navigate(`/ui/signin?next=${encodeURIComponent(location.pathname + location.search)}`, { replace: true });
      }
    };
    const changed = () => setSignature(credential());
    window.addEventListener("catalog:unauthenticated", ask);
    window.addEventListener("catalog:credential", changed);
    return () => {
      window.removeEventListener("catalog:unauthenticated", ask);
      window.removeEventListener("catalog:credential", changed);
    };
  }, []);
  const found = match(ROUTES, where.path);
  const Page = found ? found.page : NotFound;
  return html`<${Header} where=${where} viewer=${viewer} />
    <${Refusal} refusal=${refusal} viewer=${viewer} dismiss=${() => setRefusal(null)} />
    <${Page} key=${where.path} params=${found ? found.params : {}} query=${where.query} path=${where.path}
      viewer=${viewer} />`;
}

render(html`<${App} />`, document.getElementById("app"));
