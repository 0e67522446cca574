// api.js: the registry's HTTP/JSON API (docs/openapi.yaml) as seen from the
// pages. The API key lives in sessionStorage only: it is gone when the tab
// closes, and sign-out removes it at once.

const KEY_ITEM = 'avrr.key';

export class ApiError extends Error {
  constructor(status, body) {
    const err = (body && body.error) || {};
    super(err.message || `HTTP ${status}`);
    this.status = status;
    this.code = err.code || null;
    this.field = err.field || null;
  }
}

export function getKey() {
  return sessionStorage.getItem(KEY_ITEM);
}

export function setKey(key) {
  sessionStorage.setItem(KEY_ITEM, key);
}

export function clearKey() {
  sessionStorage.removeItem(KEY_ITEM);
}

// Called with the error when the server refuses the key (401), so that the
// page can return to the sign-in form.
let onUnauthorized = () => {};
export function setUnauthorizedHandler(fn) {
  onUnauthorized = fn;
}

// One request. Resolves with the parsed JSON body; rejects with an ApiError
// carrying status, code, field and message for any non-2xx answer.
export async function api(method, path, body, { key = getKey(), quiet401 = false } = {}) {
  const headers = { Accept: 'application/json' };
  if (key) headers.Authorization = `Bearer ${key}`;
  const init = { method, headers, cache: 'no-store' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let resp;
  try {
    resp = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, { error: { code: 'network', message: `The server did not answer (${e.message}).` } });
  }
  let data = null;
  const text = await resp.text();
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!resp.ok) {
    const err = new ApiError(resp.status, data);
    if (resp.status === 429) {
      const after = resp.headers.get('Retry-After');
      if (after) err.message += ` (retry in ${after} s)`;
    }
    if (resp.status === 401 && !quiet401) onUnauthorized(err);
    throw err;
  }
  return data;
}
