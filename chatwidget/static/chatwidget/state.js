/*! chatwidget state: the headless core's state, its subscribers, and the client event
 * catalogue with the page's callbacks and listeners (docs/sdk.md "Module layout").
 * Nothing here touches the DOM. Every client event is emitted from exactly one function.
 */
import { loginPayload } from './identity.js';

// THE client event catalogue: each event maps its listener response to the positional
// arguments of the `callbacks` given to load(). Listeners get (response, error).
export const EVENTS = {
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

export class ChatWidgetError extends Error {
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

export const noop = () => {};
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
export const backoff = (attempt) => Math.min(30000, 500 * 2 ** attempt) * (0.5 + Math.random() / 2);

export function uid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

const store = (area) => ({
  get(key) {
    try { return JSON.parse(globalThis[area].getItem(key)); } catch (e) { return null; }
  },
  set(key, value) {
    try { globalThis[area].setItem(key, JSON.stringify(value)); } catch (e) { /* private mode */ }
  },
  remove(key) {
    try { globalThis[area].removeItem(key); } catch (e) { /* private mode */ }
  },
});
export const tabStore = store('sessionStorage'); // survives navigation within one tab
export const browserStore = store('localStorage'); // shared by every tab of this origin

// Read by UIs; changed only by the core modules. subscribe() tells what changed.
export const state = {
  config: null,
  phase: 'idle', // idle → loading (→ consent) → ready
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
  connection: 'idle',
  token: null, // a cross-origin embed's bearer token (never the cookie's)
  typing: null, // {conversationId, name} while an agent types
  upload: null, // fraction of the running upload
};
const callbacks = new Map();
export const listeners = new Map();
const subscribers = new Set();
const openers = []; // what a UI must prepare before its window can show (a lazy module)
export const readyQueue = [];
export const identityWaiters = [];
export const loggedOut = new Map(); // contact id → expiry: a late answer must not resurrect it

export const canonical = (name) => ALIASES[name] || name;
export const key = (suffix) => 'chatwidget:' + state.config.appId + ':' + suffix;

/** fn(change, detail) after each state change; change names what to redraw:
 * 'boot', 'widget', 'open', 'view', 'unread', 'list', 'thread', 'connection', 'typing',
 * 'upload', 'reset'. Returns the unsubscribe function. */
export function subscribe(fn) {
  subscribers.add(fn);
  return () => subscribers.delete(fn);
}

/** fn() → Promise, awaited before open() opens the window: a UI loads what it lazily
 * needs there, so the window is complete when open() resolves and onChatOpened fires. */
export function beforeOpen(fn) {
  openers.push(fn);
}

export const prepareOpen = () => Promise.all(openers.map((fn) => fn()));

export function notify(change, detail) {
  for (const fn of [...subscribers]) call(fn, [change, detail]);
}

export function call(fn, args) {
  try {
    fn.apply(null, args);
  } catch (error) {
    // A page's handler must not break the widget; still surface its error.
    setTimeout(() => { throw error; });
  }
}

export function emit(name, response, error) {
  const args = EVENTS[name](response);
  for (const fn of callbacks.get(name) || []) call(fn, args);
  for (const fn of [...(listeners.get(name) || [])]) call(fn, [response, error]);
}

export function fail(error) {
  if (!(error instanceof ChatWidgetError)) {
    error = new ChatWidgetError('error', String((error && error.message) || error));
  }
  if (!error.reported) {
    error.reported = true;
    emit('onError', error.toJSON(), error);
  }
  return error;
}

export function addCallbacks(given) {
  for (const [name, fn] of Object.entries(given || {})) {
    const event = canonical(name);
    if (!EVENTS[event] || typeof fn !== 'function') continue;
    if (!callbacks.has(event)) callbacks.set(event, []);
    callbacks.get(event).push(fn);
  }
}

// The one place each identity event fires.
export const announceLogout = () => emit('onLogout', {});
export const announceLogin = (contact) => emit('onLogin', loginPayload(contact));
