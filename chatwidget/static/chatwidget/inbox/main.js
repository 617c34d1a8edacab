/**
 * The inbox page: wires the API client, the store and the views, and owns what spans them
 * (routing, keyboard, tab title, notifications, presence). Configuration comes from the
 * page's json_script block, never from an inline script.
 */

import { AgentClient, ApiError } from './api.js';
import { Composer } from './composer.js';
import { ContactView } from './contact.js';
import { contactName, h } from './dom.js';
import { ListView } from './list.js';
import { Store } from './store.js';
import { ThreadView } from './thread.js';

const PAGE = 30;
const MAX_PAGE = 200;  // the API's largest page

class Inbox {
  constructor(root, config) {
    this.root = root;
    this.config = config;
    this.client = new AgentClient(config);
    this.store = new Store(config.agent);
    this.baseTitle = document.title;
    this.notifyKey = `chatwidget.inbox.notifications.${config.agent.id}`;
    const actions = this.actions();
    this.composer = new Composer(this.store, actions);
    this.list = new ListView(this.store, actions);
    this.thread = new ThreadView(this.store, actions, this.composer);
    this.contact = new ContactView(this.store, actions);
    this.presence = h('span', { className: 'cw-presence', attrs: { role: 'status' } }, 'Connecting…');
    this.notifyButton = h('button', {
      type: 'button', className: 'cw-link-button', onclick: () => this.toggleNotifications(),
    });
    this.others = h('span', { className: 'cw-agents-online' });
    root.append(
      h('div', { className: 'cw-toolbar' },
        h('h1', { className: 'cw-inbox-title' }, 'Inbox'),
        h('span', { className: 'cw-toolbar-right' }, this.others, this.presence, this.notifyButton)),
      h('div', { className: 'cw-panes' }, this.list.element, this.thread.element, this.contact.element));
    this.renderNotifyButton();
  }

  actions() {
    return {
      setFilter: (filter) => this.loadList(filter, this.store.query),
      setQuery: (query) => this.loadList(this.store.filter, query),
      loadMore: () => this.loadMore(),
      open: (id) => this.open(id),
      loadOlder: () => this.loadOlder(),
      assignToMe: () => this.change((id) => this.client.assign(id, this.config.agent.id)),
      assignTo: (agentId) => this.change((id) => this.client.assign(id, agentId)),
      close: () => this.change((id) => this.client.close(id)),
      reopen: () => this.change((id) => this.client.reopen(id)),
      reply: (body, files, onProgress) => this.reply(body, files, onProgress),
      note: (body) => this.note(body),
      typing: (id, typing) => this.client.typing(id, typing),
      savedReplies: (q) => this.client.savedReplies(q).then((data) => data.results, () => []),
      leaveComposer: () => this.list.focusActive(),
      conversationUrl: (id) => `${this.config.inbox}${id}/`,
    };
  }

  async start() {
    this.listen();
    this.keyboard();
    // The socket first: whatever happens while the list loads then arrives live.
    this.client.connect();
    this.client.agents().then((data) => this.setAgents(data), () => {});
    setInterval(() => this.client.agents().then((data) => this.setAgents(data), () => {}), 60_000);
    await this.loadList('open', '');
    const deepLink = Number(this.root.dataset.conversation) || null;
    if (deepLink) await this.open(deepLink, { replace: true });
    window.addEventListener('popstate', () => {
      const match = location.pathname.match(/\/(\d+)\/$/);
      if (match) this.open(Number(match[1]), { history: false });
    });
    document.addEventListener('visibilitychange', () => { if (!document.hidden) this.markRead(); });
    this.updateTitle();
  }

  // ---------------------------------------------------------------- list

  async loadList(filter, query) {
    this.store.resetList(filter, query);
    this.store.listLoading = true;
    const token = (this.listToken = {});
    const since = this.store.version;
    try {
      const page = await this.client.conversations({ filter, q: query, limit: PAGE });
      if (token !== this.listToken) return;
      this.store.listLoading = false;
      this.store.addPage(page.results, page.next_cursor, since);
    } catch (error) {
      this.store.listLoading = false;
      this.store.changed('list');
    }
    this.updateTitle();
  }

  /** After a gap in the live events (a reconnect, or the server's ``resync``): the replay
   * brings back the messages, not a close, an assignment or a read that happened meanwhile,
   * so the list is read again as far as it was loaded, and the open conversation with it. */
  async refresh() {
    if (this.refreshing) {
      this.refreshAgain = true;
      return;
    }
    this.refreshing = true;
    const { store } = this;
    const token = this.listToken;
    const since = store.version;
    const openId = store.openId;
    try {
      const limit = Math.min(MAX_PAGE, Math.max(PAGE, store.listed.size));
      const page = await this.client.conversations({ filter: store.filter, q: store.query, limit });
      if (token !== this.listToken) return;  // another filter or search was chosen meanwhile
      const fresh = page.results.some((row) => row.conversationId === openId);
      const open = openId == null || fresh ? null : await this.client.conversation(openId);
      store.replaceList(page.results, page.next_cursor, since, open);
      const row = openId != null && store.conversations.get(openId);
      if (row) this.loadContact(row.contactId);  // its contact.updated may be among them
      // A socket that dropped before its baseline resumes from none, and notes are never
      // replayed: the open thread reads what came after what it holds; the others read
      // their newest page again when next opened.
      for (const [id, thread] of store.threads) if (id !== openId) thread.loaded = false;
      if (row) await this.topUp(openId);
      this.markRead();
    } catch (error) {
      // Erased during the gap: its contact.erased event was among the missed ones.
      if (error instanceof ApiError && error.status === 404 && store.openId === openId) {
        this.erased([], [openId]);
      }
    } finally {
      this.refreshing = false;
      this.updateTitle();
      if (this.refreshAgain) {
        this.refreshAgain = false;
        this.refresh();
      }
    }
  }

  /** Contacts erased (data rights): nothing of them stays on screen. */
  erased(contactIds, conversationIds) {
    // The deep link of an erased conversation must not survive a reload.
    if (conversationIds.includes(this.store.openId)) window.history.replaceState({}, '', this.config.inbox);
    this.store.erase(contactIds, conversationIds);
    this.updateTitle();
  }

  /** Messages after the newest a thread holds, and its notes, de-duplicated by id. */
  async topUp(id) {
    const { store } = this;
    const thread = store.thread(id);
    if (!thread.loaded) return;
    const notes = this.client.notes(id, { limit: 200 }).catch(() => ({ results: [] }));
    let after = store.newestContactMessageId(id);
    for (;;) {
      const page = await this.client.messages(id, { after, limit: MAX_PAGE });
      store.addItems(id, page.results);
      if (!page.has_more || !page.results.length) break;
      after = page.results.at(-1).id;
    }
    store.addItems(id, (await notes).results.map((n) => ({ ...n, private: true })));
    if (id === store.openId) store.changed('thread');
  }

  async loadMore() {
    const { store } = this;
    if (!store.cursor || store.listLoading) return;
    store.listLoading = true;
    const token = this.listToken;
    const since = store.version;
    try {
      const page = await this.client.conversations({ filter: store.filter, q: store.query, cursor: store.cursor, limit: PAGE });
      if (token === this.listToken) store.addPage(page.results, page.next_cursor, since);
    } finally {
      store.listLoading = false;
    }
  }

  // ---------------------------------------------------------------- thread

  async open(id, { history = true, replace = false } = {}) {
    const { store } = this;
    if (store.openId !== id) {
      this.composer.reset();
      this.client.watch([id]);
    }
    store.openId = id;
    store.notice = '';
    store.activeId = id;
    if (history) {
      const url = this.actions().conversationUrl(id);
      if (location.pathname !== url) window.history[replace ? 'replaceState' : 'pushState']({ id }, '', url);
    }
    if (!store.conversations.has(id)) {
      const since = store.version;
      try {
        store.upsert(await this.client.conversation(id), since);
      } catch (error) {
        store.openId = null;
        this.client.watch([]);
        store.changed('thread');
        return;
      }
    }
    store.listed.add(id);
    store.changed('list');
    store.changed('thread');
    const thread = store.thread(id);
    if (!thread.loaded) {
      const [messages, notes] = await Promise.all([
        this.client.messages(id, { before: 2 ** 53 - 1, limit: PAGE }),
        this.client.notes(id, { limit: 200 }).catch(() => ({ results: [] })),
      ]);
      store.addItems(id, messages.results);
      store.addItems(id, notes.results.map((n) => ({ ...n, private: true })));
      thread.hasOlder = messages.has_more;
      thread.loaded = true;
      if (id === store.openId) store.changed('thread');
    }
    this.loadContact(store.conversations.get(id).contactId);
    this.markRead();
  }

  async loadOlder() {
    const { store } = this;
    const id = store.openId;
    const thread = id != null ? store.thread(id) : null;
    if (!thread || !thread.hasOlder || thread.loadingOlder) return;
    thread.loadingOlder = true;
    try {
      const page = await this.client.messages(id, { before: store.oldestMessageId(id), limit: PAGE });
      store.addItems(id, page.results);
      thread.hasOlder = page.has_more;
      if (id === store.openId) store.changed('thread');
    } finally {
      thread.loadingOlder = false;
    }
  }

  async loadContact(contactId) {
    try {
      this.store.contacts.set(contactId, await this.client.contact(contactId));
      this.store.changed('contact');
    } catch { /* the panel keeps the list's summary */ }
  }

  markRead() {
    const { store } = this;
    const id = store.openId;
    if (id == null || document.hidden) return;
    const row = store.conversations.get(id);
    if (!row || !row.unread) return;
    const upTo = store.newestContactMessageId(id);
    if (!this.client.readFrame(id, upTo || null)) this.client.read(id, upTo).catch(() => {});
    store.upsert({ conversationId: id, unread: 0 });
    store.changed('list');
    this.updateTitle();
  }

  async change(call) {
    const id = this.store.openId;
    if (id == null) return;
    try {
      this.store.live((await call(id)).conversation);
    } catch (error) {
      this.composer.showError(error);
    }
  }

  async reply(body, files, onProgress) {
    const id = this.store.openId;
    const data = files.length
      ? await this.client.upload(id, body, files, onProgress)
      : await this.client.reply(id, body);
    this.messageCreated({ conversationId: id, message: data.message });
  }

  async note(body) {
    const id = this.store.openId;
    const data = await this.client.note(id, body);
    this.noteCreated({ conversationId: id, note: data.note });
  }

  // ---------------------------------------------------------------- live events

  listen() {
    const { client, store } = this;
    client.on('connection', ({ connected }) => {
      store.connected = connected;
      this.presence.textContent = connected ? 'Online' : 'Reconnecting…';
      this.presence.classList.toggle('is-online', connected);
      if (connected) this.client.agents().then((data) => this.setAgents(data), () => {});
      if (connected && this.wasConnected) this.refresh();
      this.wasConnected ||= connected;
    });
    client.on('resync', () => this.refresh());
    client.on('closed', ({ code }) => {
      this.presence.textContent = code === 4403 ? 'Not an agent' : 'Signed out: reload to sign in';
    });
    client.on('message.created', (frame) => this.messageCreated(frame));
    client.on('note.created', (frame) => this.noteCreated(frame));
    client.on('conversation.created', (frame) => this.conversationChanged(frame, true));
    client.on('conversation.updated', (frame) => this.conversationChanged(frame, false));
    client.on('unread', (frame) => {
      if (!frame.change) return;
      store.live({ conversationId: frame.change.conversationId, unread: frame.change.count });
      this.updateTitle();
    });
    client.on('typing', (frame) => {
      if (frame.sender && frame.sender.kind === 'contact') store.setTyping(frame.conversationId, frame.sender.name, frame.typing !== false);
    });
    client.on('read', (frame) => {
      if (frame.reader !== 'contact') return;
      const thread = store.thread(frame.conversationId);
      thread.contactRead = Math.max(thread.contactRead, frame.lastReadId || 0);
      if (frame.conversationId === store.openId) store.changed('thread');
    });
    client.on('contact.updated', ({ contact }) => {
      for (const row of store.conversations.values()) {
        if (row.contactId === contact.id) {
          row.contact = { ...row.contact, ...contact, name: contactName(contact, contact.id) };
        }
      }
      const detail = store.contacts.get(contact.id);
      if (detail) detail.contact = { ...detail.contact, ...contact };
      store.changed('list');
      store.changed('contact');
    });
    client.on('contact.erased', ({ contactIds, conversationIds }) => this.erased(contactIds, conversationIds));
    client.on('agent.presence', (frame) => {
      const known = store.agents.get(frame.agentId);
      if (known) known.online = frame.online;
      this.client.agents().then((data) => this.setAgents(data), () => {});
    });
  }

  async messageCreated({ conversationId: id, message, unread }) {
    const { store } = this;
    if (!store.conversations.has(id)) {
      const since = store.version;
      try {
        store.upsert(await this.client.conversation(id), since);
      } catch { return; }
    }
    const row = store.conversations.get(id);
    const isNewer = !row.lastMessage || row.lastMessage.id <= message.id;
    const change = { conversationId: id };
    if (isNewer) {
      Object.assign(change, {
        lastMessage: message,
        preview: message.body || (message.attachments[0] ? `📎 ${message.attachments[0].name}` : ''),
        lastMessageAt: message.createdAt,
        updatedAt: message.createdAt > (row.updatedAt || '') ? message.createdAt : row.updatedAt,
      });
      // The server reopens a closed conversation the visitor writes to (chat.post_contact_message).
      if (message.sender.kind === 'contact' && row.status !== 'open') change.status = 'open';
    }
    if (unread && unread.conversationId === id) change.unread = unread.count;
    if (message.sender.kind === 'contact') store.setTyping(id, '', false);
    // A thread being loaded takes it too: its first page may have been read before this.
    if (store.threads.has(id)) store.addItems(id, [message]);
    store.live(change);
    if (id === store.openId) this.markRead();
    if (message.sender.kind === 'contact') this.alert(store.conversations.get(id), message);
    this.updateTitle();
  }

  noteCreated({ conversationId: id, note }) {
    if (this.store.threads.has(id) && this.store.addItems(id, [{ ...note, private: true }]) && id === this.store.openId) {
      this.store.changed('thread');
    }
  }

  conversationChanged(frame, created) {
    const conversation = { ...frame.conversation };
    if (frame.contact) conversation.contact = { ...frame.contact, name: contactName(frame.contact, frame.contact.id) };
    if (created) conversation.unread = conversation.unread || 0;
    this.store.live(conversation);
    if (created) this.alert(this.store.conversations.get(conversation.conversationId), null);
    this.updateTitle();
  }

  setAgents(data) {
    for (const agent of data.results || []) this.store.agents.set(agent.id, agent);
    this.store.changed('agents');
    const online = (data.results || []).filter((a) => a.online && a.id !== this.config.agent.id);
    this.others.textContent = online.length ? `${online.length} other agent${online.length > 1 ? 's' : ''} online` : '';
    this.others.title = online.map((a) => a.name).join(', ');
  }

  // ---------------------------------------------------------------- attention

  updateTitle() {
    const total = this.store.unreadTotal();
    document.title = total ? `(${total}) ${this.baseTitle}` : this.baseTitle;
  }

  notificationsOn() {
    return localStorage.getItem(this.notifyKey) === 'on';
  }

  renderNotifyButton() {
    const on = this.notificationsOn();
    this.notifyButton.textContent = on ? 'Notifications on' : 'Enable notifications';
    this.notifyButton.setAttribute('aria-pressed', String(on));
  }

  async toggleNotifications() {
    if (this.notificationsOn()) {
      localStorage.setItem(this.notifyKey, 'off');
    } else {
      // Asked only now, after the agent's click: browsers ignore (and users resent)
      // permission prompts that appear on their own.
      const permission = 'Notification' in window ? await Notification.requestPermission() : 'denied';
      localStorage.setItem(this.notifyKey, 'on');
      if (permission !== 'granted') this.notifyButton.title = 'Desktop notifications are blocked; only the sound plays.';
      this.audio = this.audio || new AudioContext();
    }
    this.renderNotifyButton();
  }

  /** A new conversation, or a visitor message on a conversation assigned to me. */
  alert(row, message) {
    if (!row || !this.notificationsOn()) return;
    const mine = row.assigneeId === this.config.agent.id;
    if (message && !mine) return;
    if (!document.hidden && row.conversationId === this.store.openId) return;
    const name = contactName(row.contact, row.contactId);
    this.beep();
    if ('Notification' in window && Notification.permission === 'granted') {
      const notification = new Notification(message ? name : `New conversation: ${name}`, {
        body: message ? (message.body || 'Sent a file') : (row.preview || ''),
        tag: `chatwidget-${row.conversationId}`,
      });
      notification.onclick = () => { window.focus(); this.open(row.conversationId); };
    }
  }

  beep() {
    try {
      const audio = this.audio || (this.audio = new AudioContext());
      const oscillator = audio.createOscillator();
      const gain = audio.createGain();
      oscillator.frequency.value = 880;
      gain.gain.setValueAtTime(0.08, audio.currentTime);
      gain.gain.exponentialRampToValueAtTime(0.0001, audio.currentTime + 0.25);
      oscillator.connect(gain).connect(audio.destination);
      oscillator.start();
      oscillator.stop(audio.currentTime + 0.25);
    } catch { /* no audio device: the notification is enough */ }
  }

  // ---------------------------------------------------------------- keyboard

  keyboard() {
    document.addEventListener('keydown', (event) => {
      if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
      const target = event.target;
      const editing = target.closest && target.closest('input, textarea, select, [contenteditable="true"]');
      if (editing) return;
      if (event.key === 'j' || (event.key === 'ArrowDown' && !this.list.list.contains(target))) {
        if (this.thread.log.contains(target) && event.key === 'ArrowDown') return;
        event.preventDefault();
        this.list.move(1);
      } else if (event.key === 'k' || (event.key === 'ArrowUp' && !this.list.list.contains(target))) {
        if (this.thread.log.contains(target) && event.key === 'ArrowUp') return;
        event.preventDefault();
        this.list.move(-1);
      } else if (event.key === 'r' && this.store.openId != null) {
        event.preventDefault();
        this.composer.input.focus();
      } else if (event.key === 'Enter' && target === document.body && this.store.activeId != null) {
        event.preventDefault();
        this.open(this.store.activeId);
      }
    });
  }
}

const root = document.querySelector('[data-chatwidget-inbox]');
if (root) {
  const config = JSON.parse(document.getElementById(root.dataset.config).textContent);
  new Inbox(root, config).start();
}
