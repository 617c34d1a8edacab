/**
 * The inbox's state, headless: the conversation list, open threads, contacts and presence.
 * Views subscribe to named changes ('list', 'thread', 'contact', 'connection', 'typing')
 * and re-render what they show; only this module changes the state.
 */

export const FILTERS = ['open', 'mine', 'unassigned', 'closed', 'all'];

export function activity(conversation) {
  return conversation.updatedAt || conversation.lastMessageAt || conversation.createdAt || '';
}

export class Store {
  constructor(agent) {
    this.agent = agent;
    this.filter = 'open';
    this.query = '';
    this.conversations = new Map();  // id -> list row (the API's shape)
    this.listed = new Set();         // ids shown under the current filter and search
    this.cursor = null;
    this.listLoading = false;
    this.activeId = null;            // highlighted in the list (keyboard)
    this.openId = null;              // shown in the thread
    this.notice = '';                // why no thread is shown (an erased contact)
    this.threads = new Map();        // id -> {items, ids, hasOlder, contactRead, loaded}
    this.contacts = new Map();       // contact id -> contact panel data
    this.typing = new Map();         // conversation id -> {name, until}
    this.connected = false;
    this.agents = new Map();         // agent id -> {id, name, online}
    this.listeners = new Map();
    // Counts live changes: a REST answer requested before a live change must not undo it.
    this.version = 0;
  }

  on(kind, handler) {
    if (!this.listeners.has(kind)) this.listeners.set(kind, new Set());
    this.listeners.get(kind).add(handler);
  }

  changed(kind, detail) {
    for (const handler of this.listeners.get(kind) || []) handler(detail);
  }

  // ---------------------------------------------------------------- the list

  /** Whether a row belongs in the current filter (the server's rule, for live inserts). */
  matches(row) {
    const open = row.status === 'open';
    switch (this.filter) {
      case 'open': return open;
      case 'mine': return open && row.assigneeId === this.agent.id;
      case 'unassigned': return open && row.assigneeId == null;
      case 'closed': return !open;
      default: return true;
    }
  }

  resetList(filter, query) {
    this.filter = filter;
    this.query = query;
    this.listed = new Set();
    this.cursor = null;
    this.changed('list');
  }

  /** A page of the list; ``since`` is ``version`` when it was requested. */
  addPage(rows, cursor, since = this.version) {
    for (const row of rows) {
      const merged = this.upsert(row, since);
      // The server filtered the page; a live change since then may have taken a row out.
      if (!this.movedSince(merged, since) || this.matches(merged)) this.listed.add(row.conversationId);
    }
    this.cursor = cursor;
    this.changed('list');
  }

  /** The list read again after a gap (``open``: the open conversation, when the page does
   * not hold it). A row the page no longer holds has left the filter, unless a live change
   * since the read started moved it; any other row kept would be stale. */
  replaceList(rows, cursor, since, open) {
    const kept = new Set(rows.map((row) => row.conversationId));
    if (this.openId != null) kept.add(this.openId);
    for (const [id, row] of this.conversations) {
      if (!kept.has(id) && !this.movedSince(row, since)) {
        this.conversations.delete(id);
        this.listed.delete(id);
      }
    }
    if (open) this.upsert(open, since);
    this.addPage(rows, cursor, since);
    if (this.openId != null) this.changed('thread');
  }

  /** Whether a live change after ``since`` set what decides the filters a row is in. */
  movedSince(row, since) {
    return (row.live.status || 0) > since || (row.live.assigneeId || 0) > since;
  }

  /** Merges a row; each field a live change set after ``since`` (a fetch's start) keeps
   * its live value, and every other field takes the row's: a replayed message must not
   * keep a stale status or assignee from a read made after it. */
  upsert(row, since = this.version) {
    const known = this.conversations.get(row.conversationId) || { live: {} };
    const merged = { ...known, ...row, live: row.live || known.live };
    for (const [field, at] of Object.entries(known.live)) {
      if (at > since && field in known) merged[field] = known[field];
    }
    if (!row.assignee && merged.assigneeId !== known.assigneeId) merged.assignee = this.agentRef(merged.assigneeId);
    this.conversations.set(row.conversationId, merged);
    return merged;
  }

  agentRef(id) {
    if (id == null) return null;
    if (id === this.agent.id) return { id, name: this.agent.name };
    return this.agents.get(id) || { id, name: `Agent #${id}` };
  }

  /** A live change: update the row and decide whether the current list shows it. */
  live(row) {
    const at = ++this.version;
    const known = this.conversations.get(row.conversationId);
    const live = { ...(known ? known.live : {}) };
    for (const field of Object.keys(row)) live[field] = at;
    if ('assigneeId' in row) live.assignee = at;
    const merged = this.upsert({ ...row, live }, at);
    const id = merged.conversationId;
    // Searches are server-side; a live row joins a search only if it already matched.
    if (this.matches(merged) && !this.query) this.listed.add(id);
    else if (!this.matches(merged) && id !== this.openId) this.listed.delete(id);
    this.changed('list');
    if (id === this.openId) this.changed('thread');
  }

  /** A contact was erased (data rights): nothing of it stays on screen. */
  erase(contactIds, conversationIds) {
    for (const id of conversationIds) {
      this.conversations.delete(id);
      this.listed.delete(id);
      this.threads.delete(id);
      this.typing.delete(id);
    }
    for (const id of contactIds) this.contacts.delete(id);
    if (conversationIds.includes(this.openId)) {
      this.openId = null;
      this.notice = 'This conversation was erased: its contact asked for their data to be deleted.';
    }
    this.changed('list');
    this.changed('thread');
    this.changed('contact');
  }

  rows() {
    return [...this.listed]
      .map((id) => this.conversations.get(id))
      .filter(Boolean)
      .sort((a, b) => activity(b).localeCompare(activity(a)) || b.conversationId - a.conversationId);
  }

  unreadTotal() {
    let total = 0;
    for (const row of this.conversations.values()) if (row.status === 'open') total += row.unread || 0;
    return total;
  }

  // ---------------------------------------------------------------- threads

  thread(id) {
    if (!this.threads.has(id)) {
      this.threads.set(id, { items: [], ids: new Set(), hasOlder: false, contactRead: 0, loaded: false });
    }
    return this.threads.get(id);
  }

  /** Messages and notes, interleaved by time; ids are namespaced since both count from 1. */
  addItems(id, items) {
    const thread = this.thread(id);
    let added = false;
    for (const item of items) {
      const key = `${item.private ? 'n' : 'm'}${item.id}`;
      if (thread.ids.has(key)) continue;
      thread.ids.add(key);
      thread.items.push({ ...item, key });
      added = true;
    }
    if (added) thread.items.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || (a.id - b.id));
    return added;
  }

  oldestMessageId(id) {
    const thread = this.thread(id);
    const first = thread.items.find((item) => !item.private);
    return first ? first.id : null;
  }

  newestContactMessageId(id) {
    const items = this.thread(id).items;
    for (let i = items.length - 1; i >= 0; i -= 1) if (!items[i].private) return items[i].id;
    return 0;
  }

  setTyping(conversationId, name, typing) {
    if (typing) this.typing.set(conversationId, { name, until: Date.now() + 6000 });
    else this.typing.delete(conversationId);
    this.changed('typing', conversationId);
  }

  isTyping(conversationId) {
    const entry = this.typing.get(conversationId);
    return entry && entry.until > Date.now() ? entry : null;
  }
}
