/*! chatwidget panel: the open window's content (conversation list, thread, composer),
 * loaded by ui.js the first time the window opens.
 *
 * The thread is a role=log live region: new messages are appended (never the whole log
 * redrawn), so a screen reader announces each one once. A sent message keeps the node
 * its pending bubble had.
 */
import { state, actions } from './core.js';
import { el, icon, button, safeUrl } from './ui.js';

let ui;
let t;
const thread = { key: null, nodes: new Map(), greeting: null, seen: null };

export function attach(shell) {
  ui = shell;
  t = ui.t;
  build();
  return { render, focus: () => ui.input.focus() };
}

function build() {
  ui.list = el('ul', { class: 'cw-list', 'aria-label': t('conversations') });
  ui.newBtn = el('button', { type: 'button', class: 'cw-new', text: t('newConversation'), onclick: startNew });
  ui.listView = el('div', { class: 'cw-listview', hidden: true }, [ui.newBtn, ui.list]);

  // Not an <ol>: list items may not be children of a role=log element.
  ui.log = el('div', { class: 'cw-log', role: 'log', 'aria-live': 'polite', 'aria-label': t('messages'), tabindex: '0' });
  ui.typing = el('p', { class: 'cw-typing', 'aria-live': 'polite' });
  ui.closedNote = el('p', { class: 'cw-closed', role: 'status', hidden: true, text: t('closed') });

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
  ui.threadView = el('div', { class: 'cw-threadview' }, [ui.log, ui.closedNote, ui.typing, ui.composer]);
  ui.drop = el('div', { class: 'cw-drop', hidden: true, text: t('drop') });
  ui.win.append(ui.listView, ui.threadView, ui.drop);
  for (const type of ['dragenter', 'dragover']) ui.win.addEventListener(type, dragOver);
  ui.win.addEventListener('dragleave', (e) => { if (!ui.win.contains(e.relatedTarget)) ui.drop.hidden = true; });
  ui.win.addEventListener('drop', dropFiles);
  ui.pendingFiles = [];
}

function render(change) {
  if (change === 'typing') return renderTyping();
  if (change === 'upload') return renderUpload();
  if (change === 'connection' || change === 'widget') return;
  if (change === 'reset') {
    // Nothing of the previous identity stays in the DOM, even in a closed window.
    ui.log.replaceChildren();
    ui.list.replaceChildren();
    thread.key = null;
    ui.pendingFiles = [];
    renderFiles();
    renderTyping();
  }
  renderView();
  renderList();
  renderThread();
}

function renderView() {
  const list = state.view === 'list';
  ui.listView.hidden = !list;
  ui.threadView.hidden = list;
  ui.back.hidden = list || state.conversations.size === 0;
}

function renderList() {
  if (state.view !== 'list') return;
  const items = [...state.conversations.values()].sort((a, b) =>
    (b.lastMessageAt || b.createdAt || '').localeCompare(a.lastMessageAt || a.createdAt || ''));
  ui.list.replaceChildren(...items.map((c) => {
    const n = state.unread.conversations[c.conversationId] || 0;
    const last = c.lastMessage;
    const preview = last ? last.body || (last.attachments || []).map((a) => a.name).join(', ') : '';
    const current = c.conversationId === state.currentId;
    return el('li', {}, [el('button', {
      type: 'button', class: 'cw-item', 'aria-current': current ? 'true' : null,
      onclick: () => showConversation(c.conversationId),
    }, [
      el('span', { class: 'cw-preview', text: preview || t('newConversation') }),
      n ? el('span', { class: 'cw-count', 'aria-hidden': 'true', text: String(n) }) : null,
      n ? el('span', { class: 'cw-sr', text: ', ' + t('unread', { n }) + ', ' }) : null,
      el('time', { class: 'cw-time', text: ui.when(c.lastMessageAt || c.createdAt) }),
    ])]);
  }));
  if (!items.length) ui.list.append(el('li', { class: 'cw-empty', text: t('empty') }));
}

function renderThread() {
  if (state.view !== 'thread' || !state.open) return; // history loads on first open
  const id = state.currentId;
  if (id != null && !state.loaded.has(id)) actions.loadHistory(id);
  const log = ui.log;
  const key = state.epoch + ':' + id;
  if (thread.key !== key) {
    // Another conversation (or identity): the only time the log is redrawn.
    log.replaceChildren();
    thread.nodes.clear();
    thread.greeting = thread.seen = null;
    thread.key = key;
  }
  const stick = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
  const greeting = state.widget && state.widget.greeting;
  if (greeting && !thread.greeting) {
    // Styled as an agent's message, but not one: it is the widget's, always first.
    thread.greeting = bubble({ sender: { kind: 'greeting', name: state.widget.name }, body: greeting });
    log.prepend(thread.greeting);
  }
  const messages = id != null ? state.messages.get(id) || [] : [];
  const pending = state.pending.filter((p) => p.conversationId == null || p.conversationId === id);
  const wanted = [...messages.map((m) => ['m' + m.id, m]), ...pending.map((p) => ['p' + p.clientId, p])];
  for (const m of messages) adoptPending(m);
  const keep = new Set(wanted.map(([k]) => k));
  for (const [k, node] of thread.nodes) {
    if (!keep.has(k)) {
      node.remove();
      thread.nodes.delete(k);
    }
  }
  let previous = thread.greeting;
  for (const [k, item] of wanted) {
    let node = thread.nodes.get(k);
    if (!node) {
      node = k[0] === 'm' ? bubble(item) : pendingBubble(item);
      thread.nodes.set(k, node);
    } else if (k[0] === 'p') {
      pendingNote(node, item);
    }
    const expected = previous ? previous.nextSibling : log.firstChild;
    if (expected !== node) {
      if (previous) previous.after(node);
      else log.prepend(node);
    }
    previous = node;
  }
  renderSeen(id, messages);
  const conversation = id != null ? state.conversations.get(id) : null;
  ui.closedNote.hidden = !(conversation && conversation.status === 'closed');
  if (stick || pending.length) log.scrollTop = log.scrollHeight;
}

// The stored message takes over its pending bubble's node (not announced twice).
function adoptPending(m) {
  const node = m.clientId && thread.nodes.get('p' + m.clientId);
  if (!node || thread.nodes.has('m' + m.id)) return;
  thread.nodes.delete('p' + m.clientId);
  node.classList.remove('cw-pending');
  for (const extra of node.querySelectorAll('.cw-note, .cw-retry')) extra.remove();
  const fresh = bubble(m);
  node.replaceChildren(...fresh.childNodes);
  thread.nodes.set('m' + m.id, node);
}

function renderSeen(id, messages) {
  const readUpTo = state.agentRead[id] || 0;
  let last = null;
  for (const m of messages) if (m.sender.kind === 'contact' && m.id <= readUpTo) last = m;
  const node = last && thread.nodes.get('m' + last.id);
  if (!node) return;
  if (!thread.seen) thread.seen = el('span', { class: 'cw-note', text: t('seen') });
  if (thread.seen.parentNode !== node) node.append(thread.seen);
}

function pendingBubble(p) {
  const node = bubble({ sender: { kind: 'contact' }, body: p.body, attachments: p.files.map((f) => ({ name: f.name })) }, 'cw-pending');
  pendingNote(node, p);
  return node;
}

function pendingNote(node, p) {
  const text = p.failed ? t('failed') : t('sending');
  const note = node.querySelector(':scope > .cw-note');
  if (note && note.textContent === text) return;
  if (note) note.remove();
  const old = node.querySelector(':scope > .cw-retry');
  if (old) old.remove();
  node.append(el('span', { class: 'cw-note', text }));
  if (p.failed) node.append(el('button', { type: 'button', class: 'cw-retry', text: t('retry'), onclick: () => actions.retry(p) }));
}

// Message text becomes text nodes; only http(s) URLs become links.
function richText(text) {
  const out = [];
  const pattern = /\bhttps?:\/\/[^\s<>"']+/gi;
  let at = 0;
  let match;
  while ((match = pattern.exec(text))) {
    const raw = match[0].replace(/[.,;:!?)\]]+$/, '');
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
  const node = el('div', { class: 'cw-msg cw-' + kind + (extra ? ' ' + extra : '') });
  const name = kind === 'contact' ? t('you') : (m.sender && m.sender.name) || t('agent');
  node.append(el('span', { class: 'cw-name', text: name }));
  if (m.body) node.append(el('div', { class: 'cw-bubble' }, richText(m.body)));
  const files = (m.attachments || []).map((a) => {
    const href = a.url ? safeUrl(a.url) : null;
    const label = el('span', { text: a.name || 'file' });
    const item = href
      ? el('a', { href, target: '_blank', rel: 'noopener noreferrer', download: a.name || true }, [icon('clip'), label])
      : label;
    const image = href && /^image\/(png|jpeg|gif|webp)$/.test(a.content_type || '');
    return el('li', {}, [image ? el('img', { src: href, alt: a.name || '', loading: 'lazy' }) : null, item]);
  });
  if (files.length) node.append(el('ul', { class: 'cw-atts' }, files));
  if (m.createdAt) node.append(el('time', { class: 'cw-time', datetime: m.createdAt, text: ui.when(m.createdAt) }));
  return node;
}

function renderUpload() {
  const fraction = state.upload;
  ui.progress.hidden = fraction == null;
  const percent = Math.round((fraction || 0) * 100);
  ui.bar.style.width = percent + '%';
  ui.progress.setAttribute('aria-valuenow', String(percent));
}

function renderTyping() {
  const typing = state.typing;
  ui.typing.textContent = typing && typing.conversationId === state.currentId
    ? t('typing', { name: typing.name || t('agent') }) : '';
}

// ------------------------------------------------------------------ behaviour

function composerKey(e) {
  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    composerSubmit(e);
  }
}

function composerInput() {
  ui.input.style.height = 'auto';
  ui.input.style.height = Math.min(ui.input.scrollHeight, 120) + 'px';
  actions.typing();
}

function composerSubmit(e) {
  e.preventDefault();
  const body = ui.input.value;
  const files = ui.pendingFiles;
  if (!body.trim() && !files.length) return;
  ui.input.value = '';
  ui.input.style.height = '';
  ui.pendingFiles = [];
  renderFiles();
  actions.send(body, files);
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

function showConversation(id) {
  actions.showConversation(id);
  ui.input.focus();
}

function startNew() {
  actions.startNew();
  ui.input.focus();
}
