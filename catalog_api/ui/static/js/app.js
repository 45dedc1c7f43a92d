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

// Who the API takes the caller for; refreshed whenever the credential changes.
function useViewer(signature) {
  const [viewer, setViewer] = useState(null);
  useEffect(() => {
    gql("{ me { name actor roles permissions } }").then((data) => setViewer(data.me), () => setViewer(null));
  }, [signature]);
  return viewer;
}

function Header({ where, viewer }) {
  const leave = () => {
    signOut();
    navigate("/ui/signin");
  };
  return html`<header class="shell">
    <${Link} href="/ui" class="brand">Catalog</${Link}>
    <${SearchBox} initial=${where.query.get("q") || ""} />
    <nav>
      <${Link} href="/ui/sources">Sources</${Link}>
      <a href="/graphql">GraphiQL</a>
      <a href="/docs">REST API</a>
    </nav>
    <span class="viewer">
      ${viewer ? html`<span title=${viewer.roles.join(", ")}>${viewer.name}</span>` : null}
      ${credential()
        ? html`<button type="button" class="link" onClick=${leave}>Sign out</button>`
        : html`<${Link} href="/ui/signin">Sign in</${Link}>`}
    </span>
  </header>`;
}

function App() {
  const where = useLocation();
  const [signature, setSignature] = useState(credential());
  const viewer = useViewer(signature);
  useEffect(() => {
    const ask = () => {
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
    <${Page} key=${where.path} params=${found ? found.params : {}} query=${where.query} path=${where.path}
      viewer=${viewer} />`;
}

render(html`<${App} />`, document.getElementById("app"));
