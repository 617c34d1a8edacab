/*! chatwidget transport: HTTP (fetch, XHR uploads) and the visitor socket with its
 * heartbeat and resume, cookie or bearer (docs/protocol.md).
 *
 * On the Django site the widget token lives in an HttpOnly cookie this code never sees.
 * On another origin (a cross-origin embed) there is no usable cookie: the token comes
 * from ping's body and stays in that origin's localStorage, sent as a bearer header and
 * as the socket's first `auth` frame, never in a URL.
 */
import { agentRead, agentTyping, applyUnread, conversationCreated, markRead, messageCreated, upsertConversation } from './chat.js';
import { contactUpdated, opBusy, refresh, serverLogin, serverLogout } from './identity.js';
import { ChatWidgetError, backoff, browserStore, fail, key, notify, sleep, state } from './state.js';

const MAX_RETRY_AFTER = 10; // seconds: a longer throttle reaches the page as onError

// Server event names, mirrored once from chatwidget/events.py (CATALOGUE).
const SERVER_EVENTS = {
  'message.created': (p) => messageCreated(p),
  'conversation.created': (p) => conversationCreated(p.conversation),
  'conversation.updated': (p) => upsertConversation(p.conversation),
  'unread': (p) => applyUnread(p, false),
  'typing': (p) => agentTyping(p),
  'read': (p) => agentRead(p),
  'login': (p) => serverLogin(p),
  'logout': () => serverLogout(),
  'contact.updated': (p) => contactUpdated(p.contact),
  'error': (p) => socketError(p),
  'resync': (p) => resync(p),
};

// Visitor socket close codes (docs/protocol.md).
const CLOSE_LOGOUT = 4001;
const CLOSE_LOGIN = 4002;
const CLOSE_UNAUTHORIZED = 4401;
const CLOSE_FORBIDDEN = 4403;
const CLOSE_RATE_LIMITED = 4408;

const SEND_TIMEOUT_MS = 8000;
const HEARTBEAT_MS = 25000;

// A cross-origin embed (the API on another origin) authenticates with a bearer token.
export const bearer = () => !!(state.config && state.config.bearer);

function authHeaders(headers, token) {
  if (bearer()) {
    token = token || browserStore.get(key('token'));
    if (token) headers.Authorization = 'Bearer ' + token;
  } else {
    headers['X-CSRFToken'] = state.csrf;
    // Each widget has its own cookie: the server needs to know which one this call is for.
    headers['X-Chatwidget-App'] = state.config.appId;
  }
  return headers;
}

export async function api(method, path, body, options) {
  options = options || {};
  const epoch = state.epoch;
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  authHeaders(headers, options.token);
  if (method === 'GET') delete headers['X-CSRFToken'];
  let response;
  try {
    response = await fetch(state.config.api + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: bearer() ? 'omit' : 'same-origin',
    });
  } catch (e) {
    throw new ChatWidgetError('network_error', 'The chat server could not be reached.', {});
  }
  const data = await response.json().catch(() => ({}));
  if (response.ok) return data;
  const error = toError(response.status, data);
  // Throttled: wait as long as the server says (a short wait only), then try again.
  const wait = Number(response.headers.get('Retry-After') || NaN);
  if (response.status === 429 && (options.throttled || 0) < 2 && !(wait > MAX_RETRY_AFTER)) {
    await sleep(wait >= 0 ? wait * 1000 : backoff(options.throttled || 0));
    return api(method, path, body, { ...options, throttled: (options.throttled || 0) + 1 });
  }
  // A stale token or CSRF token (a login elsewhere rotates both): ping, then retry once.
  if (!options.retried && !options.noRetry && (error.type === 'not_authenticated' || error.type === 'csrf_failed')) {
    await refresh();
    if (epoch !== state.epoch && options.sameIdentity) throw error;
    return api(method, path, body, { ...options, retried: true });
  }
  throw error;
}

function toError(status, data) {
  const e = (data && data.error) || {};
  return new ChatWidgetError(e.type || 'http_' + status, e.message || 'Request failed (' + status + ').', {
    status,
    fields: e.fields || {},
  });
}

// Multipart upload through XHR: fetch() has no upload progress events.
export function upload(path, form, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', state.config.api + path);
    for (const [name, value] of Object.entries(authHeaders({ Accept: 'application/json' }))) {
      xhr.setRequestHeader(name, value);
    }
    xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded / e.total);
    xhr.onerror = () => reject(new ChatWidgetError('network_error', 'The upload failed.', {}));
    xhr.onload = () => {
      let data = {};
      try { data = JSON.parse(xhr.responseText); } catch (e) { /* not JSON */ }
      if (xhr.status >= 200 && xhr.status < 300) resolve(data);
      else reject(toError(xhr.status, data));
    };
    xhr.send(form);
  });
}

export const socket = { ws: null, want: false, attempt: 0, timer: null, beat: null, lastFrame: 0, sends: new Map(), resuming: false, again: null };

function socketUrl() {
  const base = state.config.socket;
  const url = /^wss?:/.test(base) ? base : (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + base;
  // `after` makes the server replay what this tab missed right after it authenticates.
  return url + (url.includes('?') ? '&' : '?') + 'app_id=' + encodeURIComponent(state.config.appId) + '&after=' + state.lastId;
}

export function connect() {
  if (!state.contact || state.phase !== 'ready') return;
  socket.want = true;
  clearTimeout(socket.timer);
  if (socket.ws) return;
  let ws;
  try {
    ws = new WebSocket(socketUrl());
  } catch (e) {
    scheduleReconnect();
    return;
  }
  socket.ws = ws;
  socket.resuming = false;
  socket.again = null;
  setConnection(socket.attempt ? 'reconnecting' : 'connecting');
  ws.onopen = () => {
    socket.lastFrame = Date.now();
    // A bearer socket proves who it is in its first frame (never in the URL).
    if (bearer()) ws.send(JSON.stringify({ type: 'auth', token: state.token || browserStore.get(key('token')) || '' }));
    clearInterval(socket.beat);
    socket.beat = setInterval(heartbeat, HEARTBEAT_MS);
  };
  ws.onmessage = (e) => {
    if (ws !== socket.ws) return;
    socket.lastFrame = Date.now();
    let data;
    try { data = JSON.parse(e.data); } catch (err) { return; }
    socketFrame(data);
  };
  ws.onclose = (e) => {
    if (ws !== socket.ws) return;
    socket.ws = null;
    clearInterval(socket.beat);
    rejectSends();
    socketClosed(e.code);
  };
}

function rejectSends() {
  for (const pending of socket.sends.values()) pending.reject(new ChatWidgetError('disconnected', 'The socket closed.', {}));
  socket.sends.clear();
}

export function disconnect() {
  socket.want = false;
  clearTimeout(socket.timer);
  clearInterval(socket.beat);
  const ws = socket.ws;
  socket.ws = null;
  if (ws) ws.close(1000);
  rejectSends();
  setConnection('idle');
}

function socketClosed(code) {
  if (!socket.want) return;
  if (code === CLOSE_LOGOUT) return serverLogout();
  if (code === CLOSE_LOGIN) return serverLogin(null);
  if (code === CLOSE_FORBIDDEN) {
    socket.want = false;
    setConnection('offline');
    fail(new ChatWidgetError('forbidden', 'The chat server refused this page.', { code }));
    return;
  }
  if (code === CLOSE_RATE_LIMITED) socket.attempt += 3; // come back later, slower
  if (code === CLOSE_UNAUTHORIZED) {
    // Ping for a valid token (applyIdentity reconnects); back off if it keeps happening.
    setConnection('reconnecting');
    clearTimeout(socket.timer);
    socket.timer = setTimeout(() => refresh().catch(fail), socket.attempt ? backoff(socket.attempt) : 0);
    socket.attempt++;
    return;
  }
  scheduleReconnect();
}

function scheduleReconnect() {
  setConnection(navigator.onLine === false ? 'offline' : 'reconnecting');
  clearTimeout(socket.timer);
  socket.timer = setTimeout(connect, backoff(socket.attempt++));
}

export function reconnectNow() {
  if (socket.want && !socket.ws) {
    socket.attempt = 0;
    connect();
  }
}

function heartbeat() {
  if (!socket.ws) return;
  if (Date.now() - socket.lastFrame > 2 * HEARTBEAT_MS + 5000) socket.ws.close(4000); // half-open
  else frame({ type: 'ping' });
}

export function frame(data) {
  if (!socket.ws || socket.ws.readyState !== 1) return false;
  socket.ws.send(JSON.stringify(data));
  return true;
}

function socketFrame(data) {
  if (data.type === 'message.ack') {
    const pending = socket.sends.get(data.clientId);
    if (pending) pending.resolve(data.message);
  } else if (data.type === 'ready') {
    // The cookie is shared by every tab: if another tab changed it, catch up.
    if (state.contact && data.contactId !== state.contact.id && !opBusy) {
      disconnect();
      refresh().catch(fail);
    }
  } else if (data.type === 'pong') {
    // A live event lost on the way (a channel-layer restart): fetch it without reconnecting.
    if (data.lastId > state.lastId) resume(state.lastId);
  } else if (data.type === 'resume.done') {
    socket.attempt = 0;
    state.lastId = Math.max(state.lastId, data.lastId || 0);
    resumed(data.more && data.lastId);
    setConnection('open');
    markRead();
  } else if (Object.prototype.hasOwnProperty.call(SERVER_EVENTS, data.type)) {
    SERVER_EVENTS[data.type](data);
  }
}

export function setConnection(value) {
  if (state.connection === value) return;
  state.connection = value;
  notify('connection');
}

// The server may have dropped live events meant for this tab (it fell behind, or the
// channel layer reconnected). `after` is the last message it delivered before the gap;
// lastId may already be past the gap, so resume from the lower of the two. Messages
// replayed twice are dropped by id (storeMessage). Lost events that are not messages (a
// close, a read, unread counts) come back with a ping: it carries the conversations' state.
function resync(p) {
  resume(typeof p.after === 'number' ? Math.min(p.after, state.lastId) : state.lastId);
  refresh().catch(fail);
}

// One replay at a time (one per resync would multiply while the server is behind).
function resume(after) {
  if (socket.resuming) socket.again = Math.min(socket.again ?? after, after);
  else socket.resuming = frame({ type: 'resume', after });
}

function resumed(next) {
  const again = socket.again;
  socket.resuming = false;
  socket.again = null;
  if (again !== null) resume(again);
  else if (next) resume(next);
}

function socketError(payload) {
  const pending = payload.clientId && socket.sends.get(payload.clientId);
  const error = new ChatWidgetError(payload.code || 'error', payload.message || 'Error', { field: payload.field });
  if (!payload.clientId && socket.resuming) resumed(null);
  if (pending) pending.reject(error);
  else fail(error);
}

export function socketSend(conversationId, body, clientId) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(reject, new ChatWidgetError('timeout', 'No acknowledgement.', {})), SEND_TIMEOUT_MS);
    const done = (settle, value) => {
      clearTimeout(timer);
      socket.sends.delete(clientId);
      settle(value);
    };
    socket.sends.set(clientId, { resolve: (m) => done(resolve, m), reject: (e) => done(reject, e) });
    if (!frame({ type: 'message.send', conversationId, body, clientId })) {
      done(reject, new ChatWidgetError('disconnected', 'The socket is not open.', {}));
    }
  });
}
