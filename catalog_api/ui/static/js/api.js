// The catalog's APIs as the pages use them: GraphQL, REST and the live event stream, with the caller's credential.
// The credential (an API key `cat_…` or an Entra access token) lives in this tab's sessionStorage only.
const CREDENTIAL = "catalog.credential";

export function credential() {
  return sessionStorage.getItem(CREDENTIAL);
}

export function signIn(value) {
  sessionStorage.setItem(CREDENTIAL, value.trim());
}

export function signOut() {
  sessionStorage.removeItem(CREDENTIAL);
}

function withCredential(headers = {}) {
  const value = credential();
  if (!value) return headers;
  return value.startsWith("cat_") ? { ...headers, "X-API-Key": value } : { ...headers, Authorization: `Bearer ${value}` };
}

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.message || `the service answered ${status}`);
    this.status = status;
    this.code = body?.code;
    this.field = body?.field;
  }
}

async function answer(response) {
  if (response.status === 401) window.dispatchEvent(new CustomEvent("catalog:unauthenticated"));
  const body = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, body?.error);
  return body;
}

// A GraphQL query or mutation; its data, or an ApiError carrying the first error's message and code.
export async function gql(query, variables = {}) {
  const response = await fetch("/graphql", {
    method: "POST",
    headers: withCredential({ "Content-Type": "application/json", Accept: "application/json" }),
    body: JSON.stringify({ query, variables }),
  });
  const body = await answer(response);
  if (body.errors?.length) {
    const [first] = body.errors;
    if (first.extensions?.code === "unauthenticated") window.dispatchEvent(new CustomEvent("catalog:unauthenticated"));
    throw new ApiError(response.status, { message: first.message, code: first.extensions?.code });
  }
  return body.data;
}

// GET /api/v1/<path> with query parameters (arrays repeat the parameter).
export async function getJSON(path, params = {}) {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    for (const item of [].concat(value ?? [])) query.append(name, item);
  }
  const suffix = query.size ? `?${query}` : "";
  return answer(await fetch(`/api/v1${path}${suffix}`, { headers: withCredential({ Accept: "application/json" }) }));
}

// POST, PUT, PATCH or DELETE /api/v1/<path> with a JSON body.
export async function send(method, path, body) {
  const init = { method, headers: withCredential({ Accept: "application/json" }) };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  return answer(await fetch(`/api/v1${path}`, init));
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
