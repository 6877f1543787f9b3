// Talking to the PixHive API: the session (access token in memory only, refreshed through the
// HttpOnly cookie the server sets), JSON calls, uploads with progress, and images that need the
// Authorization header.

export const API = '/api/v1';

export class ApiError extends Error {
  constructor(status, code, message, requestId) {
    super(message);
    this.status = status;
    this.code = code;
    this.requestId = requestId || '';
  }
}

const NETWORK_MESSAGE = 'Cannot reach the PixHive server. Check your connection and try again.';

function fallbackMessage(status) {
  if (status === 413) return 'That is larger than the server accepts.';
  if (status === 429) return 'Too many requests: wait a moment and try again.';
  if (status === 502 || status === 503 || status === 504) return 'The server is busy or unavailable. Try again shortly.';
  if (status >= 500) return 'The server hit an error. Try again later.';
  return `The request failed (HTTP ${status}).`;
}

// Builds an ApiError from the server's {"error":{"code","message","request_id"}} (or whatever came).
export function errorFromBody(status, text) {
  try {
    const body = JSON.parse(text);
    if (body && body.error && body.error.message) {
      return new ApiError(status, body.error.code || 'error', body.error.message, body.error.request_id);
    }
  } catch {
    /* not JSON */
  }
  return new ApiError(status, 'http_' + status, fallbackMessage(status));
}

async function errorFromResponse(res) {
  let text = '';
  try {
    text = await res.text();
  } catch {
    /* ignore */
  }
  return errorFromBody(res.status, text);
}

export function url(path) {
  return path.startsWith('/api/') ? path : API + path;
}

// ---------------------------------------------------------------------------------------------
// Session

let accessToken = null;
// Only when a server answers the refresh token in the body (API clients, older servers): kept in
// memory like the access token, never in storage. The web contract leaves it empty (cookie).
let bodyRefreshToken = '';
let refreshTimer = 0;
let refreshing = null;

const session = { ready: false, user: null, notice: '' };
const listeners = new Set();

export function getSession() {
  return session;
}
export function subscribe(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}
function emit() {
  for (const fn of [...listeners]) fn(session);
}
function setSession(patch) {
  Object.assign(session, patch);
  emit();
}
export function token() {
  return accessToken;
}

function adopt(tokens) {
  accessToken = tokens.access_token;
  bodyRefreshToken = tokens.refresh_token || '';
  clearTimeout(refreshTimer);
  const seconds = Number(tokens.expires_in) || 900;
  // Refresh a minute early (or at 80 % of short lifetimes).
  const lead = Math.min(60, seconds * 0.2);
  refreshTimer = setTimeout(() => refresh(), Math.max(5, seconds - lead) * 1000);
}

function forget(notice = '') {
  accessToken = null;
  bodyRefreshToken = '';
  clearTimeout(refreshTimer);
  setSession({ user: null, notice });
}

async function authPost(path, body) {
  let res;
  try {
    res = await fetch(url(path), {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'X-PixHive-Web': '1' },
      body: JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, 'network', NETWORK_MESSAGE);
  }
  if (!res.ok) throw await errorFromResponse(res);
  return res.status === 204 ? null : res.json();
}

export async function login(loginName, password) {
  const tokens = await authPost('/auth/login', { login: loginName, password });
  adopt(tokens);
  const user = tokens.user || (await api('/users/me'));
  setSession({ user, notice: '' });
  return user;
}

// Swaps the refresh cookie for a new access token; one at a time. Resolves true on success.
export function refresh() {
  if (refreshing) return refreshing;
  const wasSignedIn = !!session.user;
  refreshing = (async () => {
    try {
      const tokens = await authPost('/auth/refresh', bodyRefreshToken ? { refresh_token: bodyRefreshToken } : {});
      adopt(tokens);
      const user = tokens.user || (await api('/users/me', { retry: false }));
      setSession({ user });
      return true;
    } catch (e) {
      if (e.status === 0 && wasSignedIn) {
        // Offline for a moment: keep the session, try again soon.
        clearTimeout(refreshTimer);
        refreshTimer = setTimeout(() => refresh(), 15000);
        return false;
      }
      forget(wasSignedIn ? 'Your session has ended. Please sign in again.' : '');
      return false;
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

export async function logout() {
  try {
    await authPost('/auth/logout', bodyRefreshToken ? { refresh_token: bodyRefreshToken } : {});
  } finally {
    forget('You are signed out.');
  }
}

// Changes the signed-in person's password. The server ends every other session of the account
// (its refresh tokens and access tokens) and answers a new session like a login, whose refresh
// token comes as the cookie (X-PixHive-Web), so this one goes on.
export async function changePassword(currentPassword, newPassword) {
  // A refresh under way carries the old cookie: let it land first, or its answer would replace
  // the new session's cookie and token with revoked ones.
  if (refreshing) await refreshing;
  const tokens = await api('/users/me/password', {
    method: 'POST',
    headers: { 'X-PixHive-Web': '1' },
    json: { current_password: currentPassword, new_password: newPassword },
  });
  adopt(tokens);
  setSession({ user: tokens.user || session.user, notice: '' });
  return session.user;
}

// Ends every session of the account, this one included (the server clears the refresh cookie).
export async function logoutAll() {
  await api('/auth/logout-all', { method: 'POST', headers: { 'X-PixHive-Web': '1' }, json: {} });
  forget('You are signed out on every device.');
}

// Asks for a password-reset mail. The server answers the same (202) whether or not the address
// has an account, so this says nothing about who is registered.
export async function requestPasswordReset(email) {
  await authPost('/auth/reset-request', { email });
}

// Sets a new password with the token from the reset mail (single use). The server ends every
// session of the account, so one in this browser ends too; the login page shows the notice.
export async function resetPassword(resetToken, newPassword) {
  if (refreshing) await refreshing;
  await authPost('/auth/reset', { token: resetToken, new_password: newPassword });
  forget('Password changed: log in with the new one.');
}

// At start: a refresh cookie from an earlier visit signs the person in again.
export async function initSession() {
  try {
    await refresh();
  } finally {
    setSession({ ready: true });
  }
}

export function updateUser(user) {
  setSession({ user });
}

// ---------------------------------------------------------------------------------------------
// Calls

// api('/photos/1'), api('/photos/1/comments', {method:'POST', json:{text}}).
// Answers parsed JSON (null for 204); {raw:true} answers the Response.
export async function api(path, opts = {}) {
  const { method = 'GET', json, body, headers = {}, raw = false, retry = true, signal } = opts;
  const h = { ...headers };
  let payload = body;
  if (json !== undefined) {
    h['Content-Type'] = 'application/json';
    payload = JSON.stringify(json);
  }
  if (accessToken) h.Authorization = 'Bearer ' + accessToken;
  let res;
  try {
    res = await fetch(url(path), { method, headers: h, body: payload, signal, credentials: 'same-origin' });
  } catch (e) {
    if (e && e.name === 'AbortError') throw e;
    throw new ApiError(0, 'network', NETWORK_MESSAGE);
  }
  if (res.status === 401 && accessToken && retry) {
    if (await refresh()) return api(path, { ...opts, retry: false });
  }
  if (!res.ok) throw await errorFromResponse(res);
  if (raw) return res;
  if (res.status === 204) return null;
  const type = res.headers.get('Content-Type') || '';
  return type.includes('json') ? res.json() : res;
}

function xhrOnce(method, path, form, onProgress, responseType = '') {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(method, url(path));
    xhr.responseType = responseType;
    if (accessToken) xhr.setRequestHeader('Authorization', 'Bearer ' + accessToken);
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable && onProgress) onProgress(e.loaded / e.total);
    };
    xhr.onload = () => resolve(xhr);
    xhr.onerror = () => reject(new ApiError(0, 'network', NETWORK_MESSAGE));
    xhr.onabort = () => reject(new ApiError(0, 'aborted', 'The upload was cancelled.'));
    xhr.send(form);
  });
}

// Multipart upload with progress (0..1). Answers the parsed JSON.
export async function upload(path, makeForm, onProgress) {
  let xhr = await xhrOnce('POST', path, makeForm(), onProgress);
  if (xhr.status === 401 && accessToken && (await refresh())) {
    xhr = await xhrOnce('POST', path, makeForm(), onProgress);
  }
  if (xhr.status < 200 || xhr.status >= 300) throw errorFromBody(xhr.status, xhr.responseText);
  return xhr.responseText ? JSON.parse(xhr.responseText) : null;
}

// Multipart POST with progress whose answer is a file (image) or JSON: answers
// {blob, type, headers: (name) => value}. Errors carry the server's message.
export async function postForBlob(path, makeForm, onProgress) {
  let xhr = await xhrOnce('POST', path, makeForm(), onProgress, 'blob');
  if (xhr.status === 401 && accessToken && (await refresh())) {
    xhr = await xhrOnce('POST', path, makeForm(), onProgress, 'blob');
  }
  if (xhr.status < 200 || xhr.status >= 300) throw errorFromBody(xhr.status, await xhr.response.text());
  return { blob: xhr.response, type: xhr.getResponseHeader('Content-Type') || '', header: (n) => xhr.getResponseHeader(n) };
}

// An image or file behind the Authorization header, as an object URL (revoke it when done).
export async function blobUrl(path, signal) {
  const res = await api(path, { raw: true, signal });
  return URL.createObjectURL(await res.blob());
}

export function photoPath(id, variant) {
  return `${API}/photos/${encodeURIComponent(id)}/variants/${variant}`;
}
