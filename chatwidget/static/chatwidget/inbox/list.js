/** The conversation list: filters, search, live rows, cursor paging, j/k navigation. */

import { age, contactName, h, initials, replaceChildren } from './dom.js';
import { FILTERS } from './store.js';

const FILTER_LABELS = { open: 'Open', mine: 'Mine', unassigned: 'Unassigned', closed: 'Closed', all: 'All' };

export class ListView {
  constructor(store, actions) {
    this.store = store;
    this.actions = actions;
    this.filterButtons = FILTERS.map((filter) => h('button', {
      type: 'button',
      className: 'cw-filter',
      dataset: { filter },
      attrs: { 'aria-pressed': String(filter === store.filter) },
      onclick: () => actions.setFilter(filter),
    }, FILTER_LABELS[filter]));
    this.search = h('input', {
      type: 'search',
      className: 'cw-search',
      placeholder: 'Search name, email, id or message',
      attrs: { 'aria-label': 'Search conversations' },
      oninput: () => {
        clearTimeout(this.searchTimer);
        this.searchTimer = setTimeout(() => actions.setQuery(this.search.value.trim()), 250);
      },
    });
    this.list = h('ul', {
      className: 'cw-list',
      attrs: { role: 'listbox', 'aria-label': 'Conversations' },
      onkeydown: (event) => this.keydown(event),
    });
    this.empty = h('p', { className: 'cw-list-empty', hidden: true });
    this.more = h('button', {
      type: 'button', className: 'cw-more', hidden: true, onclick: () => actions.loadMore(),
    }, 'Load more');
    this.element = h('section', { className: 'cw-pane cw-list-pane', attrs: { 'aria-label': 'Conversation list' } },
      h('div', { className: 'cw-list-head' },
        h('div', { className: 'cw-filters', attrs: { role: 'group', 'aria-label': 'Filter' } }, this.filterButtons),
        this.search),
      h('div', { className: 'cw-list-scroll', onscroll: () => this.maybeMore() }, this.list, this.empty, this.more));
    store.on('list', () => this.render());
    setInterval(() => this.refreshAges(), 30_000);
  }

  render() {
    const { store } = this;
    for (const button of this.filterButtons) {
      button.setAttribute('aria-pressed', String(button.dataset.filter === store.filter));
    }
    const rows = store.rows();
    if (store.activeId == null || !rows.some((r) => r.conversationId === store.activeId)) {
      store.activeId = rows.length ? (rows.some((r) => r.conversationId === store.openId) ? store.openId : rows[0].conversationId) : null;
    }
    const hadFocus = this.list.contains(document.activeElement);
    replaceChildren(this.list, rows.map((row) => this.item(row)));
    this.empty.hidden = rows.length > 0 || store.listLoading;
    this.empty.textContent = store.query ? 'No conversation matches this search.' : 'No conversations here.';
    this.more.hidden = !store.cursor;
    if (hadFocus) this.focusActive();
  }

  item(row) {
    const { store } = this;
    const id = row.conversationId;
    const name = contactName(row.contact, row.contactId);
    const preview = row.preview !== undefined ? row.preview : (row.lastMessage ? row.lastMessage.body : '');
    const fromAgent = row.lastMessage && row.lastMessage.sender.kind === 'agent';
    const assignee = row.assignee ? (row.assignee.id === store.agent.id ? 'You' : row.assignee.name) : 'Unassigned';
    const unread = row.unread || 0;
    const selected = id === store.activeId;
    return h('li', {
      id: `cw-conv-${id}`,
      className: ['cw-item', id === store.openId ? 'is-open' : '', unread ? 'is-unread' : '',
        row.status === 'closed' ? 'is-closed' : ''].join(' '),
      tabIndex: selected ? 0 : -1,
      dataset: { id: String(id) },
      attrs: { role: 'option', 'aria-selected': String(id === store.openId) },
      onclick: () => this.actions.open(id),
      onfocus: () => { store.activeId = id; },
    },
    h('span', { className: 'cw-avatar', attrs: { 'aria-hidden': 'true' } }, initials(name)),
    h('span', { className: 'cw-item-main' },
      h('span', { className: 'cw-item-top' },
        h('span', { className: 'cw-item-name' }, name),
        h('time', { className: 'cw-age', dateTime: row.lastMessageAt || row.createdAt || '', dataset: { at: row.lastMessageAt || row.createdAt || '' } },
          age(row.lastMessageAt || row.createdAt))),
      h('span', { className: 'cw-item-preview' },
        preview ? (fromAgent ? `${row.lastMessage.sender.name}: ${preview}` : preview) : 'No messages yet'),
      h('span', { className: 'cw-item-meta' },
        h('span', { className: 'cw-assignee' }, assignee),
        row.status === 'closed' ? h('span', { className: 'cw-badge cw-badge-closed' }, 'Closed') : null,
        unread ? h('span', { className: 'cw-unread', attrs: { 'aria-label': `${unread} unread` } }, String(unread)) : null)));
  }

  refreshAges() {
    for (const time of this.list.querySelectorAll('time.cw-age')) time.textContent = age(time.dataset.at);
  }

  maybeMore() {
    const scroller = this.list.parentElement;
    if (this.store.cursor && !this.store.listLoading
        && scroller.scrollTop + scroller.clientHeight > scroller.scrollHeight - 80) {
      this.actions.loadMore();
    }
  }

  /** j/k or arrows move the highlight; Enter opens (document-level keys call these too). */
  move(step) {
    const rows = this.store.rows();
    if (!rows.length) return;
    let index = rows.findIndex((r) => r.conversationId === this.store.activeId);
    index = Math.max(0, Math.min(rows.length - 1, index + step));
    this.store.activeId = rows[index].conversationId;
    for (const node of this.list.children) node.tabIndex = Number(node.dataset.id) === this.store.activeId ? 0 : -1;
    this.focusActive();
    if (index === rows.length - 1) this.maybeMore();
  }

  focusActive() {
    const node = this.list.querySelector(`[data-id="${this.store.activeId}"]`);
    if (node) {
      node.focus({ preventScroll: true });
      node.scrollIntoView({ block: 'nearest' });
    }
  }

  keydown(event) {
    if (event.key === 'Enter' && this.store.activeId != null) {
      event.preventDefault();
      this.actions.open(this.store.activeId);
    } else if (event.key === 'ArrowDown') {
      event.preventDefault();
      this.move(1);
    } else if (event.key === 'ArrowUp') {
      event.preventDefault();
      this.move(-1);
    }
  }
}
