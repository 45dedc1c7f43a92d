// Sign-in for a catalog that requires authentication: the caller pastes an API key (`cat_…`, from an admin or
// `catalog key create`) or an Entra access token. It is checked against the API before it is kept.
import { credential, gql, signIn, signOut } from "../api.js";
import { html, useState } from "../lib.js";
import { navigate } from "../router.js";

export default function SignInPage({ query }) {
  const [value, setValue] = useState("");
  const [problem, setProblem] = useState(null);
  const next = query.get("next") || "/ui";
  const submit = async (event) => {
    event.preventDefault();
    const previous = credential();
    signIn(value);
    try {
      await gql("{ me { name } }");
    } catch (error) {
      if (previous) signIn(previous);
      else signOut();
      setProblem(error.message);
      return;
    }
    window.dispatchEvent(new CustomEvent("catalog:credential"));
    navigate(next.startsWith("/ui") ? next : "/ui", { replace: true });
  };
  return html`<main class="narrow">
    <h1>Sign in</h1>
    <p>This catalog requires a credential: an API key (<code>cat_…</code>) or a Microsoft Entra ID access token.
      It is kept in this browser tab only.</p>
    <form class="signin" onSubmit=${submit}>
      <label>Credential <input type="password" name="credential" autocomplete="off" required maxlength="8192"
        value=${value} onInput=${(event) => setValue(event.target.value)} /></label>
      <button type="submit">Sign in</button>
      ${problem ? html`<p class="error" role="alert">${problem}</p>` : null}
    </form>
  </main>`;
}
