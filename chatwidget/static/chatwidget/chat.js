/*! chatwidget chat: conversations, messages, unread counts, sending, typing, the open
 * state, and the visitor's actions a UI calls (docs/sdk.md "Your own UI").
 */
import { sdk } from './core.js';
import { settled, tabs } from './identity.js';
import { emit, fail, key, noop, notify, prepareOpen, state, tabStore, uid } from './state.js';
import { api, frame, socketSend, upload } from './transport.js';

let typingTimer = null;
let sendChain = Promise.resolve();

export function agentTyping(p) {
  if (!p.sender || p.sender.kind === 'contact' || p.conversationId !== state.currentId) return;
  clearTimeout(typingTimer);
  state.typing = p.typing ? { conversationId: p.conversationId, name: p.sender.name || '' } : null;
  if (p.typing) typingTimer = setTimeout(stopAgentTyping, 8000);
  notify('typing');
}

export function stopAgentTyping() {
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

export function upsertConversation(c, fromPing) {
  if (!c || c.conversationId == null) return;
  const known = state.conversations.get(c.conversationId) || {};
  state.conversations.set(c.conversationId, { ...known, ...c });
  if (!fromPing) {
    notify('list');
    notify('thread'); // a close or reopen shows in the open thread
  }
}

export function conversationCreated(c) {
  const isNew = !state.conversations.has(c.conversationId);
  upsertConversation(c, true);
  if (isNew) state.loaded.add(c.conversationId); // nothing was said in it before now
  if (state.currentId == null) state.currentId = c.conversationId;
  notify('list');
  notify('thread');
}

export function pickConversation() {
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
    // The server reopens a closed conversation when the visitor writes in it.
    const written = !c.lastMessage || c.lastMessage.id < m.id;
    if (written && c.status === 'closed' && m.sender && m.sender.kind === 'contact') c.status = 'open';
    c.lastMessage = m;
    c.lastMessageAt = m.createdAt || c.lastMessageAt;
  }
  return true;
}

export function messageCreated(p) {
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

export function setUnread(u) {
  state.unread = {
    total: (u && u.total) || 0,
    conversations: { ...((u && u.conversations) || {}) },
  };
  notify('unread');
}

export const announceUnread = (change) => emit('onUnread', { total: state.unread.total, change });

export function applyUnread(u, fromTab) {
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
export function markRead() {
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

export function agentRead(p) {
  if (p.reader !== 'agent') return;
  state.agentRead[p.conversationId] = Math.max(state.agentRead[p.conversationId] || 0, p.lastReadId || 0);
  notify('thread');
}

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

export function queueSend(item) {
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

export function setOpen(open, how) {
  open = !!open;
  if (open === state.open) return;
  state.open = open;
  tabStore.set(key('open'), open);
  if (!how.remote) tabs.post({ t: 'open', open });
  notify('open', how);
  markRead();
  emit(open ? 'onChatOpened' : 'onChatClosed', null);
}

export function setHidden(hidden) {
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
