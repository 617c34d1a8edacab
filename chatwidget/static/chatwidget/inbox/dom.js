/**
 * Building DOM without markup strings: every piece of text goes in through textContent,
 * so names, messages and attributes written by visitors can never become markup.
 */

/**
 * h('button', {className: 'x', onclick, attrs: {'aria-label': 'Send'}}, 'text', child)
 * Props named on* become listeners; `attrs` are set with setAttribute; `dataset` is merged;
 * anything else is assigned as a property (className, hidden, disabled, tabIndex...).
 */
export function h(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null) continue;
    if (key === 'attrs') {
      for (const [name, attr] of Object.entries(value)) {
        if (attr !== undefined && attr !== null && attr !== false) node.setAttribute(name, String(attr));
      }
    } else if (key === 'dataset') {
      Object.assign(node.dataset, value);
    } else if (key.startsWith('on') && typeof value === 'function') {
      node.addEventListener(key.slice(2), value);
    } else {
      node[key] = value;
    }
  }
  append(node, children);
  return node;
}

export function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function replaceChildren(node, ...children) {
  node.textContent = '';
  return append(node, children);
}

const units = [['day', 86400], ['hour', 3600], ['minute', 60]];

/** "3 min", "2 h", "5 d", or "now": the list's age column. */
export function age(iso, now = Date.now()) {
  if (!iso) return '';
  const seconds = Math.max(0, (now - Date.parse(iso)) / 1000);
  for (const [unit, size] of units) {
    if (seconds >= size) {
      const n = Math.floor(seconds / size);
      return { day: `${n} d`, hour: `${n} h`, minute: `${n} min` }[unit];
    }
  }
  return 'now';
}

export function clock(iso) {
  if (!iso) return '';
  const date = new Date(iso);
  const sameDay = date.toDateString() === new Date().toDateString();
  const time = date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  return sameDay ? time : `${date.toLocaleDateString([], { month: 'short', day: 'numeric' })} ${time}`;
}

export function fileSize(bytes) {
  if (bytes == null) return '';
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(0)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** The contact's name, or "Visitor #id" like the server's display_name. */
export function contactName(contact, contactId) {
  if (contact && (contact.name || contact.displayName)) return contact.name || contact.displayName;
  if (contact && contact.email) return contact.email;
  return `Visitor #${contact ? contact.id : contactId}`;
}

export function initials(name) {
  const parts = String(name || '?').replace(/[^\p{L}\p{N} ]/gu, ' ').trim().split(/\s+/);
  return ((parts[0] || '?')[0] + (parts.length > 1 ? parts[parts.length - 1][0] : '')).toUpperCase();
}
