/** The contact panel: who the visitor is, what they told us, where they are, and their
 *  other conversations. All of it is visitor-supplied text, rendered as text. */

import { age, contactName, h, replaceChildren } from './dom.js';

export class ContactView {
  constructor(store, actions) {
    this.store = store;
    this.actions = actions;
    this.content = h('div', { className: 'cw-contact-content' });
    this.element = h('aside', { className: 'cw-pane cw-contact-pane', attrs: { 'aria-label': 'Contact' } }, this.content);
    store.on('contact', () => this.render());
    store.on('thread', () => this.render());
  }

  render() {
    const row = this.store.conversations.get(this.store.openId);
    if (!row) {
      replaceChildren(this.content);
      return;
    }
    const detail = this.store.contacts.get(row.contactId);
    const contact = (detail && detail.contact) || row.contact || { id: row.contactId };
    const name = contactName(contact, row.contactId);
    const sections = [
      h('div', { className: 'cw-contact-head' },
        h('h2', { className: 'cw-contact-name' }, name),
        this.identity(contact)),
      this.fields('Details', [
        ['Email', contact.email],
        ['Name', contact.name && contact.name !== name ? contact.name : null],
        ['External id', contact.externalId],
        ['First seen', since(contact.createdAt)],
        ['Last seen', since(contact.lastSeenAt)],
      ]),
      this.fields('Visiting', [
        ['Page', contact.pageUrl ? this.pageLink(contact) : null],
        ['Browser', contact.userAgent ? browserName(contact.userAgent) : null, contact.userAgent],
      ]),
      this.fields('Attributes', Object.entries(contact.attributes || {}).map(([k, v]) => [k, display(v)])),
      this.fields('Conversation attributes', Object.entries(row.customAttributes || {}).map(([k, v]) => [k, display(v)])),
      this.others(detail, row.conversationId),
    ];
    replaceChildren(this.content, sections);
  }

  identity(contact) {
    const identity = contact.identity;
    if (identity && identity.kind === 'user') {
      const label = `Site user ${identity.username || `#${identity.userId}`}`;
      return h('p', { className: 'cw-identity is-user' },
        identity.adminUrl ? h('a', { href: identity.adminUrl }, label) : label);
    }
    if ((identity && identity.kind === 'external') || contact.externalId) {
      return h('p', { className: 'cw-identity is-external' }, 'Verified external id');
    }
    if (!identity && contact.userId) {  // the list's summary, until the panel's data loads
      return h('p', { className: 'cw-identity is-user' }, `Site user #${contact.userId}`);
    }
    return h('p', { className: 'cw-identity is-anonymous' }, 'Anonymous visitor');
  }

  pageLink(contact) {
    let safe = null;
    try {
      const url = new URL(contact.pageUrl);
      if (url.protocol === 'http:' || url.protocol === 'https:') safe = url.href;
    } catch { /* not a URL: shown as text */ }
    const label = contact.pageTitle || contact.pageUrl;
    return safe ? h('a', { href: safe, target: '_blank', rel: 'noopener noreferrer', title: contact.pageUrl }, label) : label;
  }

  fields(title, pairs) {
    const shown = pairs.filter(([, value]) => value !== null && value !== undefined && value !== '');
    if (!shown.length) return null;
    return h('section', { className: 'cw-contact-section' },
      h('h3', {}, title),
      h('dl', { className: 'cw-fields' }, shown.map(([key, value, full]) => [
        h('dt', {}, key),
        h('dd', { title: full || (typeof value === 'string' ? value : undefined) }, value),
      ])));
  }

  others(detail, currentId) {
    if (!detail) return h('p', { className: 'cw-contact-loading' }, 'Loading…');
    const others = detail.conversations.filter((c) => c.conversationId !== currentId);
    return h('section', { className: 'cw-contact-section' },
      h('h3', {}, 'Other conversations'),
      others.length
        ? h('ul', { className: 'cw-others' }, others.map((c) => h('li', {},
          h('a', {
            href: this.actions.conversationUrl(c.conversationId),
            onclick: (event) => { event.preventDefault(); this.actions.open(c.conversationId); },
          },
          h('span', { className: 'cw-other-preview' }, c.preview || (c.lastMessage && c.lastMessage.body) || `Conversation #${c.conversationId}`),
          h('span', { className: 'cw-other-meta' }, `${c.status === 'closed' ? 'Closed' : 'Open'} · ${age(c.lastMessageAt || c.createdAt)}`)))))
        : h('p', { className: 'cw-muted' }, 'None.'));
  }
}

function since(iso) {
  if (!iso) return null;
  const ago = age(iso);
  return ago === 'now' ? 'just now' : `${ago} ago`;
}

function display(value) {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function browserName(agent) {
  const found = agent.match(/(Edg|OPR|Firefox|Chrome|Safari)\/(\d+)/);
  const os = agent.match(/(Windows|Mac OS X|Android|iPhone|Linux)/);
  if (!found) return agent.slice(0, 60);
  const name = { Edg: 'Edge', OPR: 'Opera' }[found[1]] || found[1];
  return `${name} ${found[2]}${os ? ` · ${os[1].replace('Mac OS X', 'macOS')}` : ''}`;
}
