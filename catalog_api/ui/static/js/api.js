// The catalog's APIs as the pages use them: GraphQL, REST and the live event stream, with the caller's credential.
// The credential (an API key `cat_…` or an Entra access token) lives in this tab's sessionStorage only and travels
// in a header, never in a cookie, so no other site can make the browser use it (docs/ui.md#signing-in).
const CREDENTIAL = "catalog.credential";

export function credential() {
  return sessionStorage.getItem(CREDENTIAL);
}

// Keeps a credential the API has accepted (see `whoIs`) and tells the shell, which asks `me` again.
export function signIn(value) {
  sessionStorage.setItem(CREDENTIAL, value.trim());
  window.dispatchEvent(new CustomEvent("catalog:credential"));
}

// Forgets the credential: nothing the UI kept can call the API any more.
export function signOut() {
  sessionStorage.removeItem(CREDENTIAL);
  window.dispatchEvent(new CustomEvent("catalog:credential"));
}

function withCredential(headers = {}, value = credential()) {
  if (!value) return headers;
  if (value.startsWith("cat_")) return { ...headers, "X-API-Key": value };
  return { ...headers, Authorization: `Bearer ${value}` };
}

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.message || `the service answered ${status}`);
    this.status = status;
    this.code = body?.code;
    this.field = body?.field;
  }
}

// Tells the shell the API refused `sent` (the credential a request carried, or null): the shell forgets it and opens
// sign-in, unless the credential changed while the request was under way.
function refused(sent) {
  window.dispatchEvent(new CustomEvent("catalog:unauthenticated", { detail: { sent } }));
}

function readBody(response) {
  return response.status === 204 ? null : response.json().catch(() => null);
}

// Tells the shell the API refused an action to the caller (403): it says so above the page, naming the caller.
function forbidden(error) {
  window.dispatchEvent(new CustomEvent("catalog:forbidden", { detail: { message: error.message } }));
}

// The ApiError of a refused REST request, after telling the shell of a refused credential or action.
async function refusal(response, sent) {
  if (response.status === 401) refused(sent);
  const body = await readBody(response);
  const error = new ApiError(response.status, body?.error);
  if (response.status === 403) forbidden(error);
  return error;
}

async function answer(response, sent) {
  if (!response.ok) throw await refusal(response, sent);
  return readBody(response);
}

async function post(query, variables, headers) {
  const response = await fetch("/graphql", {
    method: "POST",
    headers: { ...headers, "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify({ query, variables }),
  });
  return { response, body: await readBody(response) };
}

// The error a GraphQL answer carries, if any: the service's error body (401, 413, 429, …) or the first GraphQL error.
function firstError(response, body) {
  const [first] = body?.errors || [];
  const detail = body?.error || (first && { message: first.message, code: first.extensions?.code });
  if (!response.ok || detail) return new ApiError(response.status, detail);
  return null;
}

// A GraphQL query or mutation; its data, or an ApiError carrying the first error's message and code.
export async function gql(query, variables = {}) {
  const sent = credential();
  const { response, body } = await post(query, variables, withCredential({}, sent));
  const error = firstError(response, body);
  if (response.status === 401 || error?.code === "unauthenticated") refused(sent);
  if (response.status === 403 || error?.code === "forbidden") forbidden(error);
  if (error) throw error;
  return body.data;
}

// Who the API takes the holder of `value` for (GraphQL `me`), without keeping `value` or leaving the page: the
// sign-in page checks a credential with it before keeping it. Throws an ApiError saying why one is refused.
export async function whoIs(value) {
  const { response, body } = await post("{ me { name actor method roles permissions } }", {},
    withCredential({}, value.trim()));
  const error = firstError(response, body);
  if (error) throw error;
  return body.data.me;
}

// GET /api/v1/<path> with query parameters (arrays repeat the parameter).
export async function getJSON(path, params = {}) {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    for (const item of [].concat(value ?? [])) query.append(name, item);
  }
  const suffix = query.size ? `?${query}` : "";
  const sent = credential();
  const headers = withCredential({ Accept: "application/json" }, sent);
  const response = await fetch(`/api/v1${path}${suffix}`, { headers });
  return answer(response, sent);
}

// GET an address of the service that answers a document, not JSON (a profile's `reportUrl`: its HTML report), with
// the credential; the document as a Blob, or an ApiError as `getJSON` throws.
export async function getBlob(address) {
  const sent = credential();
  const response = await fetch(address, { headers: withCredential({}, sent) });
  if (!response.ok) throw await refusal(response, sent);
  return response.blob();
}

// POST, PUT, PATCH or DELETE /api/v1/<path> with a JSON body.
export async function send(method, path, body) {
  const sent = credential();
  const init = { method, headers: withCredential({ Accept: "application/json" }, sent) };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  return answer(await fetch(`/api/v1${path}`, init), sent);
}

// Follows the server-sent event stream (/api/v1/events/stream) with the credential in a header, which EventSource
// cannot send. Calls onEvent({id, type, data}) per event; reconnects with a growing pause. `onOpen` hears of each
// (re)connection (events published while disconnected are lost: reread what matters), `onError` of each failure.
// Returns a stop function.
export function eventStream(params, onEvent, { onOpen, onError } = {}) {
  const controller = new AbortController();
  let pause = 500;
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    for (const item of [].concat(value ?? [])) query.append(name, item);
  }
  const follow = async () => {
    while (!controller.signal.aborted) {
      try {
        const response = await fetch(`/api/v1/events/stream?${query}`, {
          headers: withCredential({ Accept: "text/event-stream" }),
          signal: controller.signal,
        });
        if (!response.ok) throw new ApiError(response.status, null);
        pause = 500;
        onOpen?.();
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let end;
          while ((end = buffer.indexOf("\n\n")) >= 0) {
            const frame = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const fields = {};
            for (const line of frame.split("\n")) {
              if (!line || line.startsWith(":")) continue;
              const colon = line.indexOf(":");
              fields[line.slice(0, colon)] = line.slice(colon + 1).trimStart();
            }
            if (fields.data) onEvent({ id: fields.id, type: fields.event, data: JSON.parse(fields.data) });
          }
        }
      } catch (error) {
        if (controller.signal.aborted) return;
        onError?.(error);
      }
      await new Promise((resolve) => setTimeout(resolve, pause));
      pause = Math.min(pause * 2, 15000);
    }
  };
  follow();
  return () => controller.abort();
}
