/** The open conversation: header actions, the messages and notes, receipts and typing. */

import { clock, contactName, fileSize, h, replaceChildren } from './dom.js';

export class ThreadView {
  constructor(store, actions, composer) {
    this.store = store;
    this.actions = actions;
    this.composer = composer;
    this.title = h('h2', { className: 'cw-thread-title' });
    this.status = h('span', { className: 'cw-status' });
    this.assignee = h('span', { className: 'cw-thread-assignee' });
    this.assignButton = h('button', { type: 'button', className: 'cw-button', onclick: () => actions.assignToMe() }, 'Assign to me');
    // Any agent (or nobody): the same call the API offers a bot.
    this.assignSelect = h('select', {
      className: 'cw-assign-select',
      attrs: { 'aria-label': 'Assignee' },
      onchange: () => actions.assignTo(this.assignSelect.value === '' ? null : Number(this.assignSelect.value)),
    });
    this.agentsKey = '';
    this.closeButton = h('button', { type: 'button', className: 'cw-button', onclick: () => actions.close() }, 'Close conversation');
    this.reopenButton = h('button', { type: 'button', className: 'cw-button', onclick: () => actions.reopen() }, 'Reopen conversation');
    this.log = h('div', {
      className: 'cw-log',
      tabIndex: 0,
      attrs: { role: 'log', 'aria-label': 'Messages', 'aria-live': 'polite' },
      // Only the agent's own scrolling asks for history, never a re-render's jump.
      onscroll: () => { if (!this.rendering && this.log.scrollTop < 60) actions.loadOlder(); },
    });
    this.typing = h('p', { className: 'cw-typing', attrs: { 'aria-live': 'polite' } });
    this.placeholderTitle = h('p', { className: 'cw-thread-empty-title', attrs: { role: 'status' } },
      'No conversation open');
    this.placeholder = h('div', { className: 'cw-thread-empty' }, this.placeholderTitle,
      h('p', {}, 'Pick one from the list, or press j / k and Enter.'));
    this.body = h('div', { className: 'cw-thread-body', hidden: true },
      h('header', { className: 'cw-thread-head' },
        h('div', { className: 'cw-thread-heading' }, this.title,
          h('p', { className: 'cw-thread-sub' }, this.status, this.assignee)),
        h('div', { className: 'cw-thread-actions' }, this.assignSelect, this.assignButton, this.closeButton, this.reopenButton)),
      this.log, this.typing, composer.element);
    this.element = h('section', { className: 'cw-pane cw-thread-pane', attrs: { 'aria-label': 'Conversation' } },
      this.placeholder, this.body);
    this.renderedId = null;
    store.on('thread', () => this.render());
    store.on('agents', () => this.renderAssignees());
    store.on('typing', (id) => { if (id === store.openId) this.renderTyping(); });
    for (const type of ['dragenter', 'dragover']) {
      this.body.addEventListener(type, (event) => {
        if (!event.dataTransfer || ![...event.dataTransfer.types].includes('Files')) return;
        event.preventDefault();
        this.body.classList.add('is-dropping');
      });
    }
    this.body.addEventListener('dragleave', (event) => {
      if (!this.body.contains(event.relatedTarget)) this.body.classList.remove('is-dropping');
    });
    this.body.addEventListener('drop', (event) => {
      event.preventDefault();
      this.body.classList.remove('is-dropping');
      if (event.dataTransfer && event.dataTransfer.files.length) composer.addFiles(event.dataTransfer.files);
    });
  }

  render() {
    const { store } = this;
    const id = store.openId;
    const row = id != null ? store.conversations.get(id) : null;
    this.placeholder.hidden = !!row;
    this.body.hidden = !row;
    this.placeholderTitle.textContent = store.notice || 'No conversation open';
    if (!row) {
      // Nothing of a conversation that went (an erased contact) stays in the page.
      replaceChildren(this.log);
      this.title.textContent = '';
      this.renderedId = null;
      return;
    }
    const name = contactName(row.contact, row.contactId);
    this.title.textContent = name;
    const closed = row.status === 'closed';
    this.status.textContent = closed ? 'Closed' : 'Open';
    this.status.className = `cw-status ${closed ? 'is-closed' : 'is-open'}`;
    const mine = row.assigneeId === store.agent.id;
    this.assignee.textContent = row.assigneeId == null ? 'Unassigned'
      : `Assigned to ${mine ? 'you' : (row.assignee ? row.assignee.name : `agent #${row.assigneeId}`)}`;
    this.assignButton.hidden = mine;
    this.renderAssignees();
    this.closeButton.hidden = closed;
    this.reopenButton.hidden = !closed;
    this.renderLog(id);
    this.renderTyping();
    this.composer.render();
  }

  /** The assignee menu: rebuilt only when the agents change, so an open menu stays open. */
  renderAssignees() {
    const { store } = this;
    const row = store.openId != null ? store.conversations.get(store.openId) : null;
    if (!row) return;
    const agents = [...store.agents.values()].sort((a, b) => a.name.localeCompare(b.name));
    if (row.assigneeId != null && !store.agents.has(row.assigneeId)) agents.push(store.agentRef(row.assigneeId));
    const key = agents.map((a) => `${a.id}:${a.name}`).join('|');
    if (key !== this.agentsKey) {
      this.agentsKey = key;
      replaceChildren(this.assignSelect,
        h('option', { value: '' }, 'Unassigned'),
        agents.map((a) => h('option', { value: String(a.id) }, a.id === store.agent.id ? `${a.name} (you)` : a.name)));
    }
    this.assignSelect.value = row.assigneeId == null ? '' : String(row.assigneeId);
  }

  renderLog(id) {
    const thread = this.store.thread(id);
    const log = this.log;
    const switched = this.renderedId !== id;
    const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
    const previousHeight = log.scrollHeight;
    const previousTop = log.scrollTop;
    const firstKey = firstItemKey(log);
    this.rendering = true;
    const nodes = [];
    if (thread.hasOlder) nodes.push(h('p', { className: 'cw-older' }, 'Scroll up for older messages'));
    if (thread.loaded && !thread.items.length) nodes.push(h('p', { className: 'cw-log-empty' }, 'No messages yet.'));
    let lastDay = '';
    const row = this.store.conversations.get(id);
    const readUpTo = Math.max(thread.contactRead, (row && row.contactLastReadId) || 0);
    let receiptKey = null;
    for (const item of thread.items) {
      if (!item.private && item.sender.kind === 'agent' && item.id <= readUpTo) receiptKey = item.key;
    }
    for (const item of thread.items) {
      const day = new Date(item.createdAt).toDateString();
      if (day !== lastDay) {
        lastDay = day;
        nodes.push(h('p', { className: 'cw-day' },
          new Date(item.createdAt).toLocaleDateString([], { weekday: 'short', month: 'short', day: 'numeric' })));
      }
      nodes.push(this.item(item, item.key === receiptKey));
    }
    replaceChildren(log, nodes);
    this.renderedId = id;
    if (switched || atBottom) log.scrollTop = log.scrollHeight;
    else if (firstKey && firstItemKey(log) !== firstKey) {
      log.scrollTop = previousTop + (log.scrollHeight - previousHeight);  // older ones went on top
    } else log.scrollTop = previousTop;
    requestAnimationFrame(() => requestAnimationFrame(() => {
      this.rendering = false;
      // A scroll to the top made while this render settled was ignored above: ask now. This
      // also fills a log whose newest page is too short to scroll.
      if (this.renderedId === id && thread.hasOlder && log.scrollTop < 60) this.actions.loadOlder();
    }));
  }

  item(item, seen) {
    if (item.private) {
      return h('article', { className: 'cw-msg cw-note', dataset: { key: item.key } },
        h('header', { className: 'cw-msg-head' },
          h('span', { className: 'cw-note-label' }, 'Private note'),
          h('span', { className: 'cw-msg-name' }, item.author ? item.author.name : ''),
          h('time', { className: 'cw-msg-time', dateTime: item.createdAt }, clock(item.createdAt))),
        h('div', { className: 'cw-msg-body' }, item.body));
    }
    const kind = item.sender.kind;
    return h('article', { className: `cw-msg cw-from-${kind}`, dataset: { key: item.key, id: String(item.id) } },
      h('header', { className: 'cw-msg-head' },
        h('span', { className: 'cw-msg-name' }, item.sender.name || (kind === 'system' ? 'System' : '')),
        h('time', { className: 'cw-msg-time', dateTime: item.createdAt }, clock(item.createdAt))),
      item.body ? h('div', { className: 'cw-msg-body' }, item.body) : null,
      item.attachments.length ? h('div', { className: 'cw-attachments' }, item.attachments.map((a) => this.attachment(a))) : null,
      seen ? h('p', { className: 'cw-receipt' }, 'Seen') : null);
  }

  attachment(attachment) {
    if (/^image\/(png|jpe?g|gif|webp)$/.test(attachment.content_type)) {
      return h('a', { className: 'cw-image', href: attachment.url, target: '_blank', rel: 'noopener' },
        h('img', { src: attachment.url, alt: attachment.name, loading: 'lazy' }));
    }
    return h('a', { className: 'cw-file', href: attachment.url, download: attachment.name },
      h('span', { className: 'cw-file-name' }, attachment.name),
      h('span', { className: 'cw-file-size' }, fileSize(attachment.size)));
  }

  renderTyping() {
    const entry = this.store.openId != null ? this.store.isTyping(this.store.openId) : null;
    this.typing.textContent = entry ? `${entry.name} is typing…` : '';
    this.typing.classList.toggle('is-active', !!entry);
    if (entry) {
      clearTimeout(this.typingTimer);
      this.typingTimer = setTimeout(() => this.renderTyping(), entry.until - Date.now() + 50);
    }
  }
}

function firstItemKey(log) {
  const first = log.querySelector('[data-key]');
  return first ? first.dataset.key : null;
}
