/*! chatwidget core: the headless SDK's public face (docs/sdk.md "Module layout").
 *
 * `sdk` is window.chatwidget's implementation; with `state`, `subscribe` and `actions`
 * (re-exported here) a page can draw its own UI. The core is state.js, transport.js,
 * identity.js and chat.js; none touches the DOM, so the core runs without any UI.
 */
import { markRead, queueSend, setHidden, setOpen, upsertConversation } from './chat.js';
import { applyIdentity, contactUpdated, dropToken, identityEvents, identityOp, keepToken, logoutLocally, refresh, requestPing, settled, tabs, waitContact } from './identity.js';
import { ChatWidgetError, EVENTS, addCallbacks, backoff, browserStore, call, canonical, emit, fail, key, listeners, loggedOut, noop, notify, prepareOpen, readyQueue, sleep, state, tabStore, uid } from './state.js';
import { api, bearer, connect, disconnect, reconnectNow, setConnection, socket } from './transport.js';
export { ChatWidgetError, EVENTS, beforeOpen, state, subscribe } from './state.js';
export { actions } from './chat.js';

let resolveConsent = null;
let readyPromise = null;
let defaults = {};

function whenReady(fn) {
  if (state.phase === 'ready') {
    try {
      return Promise.resolve(fn());
    } catch (error) {
      return Promise.reject(error);
    }
  }
  return new Promise((resolve, reject) => readyQueue.push([fn, resolve, reject]));
}

function rejectWith(type, message) {
  return Promise.reject(fail(new ChatWidgetError(type, message, {})));
}

/** Defaults from the page (the template tag's data-* and json_script): load() options win. */
export function configureDefaults(values) {
  defaults = { ...defaults, ...values };
}

function configure(options) {
  const d = defaults;
  const api = options.api || d.api || '/chatwidget/api/';
  const apiOrigin = new URL(api, location.href).origin;
  let socketPath = options.socket || d.socket || '/ws/chatwidget/';
  if (apiOrigin !== location.origin && !/^wss?:/.test(socketPath)) {
    socketPath = apiOrigin.replace(/^http/, 'ws') + socketPath;
  }
  return {
    appId: options.app_id || d.appId || 'default',
    api,
    socket: socketPath,
    // The API on another origin: no cookie can authenticate, a bearer token does.
    bearer: apiOrigin !== location.origin,
    css: options.css || d.css || new URL('chatwidget.css', import.meta.url).href,
    nonce: d.nonce || '',
    strings: { ...(d.strings || {}), ...(options.strings || {}) },
    locale: options.locale || d.locale || document.documentElement.lang || navigator.language || 'en',
    requireConsent: 'require_consent' in options ? !!options.require_consent : !!d.requireConsent,
    consentOnOpen: 'consent_on_open' in options ? !!options.consent_on_open : d.consentOnOpen !== false,
  };
}

export const sdk = {
  version: '1.1.0',

  load(options) {
    options = options || {};
    addCallbacks(options.callbacks);
    if (readyPromise) return readyPromise;
    state.config = configure(options);
    state.phase = 'loading';
    tabs.open(state.config.appId);
    readyPromise = boot();
    return readyPromise;
  },

  /** With consent required: true lets the widget store its token and connect. */
  consent(granted) {
    if (!state.config) return Promise.reject(new ChatWidgetError('invalid', 'Call load() first.', {}));
    if (!granted) {
      browserStore.remove(key('consent'));
      return Promise.resolve(false);
    }
    browserStore.set(key('consent'), true);
    if (resolveConsent) resolveConsent();
    return readyPromise.then(() => true);
  },

  identify(externalId, attributes, options) {
    if (options === undefined && attributes && typeof attributes === 'object' && 'userHash' in attributes) {
      options = attributes;
      attributes = undefined;
    }
    options = options || {};
    return whenReady(() => {
      if (typeof externalId !== 'string' || !externalId) {
        return rejectWith('invalid', 'identify() needs a non-empty externalId string.');
      }
      return identityOp(async () => {
        await waitContact();
        const before = state.contact;
        const epoch = state.epoch;
        let data;
        try {
          data = await api('POST', 'identify/', {
            external_id: externalId,
            user_hash: options.userHash || '',
            attributes: attributes || {},
            email: options.email || undefined,
            name: options.name || undefined,
          }, { noRetry: true });
        } catch (error) {
          throw fail(error);
        }
        if (epoch !== state.epoch) throw fail(new ChatWidgetError('logged_out', 'logout() ran while identify() was pending.', {}));
        if (bearer() && data.token) keepToken(data.token);
        if (String(before.id) !== data.login.customerId) {
          // The server rotated the token: the old sockets are dead; ping as the new contact.
          disconnect();
          await refresh();
        } else {
          state.contact = data.contact;
        }
        return data.login;
      });
    });
  },

  setAttributes(attributes) {
    return whenReady(async () => {
      await settled();
      try {
        const data = await api('POST', 'attributes/', { attributes: attributes || {} }, { sameIdentity: true });
        contactUpdated(data.contact);
        return data.contact;
      } catch (error) {
        throw fail(error);
      }
    });
  },

  logout() {
    return whenReady(() => {
      // A bearer token is dropped from storage at once: keep it for the revoke call.
      const token = bearer() ? state.token : null;
      const before = logoutLocally();
      const id = before ? before.id : null;
      browserStore.set(key('logout'), id);
      tabs.post({ t: 'logout', id });
      return identityOp(() => finishLogout(id, token));
    }).catch((error) => ({ error: fail(error).toJSON() })); // settles, never rejects
  },

  open() {
    return whenReady(async () => {
      await prepareOpen();
      state.hidden = false;
      setOpen(true, {});
    });
  },

  close() {
    return whenReady(() => setOpen(false, {}));
  },

  show() {
    return whenReady(() => setHidden(false));
  },

  hide() {
    return whenReady(() => {
      setOpen(false, {});
      setHidden(true);
    });
  },

  isOpen() {
    return state.open;
  },

  sendMessage(text, options) {
    const files = Array.from((options && options.attachments) || []);
    return whenReady(() => {
      const body = text == null ? '' : String(text);
      if (!body.trim() && !files.length) return rejectWith('invalid', 'sendMessage() needs text or attachments.');
      return queueSend({ clientId: uid(), conversationId: null, body, files, failed: false });
    });
  },

  describeConversation(params, callback) {
    params = params || {};
    const promise = whenReady(async () => {
      await settled();
      try {
        const data = await api('POST', 'conversations/' + encodeURIComponent(params.conversationId) + '/describe/', {
          custom_attributes: params.customAttributes || {},
        }, { sameIdentity: true });
        upsertConversation(data.conversation);
        return data.conversation;
      } catch (error) {
        throw fail(error);
      }
    });
    if (typeof callback === 'function') {
      // The callback is the caller's error handler: no unhandled-rejection noise for it.
      promise.then((response) => call(callback, [response, undefined]), (error) => call(callback, [null, error]));
    }
    return promise;
  },

  getUnreadCount() {
    return { total: state.unread.total, conversations: { ...state.unread.conversations } };
  },

  addListener(event, fn) {
    event = canonical(event);
    if (!EVENTS[event] || typeof fn !== 'function') return;
    if (!listeners.has(event)) listeners.set(event, []);
    const list = listeners.get(event);
    if (!list.includes(fn)) list.push(fn);
  },

  removeListener(event, fn) {
    const list = listeners.get(canonical(event));
    const i = list ? list.indexOf(fn) : -1;
    if (i >= 0) list.splice(i, 1);
  },
};

async function finishLogout(id, token) {
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        await api('POST', 'logout/', {}, { noRetry: true, token });
        break;
      } catch (error) {
        const status = error.data && error.data.status;
        if (status === 401) break; // no token left to revoke
        if ((status && status < 500) || attempt === 2) throw error;
        await sleep(backoff(attempt));
      }
    }
    browserStore.remove(key('logout'));
    if (id != null) loggedOut.delete(id);
    await refresh();
    return {};
  } catch (error) {
    return { error: fail(error).toJSON() };
  }
}

// Consent-first (CHATWIDGET["REQUIRE_CONSENT"]): no ping (so no cookie or token) and no
// socket until the page or the visitor says yes.
function awaitConsent() {
  if (!state.config.requireConsent || browserStore.get(key('consent'))) return null;
  state.phase = 'consent';
  notify('boot');
  return new Promise((resolve) => { resolveConsent = resolve; });
}

async function boot() {
  const consent = awaitConsent();
  if (consent) {
    await consent;
    resolveConsent = null;
    state.phase = 'loading';
  }
  for (let attempt = 0; ; attempt++) {
    try {
      const data = await requestPing();
      state.csrf = data.csrf_token;
      const pendingLogout = browserStore.get(key('logout'));
      if (pendingLogout !== null && pendingLogout !== undefined) {
        // A logout() whose request never reached the server (tab closed): finish it first.
        if (pendingLogout === data.contact.id) {
          await api('POST', 'logout/', {}, { noRetry: true }).catch(noop);
          dropToken();
        }
        browserStore.remove(key('logout'));
        continue;
      }
      applyIdentity(data);
      break;
    } catch (error) {
      const status = error.data && error.data.status;
      if (attempt === 0 || (status && status < 500)) fail(error);
      if (status && status < 500) {
        state.phase = 'idle';
        for (const [, , reject] of readyQueue.splice(0)) reject(error);
        readyPromise = null;
        throw error;
      }
      await sleep(backoff(attempt));
    }
  }
  state.phase = 'ready';
  notify('boot');
  const contact = state.contact;
  connect();
  emit('onReady', { contact });
  identityEvents(state.bootBefore, contact);
  if (tabStore.get(key('open'))) setOpen(true, { remote: true });
  for (const [fn, resolve, reject] of readyQueue.splice(0)) {
    try {
      Promise.resolve(fn()).then(resolve, reject);
    } catch (error) {
      reject(error);
    }
  }
  return { contact };
}

globalThis.addEventListener('online', reconnectNow);
globalThis.addEventListener('offline', () => socket.want && !socket.ws && setConnection('offline'));
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState !== 'visible') return;
  reconnectNow();
  markRead();
});
