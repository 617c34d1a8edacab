/*! chatwidget: the JavaScript SDK and visitor widget (docs/sdk.md).
 *
 * Why it is built this way:
 * - One global, window.chatwidget. Every call made before the widget is ready (even
 *   before this file has loaded, through the documented queue stub) is queued and
 *   replayed in order, never dropped.
 * - The widget token lives in an HttpOnly cookie the server manages; this script never
 *   sees it. It keeps only the contact's public fields and the CSRF token from ping.
 * - An identity change (identify, logout, a site login or logout in any tab) bumps an
 *   epoch: answers to requests started under the old identity are dropped, so a slow
 *   response can never bring a logged-out history back.
 * - Tabs of one browser share one identity. A BroadcastChannel per app_id carries
 *   logout, identity changes, unread counts and open state at once; the server's push
 *   on each tab's socket is the second path. Handlers compare against local state, so
 *   an event heard on both paths still fires once.
 * - The UI lives in a Shadow DOM so host CSS cannot break it, and every piece of data
 *   (bodies, names, file names) is inserted with textContent / text nodes; only http(s)
 *   URLs ever become links.
 * Plain modern JavaScript: no build step, no dependencies.
 */
(function () {
  'use strict';
  if (window.chatwidget && window.chatwidget.version) return; // included twice: keep the first

  // ------------------------------------------------------------------ catalogues

  // THE client event catalogue: each event maps its listener response to the positional
  // arguments of the `callbacks` given to load(). Listeners get (response, error).
  // New features add rows here; dispatch does not change.
  const EVENTS = {
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
    'typing': (p) => showTyping(p),
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

  const STRINGS = {
    title: 'Support',
    open: 'Open chat',
    close: 'Close chat',
    unread: '{n} unread',
    message: 'Message',
    placeholder: 'Write a message…',
    send: 'Send',
    attach: 'Attach files',
    remove: 'Remove {name}',
    back: 'All conversations',
    conversations: 'Conversations',
    newConversation: 'New conversation',
    empty: 'No conversations yet.',
    messages: 'Messages',
    connecting: 'Connecting…',
    reconnecting: 'Reconnecting…',
    offline: 'Offline. Messages are sent when the connection returns.',
    typing: '{name} is typing…',
    agent: 'Support',
    sending: 'Sending…',
    failed: 'Not sent.',
    retry: 'Retry',
    seen: 'Seen',
    drop: 'Drop files to attach',
    uploading: 'Uploading',
  };

  const SETTLE_MS = 2500; // how long a tab waits for the tab that changed the identity
  const SEND_TIMEOUT_MS = 8000;
  const HEARTBEAT_MS = 25000;

  // ------------------------------------------------------------------ small helpers

  class ChatWidgetError extends Error {
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
  const format = (text, values) => text.replace(/\{(\w+)\}/g, (m, k) => (k in values ? values[k] : m));

  function uid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  }

  function safeUrl(value) {
    try {
      const url = new URL(value, location.href);
      return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : null;
    } catch (e) {
      return null;
    }
  }

  const store = (area) => ({
    get(key) {
      try { return JSON.parse(window[area].getItem(key)); } catch (e) { return null; }
    },
    set(key, value) {
      try { window[area].setItem(key, JSON.stringify(value)); } catch (e) { /* private mode */ }
    },
    remove(key) {
      try { window[area].removeItem(key); } catch (e) { /* private mode */ }
    },
  });
  const tabStore = store('sessionStorage'); // survives navigation within one tab
  const browserStore = store('localStorage'); // shared by every tab

  // ------------------------------------------------------------------ state

  const state = {
    config: null,
    phase: 'idle', // idle → loading → ready
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
  };
  const callbacks = new Map();
  const listeners = new Map();
  const readyQueue = [];
  const identityWaiters = [];
  const loggedOut = new Map(); // contact id → expiry: a late answer must not resurrect it
  let readyPromise = null;
  let opChain = Promise.resolve();
  let opBusy = 0;
  let sendChain = Promise.resolve();
  let refreshing = null;
  let refreshAgain = false;
  let settleTimer = null;

  const canonical = (name) => ALIASES[name] || name;
  const key = (suffix) => 'chatwidget:' + state.config.appId + ':' + suffix;

  // ------------------------------------------------------------------ events

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

  // ------------------------------------------------------------------ HTTP

  async function api(method, path, body, options) {
    options = options || {};
    const epoch = state.epoch;
    // Each widget has its own cookie: the server needs to know which one this call is for.
    const headers = { Accept: 'application/json', 'X-Chatwidget-App': state.config.appId };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (method !== 'GET') headers['X-CSRFToken'] = state.csrf;
    let response;
    try {
      response = await fetch(state.config.api + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: 'same-origin',
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
      xhr.setRequestHeader('X-CSRFToken', state.csrf);
      xhr.setRequestHeader('Accept', 'application/json');
      xhr.setRequestHeader('X-Chatwidget-App', state.config.appId);
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

  // The page and its title go to the agents' contact panel.
  function pingBody() {
    return { app_id: state.config.appId, page_url: location.href, page_title: document.title };
  }

  async function ping() {
    const epoch = state.epoch;
    const data = await api('POST', 'ping/', pingBody(), { noRetry: true });
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
    if (before.identified && !next.identified) emit('onLogout', {});
    if (next.identified) emit('onLogin', loginPayload(next));
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
    render();
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
    hideTyping();
  }

  // The synchronous half of every logout: nothing of the old identity survives it.
  function resetLocal() {
    const before = state.contact;
    state.epoch++;
    disconnect();
    state.contact = null;
    clearChat();
    // render() skips a closed window's thread: empty it here, or the previous identity's
    // messages would stay in the DOM (and reappear on open) after the logout.
    if (ui.log) ui.log.replaceChildren();
    if (ui.list) ui.list.replaceChildren();
    const hadUnread = state.unread.total;
    setUnread(null);
    if (hadUnread) emit('onUnread', { total: 0, change: null });
    render();
    if (before) loggedOut.set(before.id, Date.now() + 15000);
    return before;
  }

  // Another tab (or the server) changed the identity: wait for that tab's word, then ping.
  function awaitIdentity() {
    clearTimeout(settleTimer);
    settleTimer = setTimeout(() => refresh().catch(fail), SETTLE_MS);
  }

  function serverLogout() {
    if (!state.contact) return;
    const before = resetLocal();
    loggedOut.delete(before.id); // the server already revoked the token
    emit('onLogout', {});
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
      if (!window.BroadcastChannel) return;
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
      resetLocal();
      emit('onLogout', {});
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
      for (const pending of socket.sends.values()) pending.reject(new ChatWidgetError('disconnected', 'The socket closed.', {}));
      socket.sends.clear();
      socketClosed(e.code);
    };
  }

  function disconnect() {
    socket.want = false;
    clearTimeout(socket.timer);
    clearInterval(socket.beat);
    const ws = socket.ws;
    socket.ws = null;
    if (ws) ws.close(1000);
    for (const pending of socket.sends.values()) pending.reject(new ChatWidgetError('disconnected', 'The socket closed.', {}));
    socket.sends.clear();
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

  // The server may have dropped live events meant for this tab (it fell behind, or the
  // channel layer reconnected). `after` is the last message it delivered before the gap;
  // lastId may already be past the gap, so resume from the lower of the two. Messages
  // replayed twice are dropped by id (storeMessage).
  function resync(p) {
    const after = typeof p.after === 'number' ? Math.min(p.after, state.lastId) : state.lastId;
    frame({ type: 'resume', after });
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

  // ------------------------------------------------------------------ conversations and messages

  function upsertConversation(c, fromPing) {
    if (!c || c.conversationId == null) return;
    const known = state.conversations.get(c.conversationId) || {};
    state.conversations.set(c.conversationId, { ...known, ...c });
    if (!fromPing) render();
  }

  function conversationCreated(c) {
    const isNew = !state.conversations.has(c.conversationId);
    upsertConversation(c, true);
    if (isNew) state.loaded.add(c.conversationId); // nothing was said in it before now
    if (state.currentId == null) state.currentId = c.conversationId;
    render();
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
    if (!storeMessage(m)) return render();
    // A replay may repeat messages from before the ping (late-commit overlap): not news.
    if (m.sender && m.sender.kind !== 'contact' && m.id > state.baseId) {
      hideTyping();
      emit('onMessage', { conversationId: m.conversationId, message: m });
    }
    render();
  }

  async function loadHistory(conversationId) {
    if (state.loaded.has(conversationId)) return;
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
    render();
  }

  function setUnread(u) {
    state.unread = {
      total: (u && u.total) || 0,
      conversations: { ...((u && u.conversations) || {}) },
    };
    renderLauncher();
  }

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
    emit('onUnread', { total: state.unread.total, change });
    if (!fromTab) tabs.post({ t: 'unread', id: state.contact.id, unread: u });
    renderList();
    markRead();
  }

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
    renderThread();
  }

  // ------------------------------------------------------------------ sending

  function publicAttachment(a) {
    return { name: a.name, url: a.url, size: a.size, content_type: a.content_type };
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
      progress(0);
      try {
        message = (await upload(path, form, progress)).message;
      } finally {
        progress(null);
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
    render();
    return message;
  }

  function queueSend(item) {
    state.pending.push(item);
    render();
    const run = sendChain.then(() => deliver(item));
    sendChain = run.catch(noop);
    return run.catch((error) => {
      item.failed = state.pending.includes(item);
      render();
      throw fail(error);
    });
  }

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

  const sdk = {
    version: '1.0.0',

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
        const before = resetLocal();
        const id = before ? before.id : null;
        browserStore.set(key('logout'), id);
        tabs.post({ t: 'logout', id });
        emit('onLogout', {});
        return identityOp(() => finishLogout(id));
      }).catch((error) => ({ error: fail(error).toJSON() })); // settles, never rejects
    },

    open() {
      return whenReady(() => {
        state.hidden = false;
        setOpen(true, {});
      });
    },

    close() {
      return whenReady(() => setOpen(false, {}));
    },

    show() {
      return whenReady(() => {
        state.hidden = false;
        renderOpen();
      });
    },

    hide() {
      return whenReady(() => {
        setOpen(false, {});
        state.hidden = true;
        renderOpen();
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

  async function finishLogout(id) {
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          await api('POST', 'logout/', {}, { noRetry: true });
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

  function scriptElement() {
    return document.currentScript || document.querySelector('script[data-chatwidget]');
  }

  const script = scriptElement();

  function configure(options) {
    const data = (script && script.dataset) || {};
    let extra = {};
    const configEl = data.config && document.getElementById(data.config);
    if (configEl) {
      try { extra = JSON.parse(configEl.textContent) || {}; } catch (e) { extra = {}; }
    }
    const src = script && script.src ? script.src : '';
    return {
      appId: options.app_id || data.appId || extra.app_id || 'default',
      api: options.api || data.api || '/chatwidget/api/',
      socket: options.socket || data.socket || '/ws/chatwidget/',
      css: options.css || data.css || (src ? src.replace(/\.js(\?.*)?$/, '.css$1') : '/static/chatwidget/chatwidget.css'),
      nonce: (script && script.nonce) || '',
      strings: { ...STRINGS, ...(extra.strings || {}), ...(options.strings || {}) },
    };
  }

  async function boot() {
    for (let attempt = 0; ; attempt++) {
      try {
        const data = await api('POST', 'ping/', pingBody(), { noRetry: true });
        state.csrf = data.csrf_token;
        const pendingLogout = browserStore.get(key('logout'));
        if (pendingLogout !== null && pendingLogout !== undefined) {
          // A logout() whose request never reached the server (tab closed): finish it first.
          if (pendingLogout === data.contact.id) await api('POST', 'logout/', {}, { noRetry: true }).catch(noop);
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
    buildUI();
    state.phase = 'ready';
    const contact = state.contact;
    render();
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

  // ------------------------------------------------------------------ UI

  const ui = {};
  const SVG = 'http://www.w3.org/2000/svg';
  const ICONS = {
    chat: 'M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z',
    close: 'M6 6l12 12M18 6L6 18',
    back: 'M15 5l-7 7 7 7',
    send: 'M3 20l18-8L3 4v6l12 2-12 2z',
    clip: 'M16 7l-7.5 7.5a2 2 0 0 0 2.8 2.8L19 9.6a4 4 0 0 0-5.7-5.7l-7.8 7.8a6 6 0 0 0 8.5 8.5L20 14',
  };

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (name === 'text') node.textContent = value;
      else if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
      else if (value === true) node.setAttribute(name, '');
      else if (value !== false && value != null) node.setAttribute(name, value);
    }
    for (const child of children || []) if (child) node.append(child);
    return node;
  }

  function icon(name) {
    const svg = document.createElementNS(SVG, 'svg');
    svg.setAttribute('viewBox', '0 0 24 24');
    svg.setAttribute('aria-hidden', 'true');
    const path = document.createElementNS(SVG, 'path');
    path.setAttribute('d', ICONS[name]);
    svg.append(path);
    return svg;
  }

  const t = (name, values) => format(state.config.strings[name] || STRINGS[name] || name, values || {});

  const button = (cls, label, onclick, children) =>
    el('button', { type: 'button', class: cls, 'aria-label': label, onclick }, children);

  function buildUI() {
    if (ui.host) return;
    const host = document.createElement('chatwidget-root');
    // Inline !important beats any host stylesheet rule aimed at the host element.
    const hostStyle = { position: 'fixed', 'z-index': '2147483000', right: '0', bottom: '0',
      width: '0', height: '0', display: 'block', visibility: 'hidden' };
    for (const [prop, value] of Object.entries(hostStyle)) host.style.setProperty(prop, value, 'important');
    const root = host.attachShadow({ mode: 'open' });
    const link = el('link', { rel: 'stylesheet', href: state.config.css, nonce: state.config.nonce || null });
    const reveal = () => host.style.setProperty('visibility', 'visible', 'important');
    link.addEventListener('load', reveal);
    link.addEventListener('error', reveal);
    setTimeout(reveal, 3000);

    ui.title = el('h2', { class: 'cw-title', id: 'cw-title' });
    ui.status = el('p', { class: 'cw-status', role: 'status' });
    ui.back = button('cw-icon cw-back', t('back'), () => showList(true), [icon('back')]);
    ui.closeBtn = button('cw-icon', t('close'), () => userClose(), [icon('close')]);
    const titles = el('div', { class: 'cw-titles' }, [ui.title, ui.status]);
    const header = el('header', { class: 'cw-header' }, [ui.back, titles, ui.closeBtn]);

    ui.list = el('ul', { class: 'cw-list', 'aria-label': t('conversations') });
    ui.newBtn = el('button', { type: 'button', class: 'cw-new', text: t('newConversation'), onclick: startNew });
    ui.listView = el('div', { class: 'cw-listview', hidden: true }, [ui.newBtn, ui.list]);

    ui.log = el('ol', { class: 'cw-log', role: 'log', 'aria-live': 'polite', 'aria-label': t('messages'), tabindex: '0' });
    ui.typing = el('p', { class: 'cw-typing', 'aria-live': 'polite' });

    ui.input = el('textarea', {
      class: 'cw-input', rows: '1', 'aria-label': t('message'), placeholder: t('placeholder'),
      onkeydown: composerKey, oninput: composerInput,
    });
    // The real file input stays out of the tab order; the attach button opens it.
    ui.fileInput = el('input', {
      type: 'file', multiple: true, class: 'cw-file', tabindex: '-1', 'aria-hidden': 'true',
      onchange: () => { addFiles(ui.fileInput.files); ui.fileInput.value = ''; },
    });
    ui.attach = button('cw-icon cw-attach', t('attach'), () => ui.fileInput.click(), [icon('clip')]);
    ui.sendBtn = el('button', { type: 'submit', class: 'cw-icon cw-send', 'aria-label': t('send') }, [icon('send')]);
    ui.files = el('ul', { class: 'cw-files', 'aria-label': t('attach') });
    ui.bar = el('div', { class: 'cw-bar' });
    ui.progress = el('div', {
      class: 'cw-progress', role: 'progressbar', 'aria-label': t('uploading'),
      'aria-valuemin': '0', 'aria-valuemax': '100', hidden: true,
    }, [ui.bar]);
    const row = el('div', { class: 'cw-row' }, [ui.attach, ui.fileInput, ui.input, ui.sendBtn]);
    ui.composer = el('form', { class: 'cw-composer', onsubmit: composerSubmit }, [ui.files, ui.progress, row]);
    ui.threadView = el('div', { class: 'cw-threadview' }, [ui.log, ui.typing, ui.composer]);
    ui.drop = el('div', { class: 'cw-drop', hidden: true, text: t('drop') });

    ui.win = el('section', {
      class: 'cw-window', id: 'cw-window', role: 'dialog', 'aria-labelledby': 'cw-title',
      hidden: true, onkeydown: windowKey,
    }, [header, ui.listView, ui.threadView, ui.drop]);
    for (const type of ['dragenter', 'dragover']) ui.win.addEventListener(type, dragOver);
    ui.win.addEventListener('dragleave', (e) => { if (!ui.win.contains(e.relatedTarget)) ui.drop.hidden = true; });
    ui.win.addEventListener('drop', dropFiles);

    ui.badge = el('span', { class: 'cw-badge', hidden: true, 'aria-hidden': 'true' });
    ui.launcher = el('button', {
      type: 'button', class: 'cw-launcher', 'aria-expanded': 'false', 'aria-controls': 'cw-window',
      onclick: () => (state.open ? userClose() : userOpen()),
    }, [icon('chat'), ui.badge]);
    ui.wrap = el('div', { class: 'cw' }, [ui.win, ui.launcher]);
    root.append(link, ui.wrap);
    ui.host = host;
    ui.root = root;
    ui.pendingFiles = [];
    (document.body || document.documentElement).append(host);
  }

  function render() {
    if (!ui.host) return;
    const w = state.widget || {};
    ui.title.textContent = w.name || t('title');
    if (/^#[0-9a-f]{3,8}$/i.test(w.color || '')) ui.host.style.setProperty('--cw-accent', w.color);
    renderOpen();
    renderLauncher();
    renderList();
    renderThread();
    markRead();
  }

  function renderOpen() {
    if (!ui.host) return;
    ui.win.hidden = !state.open;
    ui.wrap.hidden = state.hidden;
    ui.launcher.setAttribute('aria-expanded', String(state.open));
    ui.launcher.classList.toggle('cw-active', state.open);
    const list = state.view === 'list';
    ui.listView.hidden = !list;
    ui.threadView.hidden = list;
    ui.back.hidden = list || state.conversations.size === 0;
  }

  function renderLauncher() {
    if (!ui.host) return;
    const n = state.unread.total;
    ui.badge.textContent = n > 99 ? '99+' : String(n);
    ui.badge.hidden = !n;
    ui.launcher.setAttribute('aria-label', (state.open ? t('close') : t('open')) + (n ? ', ' + t('unread', { n }) : ''));
  }

  function renderList() {
    if (!ui.host || state.view !== 'list') return;
    const items = [...state.conversations.values()].sort((a, b) =>
      (b.lastMessageAt || b.createdAt || '').localeCompare(a.lastMessageAt || a.createdAt || ''));
    ui.list.replaceChildren(...items.map((c) => {
      const n = state.unread.conversations[c.conversationId] || 0;
      const last = c.lastMessage;
      const preview = last ? last.body || (last.attachments || []).map((a) => a.name).join(', ') : '';
      return el('li', {}, [el('button', { type: 'button', class: 'cw-item', onclick: () => showConversation(c.conversationId) }, [
        el('span', { class: 'cw-preview', text: preview || t('newConversation') }),
        n ? el('span', { class: 'cw-count', text: String(n), 'aria-label': t('unread', { n }) }) : null,
        el('time', { class: 'cw-time', text: when(c.lastMessageAt || c.createdAt) }),
      ])]);
    }));
    if (!items.length) ui.list.append(el('li', { class: 'cw-empty', text: t('empty') }));
  }

  function when(iso) {
    if (!iso) return '';
    const date = new Date(iso);
    if (isNaN(date)) return '';
    const today = new Date().toDateString() === date.toDateString();
    return today ? date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }) : date.toLocaleDateString();
  }

  function renderThread() {
    if (!ui.host || state.view !== 'thread' || !state.open) return; // history loads on first open
    const id = state.currentId;
    if (id != null && !state.loaded.has(id)) loadHistory(id);
    const messages = id != null ? state.messages.get(id) || [] : [];
    const pending = state.pending.filter((p) => p.conversationId == null || p.conversationId === id);
    const stick = ui.log.scrollHeight - ui.log.scrollTop - ui.log.clientHeight < 40;
    const nodes = [];
    const greeting = state.widget && state.widget.greeting;
    if (greeting && !messages.length) {
      nodes.push(bubble({ sender: { kind: 'agent', name: state.widget.name }, body: greeting }, 'cw-greeting'));
    }
    const readUpTo = state.agentRead[id] || 0;
    let lastOwn = null;
    for (const m of messages) {
      const node = bubble(m);
      if (m.sender.kind === 'contact' && m.id <= readUpTo) lastOwn = node;
      nodes.push(node);
    }
    if (lastOwn) lastOwn.append(el('span', { class: 'cw-note', text: t('seen') }));
    for (const p of pending) {
      const node = bubble({ sender: { kind: 'contact' }, body: p.body, attachments: p.files.map((f) => ({ name: f.name })) }, 'cw-pending');
      node.append(el('span', { class: 'cw-note', text: p.failed ? t('failed') : t('sending') }));
      if (p.failed) node.append(el('button', { type: 'button', class: 'cw-retry', text: t('retry'), onclick: () => retry(p) }));
      nodes.push(node);
    }
    ui.log.replaceChildren(...nodes);
    if (stick || pending.length) ui.log.scrollTop = ui.log.scrollHeight;
  }

  // Message text becomes text nodes; only http(s) URLs become links.
  function richText(text) {
    const out = [];
    const pattern = /\bhttps?:\/\/[^\s<>"']+/gi;
    let at = 0;
    let match;
    while ((match = pattern.exec(text))) {
      let raw = match[0].replace(/[.,;:!?)\]]+$/, '');
      const href = safeUrl(raw);
      if (!href) continue;
      out.push(document.createTextNode(text.slice(at, match.index)));
      out.push(el('a', { href, target: '_blank', rel: 'noopener noreferrer nofollow ugc', text: raw }));
      at = match.index + raw.length;
      pattern.lastIndex = at;
    }
    out.push(document.createTextNode(text.slice(at)));
    return out;
  }

  function bubble(m, extra) {
    const kind = (m.sender && m.sender.kind) || 'system';
    const li = el('li', { class: 'cw-msg cw-' + kind + (extra ? ' ' + extra : '') });
    if (kind !== 'contact') li.append(el('span', { class: 'cw-name', text: (m.sender && m.sender.name) || t('agent') }));
    if (m.body) li.append(el('div', { class: 'cw-bubble' }, richText(m.body)));
    const files = (m.attachments || []).map((a) => {
      const href = a.url ? safeUrl(a.url) : null;
      const label = el('span', { text: a.name || 'file' });
      const item = href
        ? el('a', { href, target: '_blank', rel: 'noopener noreferrer', download: a.name || true }, [icon('clip'), label])
        : label;
      const image = href && /^image\/(png|jpeg|gif|webp)$/.test(a.content_type || '');
      return el('li', {}, [image ? el('img', { src: href, alt: a.name || '', loading: 'lazy' }) : null, item]);
    });
    if (files.length) li.append(el('ul', { class: 'cw-atts' }, files));
    if (m.createdAt) li.append(el('time', { class: 'cw-time', datetime: m.createdAt, text: when(m.createdAt) }));
    return li;
  }

  function setConnection(value) {
    state.connection = value;
    if (!ui.host) return;
    const labels = { connecting: t('connecting'), reconnecting: t('reconnecting'), offline: t('offline') };
    ui.status.textContent = labels[value] || '';
    ui.wrap.dataset.connection = value;
  }

  function progress(fraction) {
    if (!ui.host) return;
    ui.progress.hidden = fraction == null;
    const percent = Math.round((fraction || 0) * 100);
    ui.bar.style.width = percent + '%';
    ui.progress.setAttribute('aria-valuenow', String(percent));
  }

  let typingTimer = null;
  function showTyping(p) {
    if (!ui.host || !p.sender || p.sender.kind === 'contact' || p.conversationId !== state.currentId) return;
    clearTimeout(typingTimer);
    ui.typing.textContent = p.typing ? t('typing', { name: p.sender.name || t('agent') }) : '';
    if (p.typing) typingTimer = setTimeout(hideTyping, 8000);
  }

  function hideTyping() {
    clearTimeout(typingTimer);
    if (ui.typing) ui.typing.textContent = '';
  }

  // ------------------------------------------------------------------ UI behaviour

  function setOpen(open, how) {
    open = !!open;
    if (open === state.open) return;
    state.open = open;
    tabStore.set(key('open'), open);
    if (!how.remote) tabs.post({ t: 'open', open });
    renderOpen();
    renderLauncher();
    if (open) {
      render();
      if (how.focus) ui.input.focus();
    } else if (how.focus || ui.root.activeElement) {
      ui.launcher.focus();
    }
    emit(open ? 'onChatOpened' : 'onChatClosed', null);
  }

  const userOpen = () => { state.hidden = false; setOpen(true, { focus: true }); };
  const userClose = () => setOpen(false, { focus: true });

  function windowKey(e) {
    if (e.key === 'Escape') {
      e.stopPropagation();
      userClose();
    }
  }

  function composerKey(e) {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      composerSubmit(e);
    }
  }

  let typingSentAt = 0;
  let typingStop = null;
  function composerInput() {
    ui.input.style.height = 'auto';
    ui.input.style.height = Math.min(ui.input.scrollHeight, 120) + 'px';
    const id = state.currentId;
    if (id == null) return;
    if (Date.now() - typingSentAt > 2500 && frame({ type: 'typing', conversationId: id, typing: true })) typingSentAt = Date.now();
    clearTimeout(typingStop);
    typingStop = setTimeout(() => stopTyping(id), 3000);
  }

  function stopTyping(id) {
    clearTimeout(typingStop);
    if (typingSentAt) frame({ type: 'typing', conversationId: id, typing: false });
    typingSentAt = 0;
  }

  function composerSubmit(e) {
    e.preventDefault();
    const body = ui.input.value;
    const files = ui.pendingFiles;
    if (!body.trim() && !files.length) return;
    if (state.currentId != null) stopTyping(state.currentId);
    ui.input.value = '';
    ui.input.style.height = '';
    ui.pendingFiles = [];
    renderFiles();
    queueSend({ clientId: uid(), conversationId: state.currentId, body, files, failed: false }).catch(noop);
  }

  function retry(item) {
    state.pending = state.pending.filter((p) => p !== item);
    item.failed = false;
    queueSend(item).catch(noop);
  }

  function addFiles(list) {
    ui.pendingFiles = ui.pendingFiles.concat(Array.from(list || []));
    renderFiles();
  }

  function renderFiles() {
    ui.files.replaceChildren(...ui.pendingFiles.map((file, i) => el('li', { class: 'cw-chip' }, [
      el('span', { text: file.name }),
      el('button', {
        type: 'button', class: 'cw-remove', text: '×', 'aria-label': t('remove', { name: file.name }),
        onclick: () => { ui.pendingFiles.splice(i, 1); renderFiles(); ui.input.focus(); },
      }),
    ])));
  }

  function dragOver(e) {
    if (!e.dataTransfer || ![...e.dataTransfer.types].includes('Files')) return;
    e.preventDefault();
    ui.drop.hidden = false;
  }

  function dropFiles(e) {
    e.preventDefault();
    ui.drop.hidden = true;
    if (e.dataTransfer) addFiles(e.dataTransfer.files);
  }

  function showList(focus) {
    state.view = 'list';
    renderOpen();
    renderList();
    if (focus) ui.newBtn.focus();
  }

  function showConversation(id) {
    state.currentId = id;
    state.view = 'thread';
    hideTyping();
    render();
    ui.input.focus();
  }

  function startNew() {
    state.currentId = null;
    state.view = 'thread';
    render();
    ui.input.focus();
  }

  window.addEventListener('online', reconnectNow);
  window.addEventListener('offline', () => socket.want && !socket.ws && setConnection('offline'));
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState !== 'visible') return;
    reconnectNow();
    markRead();
  });

  // ------------------------------------------------------------------ install

  // Replace the queue stub (docs/sdk.md) and replay its calls in order.
  const stub = window.chatwidget;
  const queued = stub && Array.isArray(stub.q) ? stub.q : [];
  window.chatwidget = sdk;
  let loadQueued = false;
  for (const [method, args, resolve, reject] of queued) {
    if (method === 'load') loadQueued = true;
    const fn = sdk[method];
    if (typeof fn !== 'function') {
      if (reject) reject(new ChatWidgetError('invalid', 'Unknown method ' + method, {}));
      continue;
    }
    try {
      const result = fn.apply(sdk, Array.from(args));
      if (resolve) Promise.resolve(result).then(resolve, reject);
    } catch (error) {
      if (reject) reject(error);
    }
  }
  if (!loadQueued && script && script.dataset.autoload !== 'false' && 'appId' in script.dataset) {
    sdk.load({}).catch(noop);
  }
})();
