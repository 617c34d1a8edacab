/**
 * The agent API and the agent socket, with no UI: what a bot could run as well.
 *
 * REST calls carry the session cookie and the CSRF token; the socket reconnects with
 * backoff, asks for what it missed (`resume` after the highest message id seen) and
 * sends a heartbeat, which is also what keeps the agent "online".
 */

const PING_EVERY = 20_000;
const DEAD_AFTER = 50_000;

export class ApiError extends Error {
  constructor(status, error) {
    super((error && error.message) || `HTTP ${status}`);
    this.status = status;
    this.type = (error && error.type) || 'http_error';
    this.fields = error && error.fields;
  }
}

function clientId(prefix) {
  const random = crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random()}`;
  return `${prefix}-${random}`;
}

export class AgentClient extends EventTarget {
  constructor(config) {
    super();
    this.config = config;
    this.socket = null;
    this.connected = false;
    this.watching = [];
    this.lastId = 0;
    this.retries = 0;
    this.heartbeat = null;
    this.lastFrameAt = 0;
    // The first connection replays nothing: the page loads its data over REST after the
    // socket is up, and the first pong tells which message id that data starts from.
    this.baselined = false;
  }

  // ---------------------------------------------------------------- REST

  url(path, query) {
    const url = new URL(this.config.api + path, location.origin);
    for (const [key, value] of Object.entries(query || {})) {
      if (value !== undefined && value !== null && value !== '') url.searchParams.set(key, value);
    }
    return url.pathname + url.search;
  }

  async request(method, path, { query, body } = {}) {
    const headers = { Accept: 'application/json' };
    if (method !== 'GET') {
      headers['X-CSRFToken'] = this.config.csrfToken;
      headers['Content-Type'] = 'application/json';
    }
    const response = await fetch(this.url(path, query), {
      method,
      headers,
      credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new ApiError(response.status, data.error);
    return data;
  }

  conversations({ filter, q, cursor, contact, limit } = {}) {
    return this.request('GET', 'conversations/', { query: { filter, q, cursor, contact, limit } });
  }

  conversation(id) {
    return this.request('GET', `conversations/${id}/`);
  }

  messages(id, { after, before, limit } = {}) {
    return this.request('GET', `conversations/${id}/messages/`, { query: { after, before, limit } });
  }

  notes(id, { after, limit } = {}) {
    return this.request('GET', `conversations/${id}/notes/`, { query: { after, limit } });
  }

  reply(id, body) {
    return this.request('POST', `conversations/${id}/messages/`, {
      body: { body, client_id: clientId('inbox') },
    });
  }

  note(id, body) {
    return this.request('POST', `conversations/${id}/notes/`, {
      body: { body, client_id: clientId('note') },
    });
  }

  /** A reply with files, over XHR because fetch cannot report upload progress. */
  upload(id, body, files, onProgress) {
    return new Promise((resolve, reject) => {
      const form = new FormData();
      form.append('body', body);
      form.append('client_id', clientId('inbox'));
      for (const file of files) form.append('files', file, file.name);
      const xhr = new XMLHttpRequest();
      xhr.open('POST', this.url(`conversations/${id}/messages/`));
      xhr.setRequestHeader('X-CSRFToken', this.config.csrfToken);
      xhr.setRequestHeader('Accept', 'application/json');
      xhr.upload.onprogress = (event) => {
        if (event.lengthComputable && onProgress) onProgress(event.loaded / event.total);
      };
      xhr.onload = () => {
        let data = {};
        try { data = JSON.parse(xhr.responseText); } catch { /* not JSON: reported below */ }
        if (xhr.status >= 200 && xhr.status < 300) resolve(data);
        else reject(new ApiError(xhr.status, data.error));
      };
      xhr.onerror = () => reject(new ApiError(0, { type: 'network', message: 'Network error.' }));
      xhr.send(form);
    });
  }

  assign(id, assigneeId) {
    return this.request('POST', `conversations/${id}/assign/`, { body: { assignee_id: assigneeId } });
  }

  close(id) {
    return this.request('POST', `conversations/${id}/close/`, { body: {} });
  }

  reopen(id) {
    return this.request('POST', `conversations/${id}/reopen/`, { body: {} });
  }

  read(id, lastReadId) {
    return this.request('POST', `conversations/${id}/read/`, {
      body: lastReadId ? { last_read_id: lastReadId } : {},
    });
  }

  contact(id) {
    return this.request('GET', `contacts/${id}/`);
  }

  savedReplies(q) {
    return this.request('GET', 'saved-replies/', { query: { q } });
  }

  agents() {
    return this.request('GET', 'agents/');
  }

  // ---------------------------------------------------------------- socket

  connect() {
    const base = location.origin.replace(/^http/, 'ws') + this.config.socket;
    const socket = new WebSocket(this.baselined ? `${base}?after=${this.lastId}` : base);
    this.socket = socket;
    this.resuming = false;
    this.resumeAgain = null;
    socket.onmessage = (event) => {
      this.lastFrameAt = Date.now();
      let frame;
      try { frame = JSON.parse(event.data); } catch { return; }
      this.received(frame);
    };
    socket.onclose = (event) => {
      if (this.socket !== socket) return;
      this.setConnected(false);
      clearInterval(this.heartbeat);
      // 4403: not (or no longer) an agent; 4401: logged out. Retrying cannot help.
      if (event.code === 4403 || event.code === 4401) {
        this.emit('closed', { code: event.code });
        return;
      }
      const delay = Math.min(30_000, 500 * 2 ** this.retries++);
      setTimeout(() => this.connect(), delay);
    };
  }

  received(frame) {
    if (frame.type === 'ready') {
      this.retries = 0;
      // Before anything else on this socket: the open thread's typing and receipts.
      if (this.watching.length) this.send({ type: 'watch', conversationIds: this.watching });
      this.setConnected(true, frame.agent);
      clearInterval(this.heartbeat);
      this.heartbeat = setInterval(() => this.beat(), PING_EVERY);
      if (!this.baselined) this.send({ type: 'ping' });
      return;
    }
    if (frame.type === 'pong' && !this.baselined) {
      this.lastId = Math.max(this.lastId, frame.lastId || 0);
      this.baselined = true;
      return;
    }
    if (frame.type === 'pong') {
      if (frame.lastId > this.lastId) this.resume(this.lastId);
      return;
    }
    if (frame.type === 'message.created' && frame.message) {
      this.lastId = Math.max(this.lastId, frame.message.id);
    }
    if (frame.type === 'resync') {
      // The server fell behind and may have dropped live events for this socket: replay
      // the messages from before the gap (docs/protocol.md, resync).
      const mine = this.lastId || 0;
      this.resume(typeof frame.after === 'number' ? Math.min(frame.after, mine) : mine);
    }
    if (frame.type === 'resume.done') this.resumed(frame.more && frame.lastId);
    // An error frame of no send may be the replay's: never stay stuck waiting for it.
    if (frame.type === 'error' && !frame.clientId && this.resuming) this.resumed(null);
    this.emit(frame.type, frame);
  }

  /** One replay at a time: a resync during one is taken up when it ends. A replay per
   * resync would multiply while the server is behind, each sending again what the others
   * send. */
  resume(after) {
    if (this.resuming) this.resumeAgain = Math.min(this.resumeAgain ?? after, after);
    else this.resuming = this.send({ type: 'resume', after });
  }

  /** A replay ended (``next``: where its next page starts, if any) or failed. */
  resumed(next) {
    const again = this.resumeAgain;
    this.resuming = false;
    this.resumeAgain = null;
    if (again != null) this.resume(again);
    else if (next) this.resume(next);
  }

  beat() {
    if (Date.now() - this.lastFrameAt > DEAD_AFTER && this.lastFrameAt) {
      this.socket.close();  // silent for too long: the onclose handler reconnects
      return;
    }
    this.send({ type: 'ping' });
  }

  setConnected(connected, agent) {
    this.connected = connected;
    this.emit('connection', { connected, agent });
  }

  send(frame) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) {
      this.socket.send(JSON.stringify(frame));
      return true;
    }
    return false;
  }

  /** The threads shown: only their typing and read receipts come over the socket. */
  watch(conversationIds) {
    this.watching = conversationIds;
    this.send({ type: 'watch', conversationIds });
  }

  typing(conversationId, typing) {
    return this.send({ type: 'typing', conversationId, typing });
  }

  readFrame(conversationId, lastReadId) {
    return this.send({ type: 'read', conversationId, lastReadId });
  }

  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  on(type, handler) {
    this.addEventListener(type, (event) => handler(event.detail));
  }
}
