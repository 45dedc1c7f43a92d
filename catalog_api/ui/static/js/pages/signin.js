// Sign-in for a catalog that requires authentication: the caller pastes an API key (`cat_…`, from an admin or
// `catalog keys create`) or an Entra access token. The API checks it (`me`) before it is kept; a refused one is not
// kept, and the page says why the API refused it. Then the browser returns to `next`, which must be a UI address.
import { credential, signIn, whoIs } from "../api.js";
import { html, useState } from "../lib.js";
import { Link, navigate } from "../router.js";

// `next` if it is a page of the UI on this origin, else the UI's start page: a link to the sign-in page must not
// send a user who signs in anywhere else (an open redirect), nor back to the sign-in page.
export function safeNext(next) {
  try {
    const url = new URL(next || "/ui", location.origin);
    const inside = url.pathname === "/ui" || url.pathname.startsWith("/ui/");
    if (url.origin === location.origin && inside && !url.pathname.startsWith("/ui/signin")) {
      return url.pathname + url.search + url.hash;
    }
  } catch (error) {
    // not an address at all: fall through to the start page
  }
  return "/ui";
}

const REASONS = {
  401: "The catalog refused this credential",
  403: "This credential is valid but grants no role in the catalog",
  429: "Too many attempts: wait a moment",
};

function reason(error) {
  const lead = REASONS[error.status] || "The credential could not be checked";
  return `${lead}: ${error.message.replace(/\.$/, "")}.`;
}

export default function SignInPage({ query, viewer }) {
  const [value, setValue] = useState("");
  const [problem, setProblem] = useState(null);
  const [checking, setChecking] = useState(false);
  const next = safeNext(query.get("next"));
  const submit = async (event) => {
    event.preventDefault();
    setChecking(true);
    setProblem(null);
    try {
      await whoIs(value);
    } catch (error) {
      setProblem(reason(error));
      setChecking(false);
      return;
    }
    signIn(value);
    navigate(next, { replace: true });
  };
  if (viewer && viewer.method === "none") {
    return html`<main class="narrow">
      <h1>Sign in</h1>
      <p>This catalog runs without authentication: every visitor acts as the <em>${viewer.name}</em>.
        <${Link} href=${next}>Continue</${Link}>.</p>
    </main>`;
  }
  return html`<main class="narrow">
    <h1>Sign in</h1>
    ${credential() && viewer
      ? html`<p>Signed in as <strong>${viewer.name}</strong>. A new credential replaces it.</p>` : null}
    <p>This catalog requires a credential: an API key (<code>cat_…</code>, from your catalog's admin) or a Microsoft
      Entra ID access token for the catalog's API. It is kept in this browser tab only, until you sign out or close
      the tab.</p>
    <form class="signin" onSubmit=${submit}>
      <label>Credential <input type="password" name="credential" autocomplete="off" required maxlength="8192"
        value=${value} onInput=${(event) => setValue(event.target.value)} /></label>
      <button type="submit" class="primary" disabled=${checking}>${checking ? "Checking…" : "Sign in"}</button>
      ${problem ? html`<p class="error" role="alert">${problem}</p>` : null}
    </form>
  </main>`;
}
