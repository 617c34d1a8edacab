/*! chatwidget core: the headless SDK (docs/sdk.md "Module layout").
 *
 * Everything but drawing: state, HTTP, the socket and its resume, identity and tabs, the
 * event catalogue with its callbacks and listeners, the ready queue. It touches no DOM
 * element, so it runs (and is tested) without any UI; a UI subscribes to its changes
 * and calls its actions.
 *
 * Why it is built this way:
 * - On the Django site the widget token lives in an HttpOnly cookie this code never sees.
 *   On another origin (a cross-origin embed) there is no usable cookie: the token comes
 *   from ping's body and stays in that origin's localStorage, sent as a bearer header and
 *   as the socket's first `auth` frame.
 * - An identity change bumps an epoch: answers to requests started under the old identity
 *   are dropped, so a slow response can never bring a logged-out history back.
 * - Tabs share one identity. A BroadcastChannel per app_id carries logout, identity
 *   changes, unread counts and open state; the server's push on each tab's socket is the
 *   second path. Handlers compare against local state, so an event heard twice fires once.
 * - Every client event is emitted from exactly one function (announce*, below).
 */

// ------------------------------------------------------------------ catalogues

// THE client event catalogue: each event maps its listener response to the positional
// arguments of the `callbacks` given to load(). Listeners get (response, error).
export const EVENTS = {
  onReady: () => [],
  onChatOpened: () => [],
  onChatClosed: () => [],
  onNewConversation: (r) => [r.message, r.attachments],
  onConversationCreate: (r) => [r],
  onMessage: (r) => [r.message],
  onUnread: (r) => [r],
  onLogin: (r) => [r],
  onLogout: () => [],
  onError: (r) => [r],
};
const ALIASES = { onOpen: 'onChatOpened', onClose: 'onChatClosed' };

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
};

// Visitor socket close codes (docs/protocol.md).
const CLOSE_LOGOUT = 4001;
const CLOSE_LOGIN = 4002;
const CLOSE_UNAUTHORIZED = 4401;
const CLOSE_FORBIDDEN = 4403;
const CLOSE_RATE_LIMITED = 4408;

const SETTLE_MS = 2500; // how long a tab waits for the tab that changed the identity
const SEND_TIMEOUT_MS = 8000;
const HEARTBEAT_MS = 25000;

// ------------------------------------------------------------------ small helpers

export class ChatWidgetError extends Error {
  constructor(type, message, data) {
    super(message);
    this.name = 'ChatWidgetError';
    this.type = type;
    this.data = data || {};
  }
  toJSON() {
    return { type: this.type, message: this.message, data: this.data };
  }
}

const noop = () => {};
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const backoff = (attempt) => Math.min(30000, 500 * 2 ** attempt) * (0.5 + Math.random() / 2);

function uid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

const store = (area) => ({
  get(key) {
    try { return JSON.parse(globalThis[area].getItem(key)); } catch (e) { return null; }
  },
  set(key, value) {
    try { globalThis[area].setItem(key, JSON.stringify(value)); } catch (e) { /* private mode */ }
  },
  remove(key) {
    try { globalThis[area].removeItem(key); } catch (e) { /* private mode */ }
  },
});
const tabStore = store('sessionStorage'); // survives navigation within one tab
const browserStore = store('localStorage'); // shared by every tab of this origin

// ------------------------------------------------------------------ state

// Read by UIs; changed only here. subscribe() tells what changed.
export const state = {
  config: null,
  phase: 'idle', // idle → loading (→ consent) → ready
  epoch: 0,
  contact: null,
  widget: null,
  csrf: '',
  conversations: new Map(), // id → conversation
  messages: new Map(), // conversation id → [message] ordered by id
  seen: new Set(), // message ids already stored
  pending: [], // optimistic sends: {clientId, conversationId, body, files, failed}
  loaded: new Set(), // conversation ids whose history is loaded
  agentRead: {}, // conversation id → last id an agent has read
  readSent: {},
  lastId: 0, // the highest message id seen: the socket resumes after it
  baseId: 0, // the contact's last message id when pinged: nothing up to it is news
  unread: { total: 0, conversations: {} },
  currentId: null,
  view: 'thread',
  open: false,
  hidden: false,
  connection: 'idle',
  token: null, // a cross-origin embed's bearer token (never the cookie's)
  typing: null, // {conversationId, name} while an agent types
  upload: null, // fraction of the running upload
};
const callbacks = new Map();
const listeners = new Map();
const subscribers = new Set();
const openers = []; // what a UI must prepare before its window can show (a lazy module)
const readyQueue = [];
const identityWaiters = [];
const loggedOut = new Map(); // contact id → expiry: a late answer must not resurrect it
let defaults = {};
let readyPromise = null;
let resolveConsent = null;
let opChain = Promise.resolve();
let opBusy = 0;
let sendChain = Promise.resolve();
let refreshing = null;
let refreshAgain = false;
let settleTimer = null;
let typingTimer = null;

const canonical = (name) => ALIASES[name] || name;
const key = (suffix) => 'chatwidget:' + state.config.appId + ':' + suffix;

// ------------------------------------------------------------------ subscribers and events

/** fn(change, detail) after each state change; change names what to redraw:
 * 'boot', 'widget', 'open', 'view', 'unread', 'list', 'thread', 'connection', 'typing',
 * 'upload', 'reset'. Returns the unsubscribe function. */
export function subscribe(fn) {
  subscribers.add(fn);
  return () => subscribers.delete(fn);
}

/** fn() → Promise, awaited before open() opens the window: a UI loads what it lazily
 * needs there, so the window is complete when open() resolves and onChatOpened fires. */
export function beforeOpen(fn) {
  openers.push(fn);
}

const prepareOpen = () => Promise.all(openers.map((fn) => fn()));

function notify(change, detail) {
  for (const fn of [...subscribers]) call(fn, [change, detail]);
}

function call(fn, args) {
  try {
    fn.apply(null, args);
  } catch (error) {
    // A page's handler must not break the widget; still surface its error.
    setTimeout(() => { throw error; });
  }
}

function emit(name, response, error) {
  const args = EVENTS[name](response);
  for (const fn of callbacks.get(name) || []) call(fn, args);
  for (const fn of [...(listeners.get(name) || [])]) call(fn, [response, error]);
}

function fail(error) {
  if (!(error instanceof ChatWidgetError)) {
    error = new ChatWidgetError('error', String((error && error.message) || error));
  }
  if (!error.reported) {
    error.reported = true;
    emit('onError', error.toJSON(), error);
  }
  return error;
}

function addCallbacks(given) {
  for (const [name, fn] of Object.entries(given || {})) {
    const event = canonical(name);
    if (!EVENTS[event] || typeof fn !== 'function') continue;
    if (!callbacks.has(event)) callbacks.set(event, []);
    callbacks.get(event).push(fn);
  }
}

// The one place each identity event fires.
const announceLogout = () => emit('onLogout', {});
const announceLogin = (contact) => emit('onLogin', loginPayload(contact));

// ------------------------------------------------------------------ HTTP

// A cross-origin embed (the API on another origin) authenticates with a bearer token.
const bearer = () => !!(state.config && state.config.bearer);

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

async function api(method, path, body, options) {
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
function upload(path, form, onProgress) {
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

// ------------------------------------------------------------------ identity

// Every ping goes through here: a bearer client asks for its token in the body.
async function requestPing() {
  const body = { app_id: state.config.appId };
  if (bearer()) body.transport = 'bearer';
  const data = await api('POST', 'ping/', body, { noRetry: true });
  if (bearer() && data.token) keepToken(data.token);
  return data;
}

// A bearer token lives in this origin's localStorage, shared by its tabs; state.token is
// the one this tab last used, so a tab never drops a newer token another tab stored.
function keepToken(token) {
  state.token = token;
  browserStore.set(key('token'), token);
}

function dropToken() {
  if (bearer() && browserStore.get(key('token')) === state.token) browserStore.remove(key('token'));
}

async function ping() {
  const epoch = state.epoch;
  const data = await requestPing();
  if (epoch !== state.epoch) return false;
  const expiry = loggedOut.get(data.contact.id);
  if (expiry && expiry > Date.now()) {
    throw new ChatWidgetError('stale_identity', 'The server has not finished the logout yet.', {});
  }
  applyIdentity(data);
  return true;
}

// One ping at a time; asking again while one runs pings once more after it.
function refresh() {
  if (refreshing) {
    refreshAgain = true;
    return refreshing;
  }
  refreshing = (async () => {
    for (let attempt = 0; ; attempt++) {
      refreshAgain = false;
      try {
        await ping();
        if (!refreshAgain) return;
      } catch (error) {
        const status = error.data && error.data.status;
        if (status && status < 500 && error.type !== 'stale_identity') throw error;
        await sleep(backoff(attempt));
      }
    }
  })().finally(() => {
    refreshing = null;
  });
  return refreshing;
}

function loginPayload(contact) {
  return {
    identified: !!contact.identified,
    email: contact.email || null,
    externalId: contact.externalId || null,
    customerId: String(contact.id),
  };
}

function identityEvents(before, next) {
  if (!before || String(before.id) === String(next.id)) return;
  if (before.identified && !next.identified) announceLogout();
  if (next.identified) announceLogin(next);
}

function applyIdentity(data) {
  const before = state.contact;
  const next = data.contact;
  const switched = !before || before.id !== next.id;
  state.csrf = data.csrf_token || state.csrf;
  state.widget = data.widget || state.widget;
  if (switched) {
    // Answers to requests made as the previous contact must not land in this one.
    state.epoch++;
    disconnect();
    clearChat();
    state.lastId = state.baseId = data.last_message_id || 0;
  }
  state.contact = next;
  for (const c of data.conversations || []) upsertConversation(c, true);
  if (switched) {
    setUnread(data.unread);
    pickConversation();
  } else {
    applyUnread(data.unread, false);
  }
  const previous = tabStore.get(key('contact'));
  tabStore.set(key('contact'), { id: next.id, identified: !!next.identified });
  if (switched) {
    tabs.post({ t: 'identity', id: next.id });
    if (state.phase === 'ready') identityEvents(before, next);
    else state.bootBefore = previous;
  }
  while (identityWaiters.length) identityWaiters.shift()();
  notify('widget');
  notify(switched ? 'reset' : 'list');
  connect();
}

async function waitContact() {
  while (!state.contact) await new Promise((resolve) => identityWaiters.push(resolve));
}

// Resolves once the tab has a contact and no identity operation is running.
async function settled() {
  await opChain;
  await waitContact();
}

// identify and logout run one at a time, in call order.
function identityOp(fn) {
  const run = opChain.then(async () => {
    opBusy++;
    try {
      return await fn();
    } finally {
      opBusy--;
    }
  });
  opChain = run.catch(noop);
  return run;
}

function clearChat() {
  state.conversations.clear();
  state.messages.clear();
  state.seen.clear();
  state.pending = [];
  state.loaded.clear();
  state.agentRead = {};
  state.readSent = {};
  state.currentId = null;
  state.view = 'thread';
  stopAgentTyping();
}

// The synchronous half of every logout: nothing of the old identity survives it, and
// onLogout fires (here only).
function logoutLocally() {
  const before = state.contact;
  state.epoch++;
  disconnect();
  state.contact = null;
  clearChat();
  dropToken();
  const hadUnread = state.unread.total;
  setUnread(null);
  if (hadUnread) announceUnread(null);
  notify('reset');
  if (before) loggedOut.set(before.id, Date.now() + 15000);
  announceLogout();
  return before;
}

// Another tab (or the server) changed the identity: wait for that tab's word, then ping.
function awaitIdentity() {
  clearTimeout(settleTimer);
  settleTimer = setTimeout(() => refresh().catch(fail), SETTLE_MS);
}

function serverLogout() {
  if (!state.contact) return;
  const before = logoutLocally();
  loggedOut.delete(before.id); // the server already revoked the token
  awaitIdentity();
}

function serverLogin(payload) {
  if (opBusy) return; // this tab's identify() pings when it is done
  if (payload && state.contact && String(state.contact.id) === payload.customerId) return;
  disconnect();
  awaitIdentity();
}

function contactUpdated(contact) {
  if (contact && state.contact && contact.id === state.contact.id) state.contact = contact;
}

// ------------------------------------------------------------------ tabs

const tabs = {
  channel: null,
  open(appId) {
    if (!globalThis.BroadcastChannel) return;
    this.channel = new BroadcastChannel('chatwidget:' + appId);
    this.channel.onmessage = (e) => tabMessage(e.data || {});
  },
  post(message) {
    if (this.channel) this.channel.postMessage(message);
  },
};

function tabMessage(m) {
  if (state.phase !== 'ready') return;
  if (m.t === 'logout') {
    if (!state.contact || state.contact.id !== m.id) return;
    logoutLocally();
    awaitIdentity();
  } else if (m.t === 'identity') {
    loggedOut.clear();
    if (state.contact && state.contact.id === m.id) {
      clearTimeout(settleTimer);
      return;
    }
    if (opBusy) return;
    clearTimeout(settleTimer);
    refresh().catch(fail);
  } else if (m.t === 'unread' && state.contact && m.id === state.contact.id) {
    applyUnread(m.unread, true);
  } else if (m.t === 'open') {
    setOpen(m.open, { remote: true });
  }
}

// ------------------------------------------------------------------ socket

const socket = { ws: null, want: false, attempt: 0, timer: null, beat: null, lastFrame: 0, sends: new Map() };

function socketUrl() {
  const base = state.config.socket;
  const url = /^wss?:/.test(base) ? base : (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + base;
  // `after` makes the server replay what this tab missed right after it authenticates.
  return url + (url.includes('?') ? '&' : '?') + 'app_id=' + encodeURIComponent(state.config.appId) + '&after=' + state.lastId;
}

function connect() {
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

function disconnect() {
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

function reconnectNow() {
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

function frame(data) {
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
    if (data.lastId > state.lastId) frame({ type: 'resume', after: state.lastId });
  } else if (data.type === 'resume.done') {
    socket.attempt = 0;
    state.lastId = Math.max(state.lastId, data.lastId || 0);
    if (data.more) frame({ type: 'resume', after: state.lastId });
    setConnection('open');
    markRead();
  } else if (Object.prototype.hasOwnProperty.call(SERVER_EVENTS, data.type)) {
    SERVER_EVENTS[data.type](data);
  }
}

function setConnection(value) {
  if (state.connection === value) return;
  state.connection = value;
  notify('connection');
}

function socketError(payload) {
  const pending = payload.clientId && socket.sends.get(payload.clientId);
  const error = new ChatWidgetError(payload.code || 'error', payload.message || 'Error', { field: payload.field });
  if (pending) pending.reject(error);
  else fail(error);
}

function socketSend(conversationId, body, clientId) {
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

// ------------------------------------------------------------------ typing

function agentTyping(p) {
  if (!p.sender || p.sender.kind === 'contact' || p.conversationId !== state.currentId) return;
  clearTimeout(typingTimer);
  state.typing = p.typing ? { conversationId: p.conversationId, name: p.sender.name || '' } : null;
  if (p.typing) typingTimer = setTimeout(stopAgentTyping, 8000);
  notify('typing');
}

function stopAgentTyping() {
  clearTimeout(typingTimer);
  if (!state.typing) return;
  state.typing = null;
  notify('typing');
}

let typingSentAt = 0;
let typingStop = null;

/** The visitor is typing in the shown conversation (throttled typing frames). */
function visitorTyping() {
  const id = state.currentId;
  if (id == null) return;
  if (Date.now() - typingSentAt > 2500 && frame({ type: 'typing', conversationId: id, typing: true })) typingSentAt = Date.now();
  clearTimeout(typingStop);
  typingStop = setTimeout(() => visitorStoppedTyping(id), 3000);
}

function visitorStoppedTyping(id) {
  clearTimeout(typingStop);
  if (typingSentAt && id != null) frame({ type: 'typing', conversationId: id, typing: false });
  typingSentAt = 0;
}

// ------------------------------------------------------------------ conversations and messages

function upsertConversation(c, fromPing) {
  if (!c || c.conversationId == null) return;
  const known = state.conversations.get(c.conversationId) || {};
  state.conversations.set(c.conversationId, { ...known, ...c });
  if (!fromPing) notify('list');
}

function conversationCreated(c) {
  const isNew = !state.conversations.has(c.conversationId);
  upsertConversation(c, true);
  if (isNew) state.loaded.add(c.conversationId); // nothing was said in it before now
  if (state.currentId == null) state.currentId = c.conversationId;
  notify('list');
  notify('thread');
}

function pickConversation() {
  let best = null;
  for (const c of state.conversations.values()) {
    const at = c.lastMessageAt || c.updatedAt || c.createdAt || '';
    if (!best || at > (best.lastMessageAt || best.updatedAt || best.createdAt || '')) best = c;
  }
  state.currentId = best ? best.conversationId : null;
}

// Returns true when the message was new to this tab.
function storeMessage(m) {
  if (!m || m.id == null) return false;
  state.pending = state.pending.filter((p) => !m.clientId || p.clientId !== m.clientId);
  if (state.seen.has(m.id)) return false;
  state.seen.add(m.id);
  const list = state.messages.get(m.conversationId) || [];
  let i = list.length;
  while (i > 0 && list[i - 1].id > m.id) i--;
  list.splice(i, 0, m);
  state.messages.set(m.conversationId, list);
  const c = state.conversations.get(m.conversationId);
  if (c && (!c.lastMessage || c.lastMessage.id <= m.id)) {
    c.lastMessage = m;
    c.lastMessageAt = m.createdAt || c.lastMessageAt;
  }
  return true;
}

function messageCreated(p) {
  const m = p.message;
  state.lastId = Math.max(state.lastId, m.id || 0);
  if (!state.conversations.has(m.conversationId)) {
    upsertConversation({ conversationId: m.conversationId, lastMessageAt: m.createdAt, createdAt: m.createdAt }, true);
  }
  if (state.currentId == null) state.currentId = m.conversationId;
  const isNew = storeMessage(m);
  // A replay may repeat messages from before the ping (late-commit overlap): not news.
  if (isNew && m.sender && m.sender.kind !== 'contact' && m.id > state.baseId) {
    stopAgentTyping();
    emit('onMessage', { conversationId: m.conversationId, message: m });
  }
  notify('list');
  notify('thread');
  markRead();
}

/** Fetches a conversation's history once (the first time a UI shows it). */
async function loadHistory(conversationId) {
  if (conversationId == null || state.loaded.has(conversationId)) return;
  state.loaded.add(conversationId);
  const epoch = state.epoch;
  try {
    let after = 0;
    for (let page = 0; page < 40; page++) {
      const data = await api('GET', 'conversations/' + conversationId + '/messages/?after=' + after, undefined, { sameIdentity: true });
      if (epoch !== state.epoch) return;
      for (const m of data.results) {
        storeMessage(m);
        after = Math.max(after, m.id);
      }
      if (!data.has_more || !data.results.length) break;
    }
  } catch (error) {
    if (epoch === state.epoch) state.loaded.delete(conversationId);
    return;
  }
  notify('thread');
  markRead();
}

function setUnread(u) {
  state.unread = {
    total: (u && u.total) || 0,
    conversations: { ...((u && u.conversations) || {}) },
  };
  notify('unread');
}

const announceUnread = (change) => emit('onUnread', { total: state.unread.total, change });

function applyUnread(u, fromTab) {
  if (!u || !state.contact) return;
  const same = u.total === state.unread.total &&
    JSON.stringify(u.conversations || {}) === JSON.stringify(state.unread.conversations);
  if (same) return;
  const before = state.unread.conversations;
  setUnread(u);
  let change = u.change || null;
  if (!change) {
    const ids = new Set([...Object.keys(before), ...Object.keys(state.unread.conversations)]);
    for (const id of ids) {
      const count = state.unread.conversations[id] || 0;
      if ((before[id] || 0) !== count) change = { conversationId: Number(id), count };
    }
  }
  announceUnread(change);
  if (!fromTab) tabs.post({ t: 'unread', id: state.contact.id, unread: u });
  notify('list');
  markRead();
}

/** Marks the shown conversation read while the window shows it in a visible tab. */
function markRead() {
  const id = state.currentId;
  if (!state.open || state.view !== 'thread' || id == null || document.visibilityState === 'hidden') return;
  if (!state.unread.conversations[id]) return;
  const list = state.messages.get(id) || [];
  const lastReadId = list.length ? list[list.length - 1].id : undefined;
  if (lastReadId === undefined || state.readSent[id] === lastReadId) return;
  state.readSent[id] = lastReadId;
  if (!frame({ type: 'read', conversationId: id, lastReadId })) {
    api('POST', 'conversations/' + id + '/read/', { last_read_id: lastReadId }, { sameIdentity: true })
      .then((data) => applyUnread(data.unread, false), noop);
  }
}

function agentRead(p) {
  if (p.reader !== 'agent') return;
  state.agentRead[p.conversationId] = Math.max(state.agentRead[p.conversationId] || 0, p.lastReadId || 0);
  notify('thread');
}

// ------------------------------------------------------------------ sending

function publicAttachment(a) {
  return { name: a.name, url: a.url, size: a.size, content_type: a.content_type };
}

function setUpload(fraction) {
  state.upload = fraction;
  notify('upload');
}

async function deliver(item) {
  await settled();
  const epoch = state.epoch;
  const body = item.body;
  let conversation = null;
  let message = null;
  let conversationId = item.conversationId != null ? item.conversationId : state.currentId;
  if (conversationId != null && !state.conversations.has(conversationId)) conversationId = null;
  if (conversationId == null) {
    const data = await api('POST', 'conversations/', item.files.length ? {} : { body, client_id: item.clientId }, { sameIdentity: true });
    conversation = data.conversation;
    message = data.message;
    conversationId = conversation.conversationId;
    item.conversationId = conversationId;
    if (epoch === state.epoch) {
      conversationCreated(conversation);
      state.currentId = conversationId;
      emit('onConversationCreate', {
        conversationId: conversation.conversationId,
        createdAt: conversation.createdAt,
        ended: !!conversation.ended,
        isInAssistantMode: !!conversation.isInAssistantMode,
      });
    }
  }
  const path = 'conversations/' + conversationId + '/messages/';
  if (!message && item.files.length) {
    const form = new FormData();
    form.append('body', body);
    form.append('client_id', item.clientId);
    for (const file of item.files) form.append('files', file, file.name || 'file');
    setUpload(0);
    try {
      message = (await upload(path, form, setUpload)).message;
    } finally {
      setUpload(null);
    }
  } else if (!message) {
    try {
      message = await socketSend(conversationId, body, item.clientId);
    } catch (error) {
      if (error.type !== 'disconnected' && error.type !== 'timeout') throw error;
      // client_id makes the retry idempotent: an acknowledged-but-lost send is not doubled.
      message = (await api('POST', path, { body, client_id: item.clientId }, { sameIdentity: true })).message;
    }
  }
  // Stored is stored: resolve even if the identity changed meanwhile, but keep the
  // message out of the new identity's thread.
  if (epoch !== state.epoch) return message;
  storeMessage(message);
  if (conversation) {
    emit('onNewConversation', { message: message.body, attachments: (message.attachments || []).map(publicAttachment) });
  }
  notify('list');
  notify('thread');
  return message;
}

function queueSend(item) {
  state.pending.push(item);
  notify('thread');
  const run = sendChain.then(() => deliver(item));
  sendChain = run.catch(noop);
  return run.catch((error) => {
    item.failed = state.pending.includes(item);
    notify('thread');
    throw fail(error);
  });
}

// ------------------------------------------------------------------ open state and views

function setOpen(open, how) {
  open = !!open;
  if (open === state.open) return;
  state.open = open;
  tabStore.set(key('open'), open);
  if (!how.remote) tabs.post({ t: 'open', open });
  notify('open', how);
  markRead();
  emit(open ? 'onChatOpened' : 'onChatClosed', null);
}

function setHidden(hidden) {
  state.hidden = hidden;
  notify('open', {});
}

/** What a UI calls: the visitor's own actions (the SDK methods are the page's). */
export const actions = {
  open: () => prepareOpen().then(() => { state.hidden = false; setOpen(true, { focus: true }); }),
  close: () => setOpen(false, { focus: true }),
  send(body, files) {
    if (!body.trim() && !files.length) return;
    if (state.currentId != null) visitorStoppedTyping(state.currentId);
    queueSend({ clientId: uid(), conversationId: state.currentId, body, files, failed: false }).catch(noop);
  },
  retry(item) {
    state.pending = state.pending.filter((p) => p !== item);
    item.failed = false;
    queueSend(item).catch(noop);
  },
  typing: visitorTyping,
  showList() {
    state.view = 'list';
    notify('view');
  },
  showConversation(id) {
    state.currentId = id;
    state.view = 'thread';
    stopAgentTyping();
    notify('view');
    markRead();
  },
  startNew() {
    state.currentId = null;
    state.view = 'thread';
    notify('view');
  },
  loadHistory,
  markRead,
  consent: (granted) => sdk.consent(granted),
};

// ------------------------------------------------------------------ public API

function whenReady(fn) {
  if (state.phase === 'ready') {
    try {
      return Promise.resolve(fn());
    } catch (error) {
      return Promise.reject(error);
    }
  }
  return new Promise((resolve, reject) => readyQueue.push([fn, resolve, reject]));
}

function rejectWith(type, message) {
  return Promise.reject(fail(new ChatWidgetError(type, message, {})));
}

/** Defaults from the page (the template tag's data-* and json_script): load() options win. */
export function configureDefaults(values) {
  defaults = { ...defaults, ...values };
}

function configure(options) {
  const d = defaults;
  const api = options.api || d.api || '/chatwidget/api/';
  const apiOrigin = new URL(api, location.href).origin;
  let socketPath = options.socket || d.socket || '/ws/chatwidget/';
  if (apiOrigin !== location.origin && !/^wss?:/.test(socketPath)) {
    socketPath = apiOrigin.replace(/^http/, 'ws') + socketPath;
  }
  return {
    appId: options.app_id || d.appId || 'default',
    api,
    socket: socketPath,
    // The API on another origin: no cookie can authenticate, a bearer token does.
    bearer: apiOrigin !== location.origin,
    css: options.css || d.css || new URL('chatwidget.css', import.meta.url).href,
    nonce: d.nonce || '',
    strings: { ...(d.strings || {}), ...(options.strings || {}) },
    locale: options.locale || d.locale || document.documentElement.lang || navigator.language || 'en',
    requireConsent: 'require_consent' in options ? !!options.require_consent : !!d.requireConsent,
    consentOnOpen: 'consent_on_open' in options ? !!options.consent_on_open : d.consentOnOpen !== false,
  };
}

export const sdk = {
  version: '1.1.0',

  load(options) {
    options = options || {};
    addCallbacks(options.callbacks);
    if (readyPromise) return readyPromise;
    state.config = configure(options);
    state.phase = 'loading';
    tabs.open(state.config.appId);
    readyPromise = boot();
    return readyPromise;
  },

  /** With consent required: true lets the widget store its token and connect. */
  consent(granted) {
    if (!state.config) return Promise.reject(new ChatWidgetError('invalid', 'Call load() first.', {}));
    if (!granted) {
      browserStore.remove(key('consent'));
      return Promise.resolve(false);
    }
    browserStore.set(key('consent'), true);
    if (resolveConsent) resolveConsent();
    return readyPromise.then(() => true);
  },

  identify(externalId, attributes, options) {
    if (options === undefined && attributes && typeof attributes === 'object' && 'userHash' in attributes) {
      options = attributes;
      attributes = undefined;
    }
    options = options || {};
    return whenReady(() => {
      if (typeof externalId !== 'string' || !externalId) {
        return rejectWith('invalid', 'identify() needs a non-empty externalId string.');
      }
      return identityOp(async () => {
        await waitContact();
        const before = state.contact;
        const epoch = state.epoch;
        let data;
        try {
          data = await api('POST', 'identify/', {
            external_id: externalId,
            user_hash: options.userHash || '',
            attributes: attributes || {},
            email: options.email || undefined,
            name: options.name || undefined,
          }, { noRetry: true });
        } catch (error) {
          throw fail(error);
        }
        if (epoch !== state.epoch) throw fail(new ChatWidgetError('logged_out', 'logout() ran while identify() was pending.', {}));
        if (bearer() && data.token) keepToken(data.token);
        if (String(before.id) !== data.login.customerId) {
          // The server rotated the token: the old sockets are dead; ping as the new contact.
          disconnect();
          await refresh();
        } else {
          state.contact = data.contact;
        }
        return data.login;
      });
    });
  },

  setAttributes(attributes) {
    return whenReady(async () => {
      await settled();
      try {
        const data = await api('POST', 'attributes/', { attributes: attributes || {} }, { sameIdentity: true });
        contactUpdated(data.contact);
        return data.contact;
      } catch (error) {
        throw fail(error);
      }
    });
  },

  logout() {
    return whenReady(() => {
      // A bearer token is dropped from storage at once: keep it for the revoke call.
      const token = bearer() ? state.token : null;
      const before = logoutLocally();
      const id = before ? before.id : null;
      browserStore.set(key('logout'), id);
      tabs.post({ t: 'logout', id });
      return identityOp(() => finishLogout(id, token));
    }).catch((error) => ({ error: fail(error).toJSON() })); // settles, never rejects
  },

  open() {
    return whenReady(async () => {
      await prepareOpen();
      state.hidden = false;
      setOpen(true, {});
    });
  },

  close() {
    return whenReady(() => setOpen(false, {}));
  },

  show() {
    return whenReady(() => setHidden(false));
  },

  hide() {
    return whenReady(() => {
      setOpen(false, {});
      setHidden(true);
    });
  },

  isOpen() {
    return state.open;
  },

  sendMessage(text, options) {
    const files = Array.from((options && options.attachments) || []);
    return whenReady(() => {
      const body = text == null ? '' : String(text);
      if (!body.trim() && !files.length) return rejectWith('invalid', 'sendMessage() needs text or attachments.');
      return queueSend({ clientId: uid(), conversationId: null, body, files, failed: false });
    });
  },

  describeConversation(params, callback) {
    params = params || {};
    const promise = whenReady(async () => {
      await settled();
      try {
        const data = await api('POST', 'conversations/' + encodeURIComponent(params.conversationId) + '/describe/', {
          custom_attributes: params.customAttributes || {},
        }, { sameIdentity: true });
        upsertConversation(data.conversation);
        return data.conversation;
      } catch (error) {
        throw fail(error);
      }
    });
    if (typeof callback === 'function') {
      // The callback is the caller's error handler: no unhandled-rejection noise for it.
      promise.then((response) => call(callback, [response, undefined]), (error) => call(callback, [null, error]));
    }
    return promise;
  },

  getUnreadCount() {
    return { total: state.unread.total, conversations: { ...state.unread.conversations } };
  },

  addListener(event, fn) {
    event = canonical(event);
    if (!EVENTS[event] || typeof fn !== 'function') return;
    if (!listeners.has(event)) listeners.set(event, []);
    const list = listeners.get(event);
    if (!list.includes(fn)) list.push(fn);
  },

  removeListener(event, fn) {
    const list = listeners.get(canonical(event));
    const i = list ? list.indexOf(fn) : -1;
    if (i >= 0) list.splice(i, 1);
  },
};

async function finishLogout(id, token) {
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        await api('POST', 'logout/', {}, { noRetry: true, token });
        break;
      } catch (error) {
        const status = error.data && error.data.status;
        if (status === 401) break; // no token left to revoke
        if ((status && status < 500) || attempt === 2) throw error;
        await sleep(backoff(attempt));
      }
    }
    browserStore.remove(key('logout'));
    if (id != null) loggedOut.delete(id);
    await refresh();
    return {};
  } catch (error) {
    return { error: fail(error).toJSON() };
  }
}

// ------------------------------------------------------------------ boot

// Consent-first (CHATWIDGET["REQUIRE_CONSENT"]): no ping (so no cookie or token) and no
// socket until the page or the visitor says yes.
function awaitConsent() {
  if (!state.config.requireConsent || browserStore.get(key('consent'))) return null;
  state.phase = 'consent';
  notify('boot');
  return new Promise((resolve) => { resolveConsent = resolve; });
}

async function boot() {
  const consent = awaitConsent();
  if (consent) {
    await consent;
    resolveConsent = null;
    state.phase = 'loading';
  }
  for (let attempt = 0; ; attempt++) {
    try {
      const data = await requestPing();
      state.csrf = data.csrf_token;
      const pendingLogout = browserStore.get(key('logout'));
      if (pendingLogout !== null && pendingLogout !== undefined) {
        // A logout() whose request never reached the server (tab closed): finish it first.
        if (pendingLogout === data.contact.id) {
          await api('POST', 'logout/', {}, { noRetry: true }).catch(noop);
          dropToken();
        }
        browserStore.remove(key('logout'));
        continue;
      }
      applyIdentity(data);
      break;
    } catch (error) {
      const status = error.data && error.data.status;
      if (attempt === 0 || (status && status < 500)) fail(error);
      if (status && status < 500) {
        state.phase = 'idle';
        for (const [, , reject] of readyQueue.splice(0)) reject(error);
        readyPromise = null;
        throw error;
      }
      await sleep(backoff(attempt));
    }
  }
  state.phase = 'ready';
  notify('boot');
  const contact = state.contact;
  connect();
  emit('onReady', { contact });
  identityEvents(state.bootBefore, contact);
  if (tabStore.get(key('open'))) setOpen(true, { remote: true });
  for (const [fn, resolve, reject] of readyQueue.splice(0)) {
    try {
      Promise.resolve(fn()).then(resolve, reject);
    } catch (error) {
      reject(error);
    }
  }
  return { contact };
}

globalThis.addEventListener('online', reconnectNow);
globalThis.addEventListener('offline', () => socket.want && !socket.ws && setConnection('offline'));
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState !== 'visible') return;
  reconnectNow();
  markRead();
});
