/*! chatwidget identity: ping, identity changes, logout, and the tabs of one browser.
 *
 * An identity change bumps an epoch: answers to requests started under the old identity
 * are dropped, so a slow response can never bring a logged-out history back. Tabs share
 * one identity: a BroadcastChannel per app_id carries logout, identity changes, unread
 * counts and open state; the server's push on each tab's socket is the second path.
 * Handlers compare against local state, so an event heard twice fires once.
 */
import { announceUnread, applyUnread, pickConversation, setOpen, setUnread, stopAgentTyping, upsertConversation } from './chat.js';
import { ChatWidgetError, announceLogin, announceLogout, backoff, browserStore, fail, identityWaiters, key, loggedOut, noop, notify, sleep, state, tabStore } from './state.js';
import { api, bearer, connect, disconnect } from './transport.js';

let settleTimer = null;
let refreshAgain = false;
let refreshing = null;
let switchedAt = 0;
export let opBusy = 0;
let opChain = Promise.resolve();
const SETTLE_MS = 2500; // how long a tab waits for the tab that changed the identity

// Every ping goes through here: a bearer client asks for its token in the body.
export async function requestPing(joined) {
  // The page and its title go to the agents' contact panel.
  const body = { app_id: state.config.appId, page_url: location.href, page_title: document.title };
  if (bearer()) body.transport = 'bearer';
  const sent = bearer() ? browserStore.get(key('token')) : null;
  const data = await api('POST', 'ping/', body, { noRetry: true });
  if (bearer() && data.token) {
    // Pinged without a token while another tab of this origin got one (after a logout):
    // join that tab's visitor instead of splitting the tabs into two.
    const stored = browserStore.get(key('token'));
    if (!sent && stored && stored !== data.token && !joined) return requestPing(true);
    keepToken(data.token);
  }
  return data;
}

// A bearer token lives in this origin's localStorage, shared by its tabs; state.token is
// the one this tab last used, so a tab never drops a newer token another tab stored.
export function keepToken(token) {
  state.token = token;
  browserStore.set(key('token'), token);
}

export function dropToken() {
  if (bearer() && browserStore.get(key('token')) === state.token) browserStore.remove(key('token'));
}

async function ping() {
  const epoch = state.epoch;
  const data = await requestPing();
  if (epoch !== state.epoch) return false;
  const expiry = loggedOut.get(data.contact.id);
  if (expiry && expiry > Date.now()) {
    throw new ChatWidgetError('stale_identity', 'The server has not finished the logout yet.', {});
  }
  applyIdentity(data);
  return true;
}

// One ping at a time; asking again while one runs pings once more after it.
export function refresh() {
  if (refreshing) {
    refreshAgain = true;
    return refreshing;
  }
  refreshing = (async () => {
    for (let attempt = 0; ; attempt++) {
      refreshAgain = false;
      try {
        await ping();
        if (!refreshAgain) return;
      } catch (error) {
        const status = error.data && error.data.status;
        if (status && status < 500 && error.type !== 'stale_identity') throw error;
        await sleep(backoff(attempt));
      }
    }
  })().finally(() => {
    refreshing = null;
  });
  return refreshing;
}

export function loginPayload(contact) {
  return {
    identified: !!contact.identified,
    email: contact.email || null,
    externalId: contact.externalId || null,
    customerId: String(contact.id),
  };
}

export function identityEvents(before, next) {
  if (!before || String(before.id) === String(next.id)) return;
  if (before.identified && !next.identified) announceLogout();
  if (next.identified) announceLogin(next);
}

export function applyIdentity(data) {
  const before = state.contact;
  const next = data.contact;
  const switched = !before || before.id !== next.id;
  state.csrf = data.csrf_token || state.csrf;
  state.widget = data.widget || state.widget;
  if (switched) {
    // Answers to requests made as the previous contact must not land in this one.
    switchedAt = Date.now();
    state.epoch++;
    disconnect();
    clearChat();
    state.lastId = state.baseId = data.last_message_id || 0;
  }
  state.contact = next;
  for (const c of data.conversations || []) upsertConversation(c, true);
  if (switched) {
    setUnread(data.unread);
    pickConversation();
  } else {
    applyUnread(data.unread, false);
  }
  const previous = tabStore.get(key('contact'));
  tabStore.set(key('contact'), { id: next.id, identified: !!next.identified });
  if (switched) {
    // A bearer tab hands its token over too: localStorage reaches other tabs later than
    // this message can, and a tab that pinged without it would mint a second visitor.
    tabs.post({ t: 'identity', id: next.id, identified: !!next.identified,
                token: bearer() ? state.token : undefined });
    if (state.phase === 'ready') identityEvents(before, next);
    else state.bootBefore = previous;
  }
  while (identityWaiters.length) identityWaiters.shift()();
  notify('widget');
  notify(switched ? 'reset' : 'list');
  connect();
}

export async function waitContact() {
  while (!state.contact) await new Promise((resolve) => identityWaiters.push(resolve));
}

// Resolves once the tab has a contact and no identity operation is running.
export async function settled() {
  await opChain;
  await waitContact();
}

// identify and logout run one at a time, in call order.
export function identityOp(fn) {
  const run = opChain.then(async () => {
    opBusy++;
    try {
      return await fn();
    } finally {
      opBusy--;
    }
  });
  opChain = run.catch(noop);
  return run;
}

function clearChat() {
  state.conversations.clear();
  state.messages.clear();
  state.seen.clear();
  state.pending = [];
  state.loaded.clear();
  state.agentRead = {};
  state.readSent = {};
  state.currentId = null;
  state.view = 'thread';
  stopAgentTyping();
}

// The synchronous half of every logout: nothing of the old identity survives it, and
// onLogout fires (here only).
export function logoutLocally() {
  const before = state.contact;
  state.epoch++;
  disconnect();
  state.contact = null;
  clearChat();
  dropToken();
  const hadUnread = state.unread.total;
  setUnread(null);
  if (hadUnread) announceUnread(null);
  notify('reset');
  if (before) loggedOut.set(before.id, Date.now() + 15000);
  announceLogout();
  return before;
}

// Another tab (or the server) changed the identity: wait for that tab's word, then ping.
function awaitIdentity() {
  clearTimeout(settleTimer);
  settleTimer = setTimeout(() => refresh().catch(fail), SETTLE_MS);
}

export function serverLogout() {
  if (!state.contact) return;
  const before = logoutLocally();
  loggedOut.delete(before.id); // the server already revoked the token
  awaitIdentity();
}

export function serverLogin(payload) {
  if (opBusy) return; // this tab's identify() pings when it is done
  if (payload && state.contact && String(state.contact.id) === payload.customerId) return;
  disconnect();
  awaitIdentity();
}

export function contactUpdated(contact) {
  if (contact && state.contact && contact.id === state.contact.id) state.contact = contact;
}

export const tabs = {
  channel: null,
  open(appId) {
    if (!globalThis.BroadcastChannel) return;
    this.channel = new BroadcastChannel('chatwidget:' + appId);
    this.channel.onmessage = (e) => tabMessage(e.data || {});
  },
  post(message) {
    if (this.channel) this.channel.postMessage(message);
  },
};

function tabMessage(m) {
  if (state.phase !== 'ready') return;
  if (m.t === 'logout') {
    if (!state.contact || state.contact.id !== m.id) return;
    logoutLocally();
    awaitIdentity();
  } else if (m.t === 'identity') {
    loggedOut.clear();
    if (state.contact && state.contact.id === m.id) {
      clearTimeout(settleTimer);
      return;
    }
    if (opBusy) return;
    // Two tabs that each became a new visitor at once (a logout) would follow each other
    // forever; the newer visitor (the higher id) wins, so they meet on one.
    const mine = state.contact;
    if (mine && !mine.identified && !m.identified && Date.now() - switchedAt < SETTLE_MS
        && mine.id > m.id) return;
    clearTimeout(settleTimer);
    if (bearer() && m.token) keepToken(m.token);
    refresh().catch(fail);
  } else if (m.t === 'unread' && state.contact && m.id === state.contact.id) {
    applyUnread(m.unread, true);
  } else if (m.t === 'open') {
    setOpen(m.open, { remote: true });
  }
}
