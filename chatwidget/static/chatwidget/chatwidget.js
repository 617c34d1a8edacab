/*! chatwidget: the entry a page loads (docs/sdk.md). It installs window.chatwidget at
 * once, reads the template tag's configuration, then imports the headless core
 * (core.js) and the UI (ui.js), which lazily imports the open window's panel (panel.js).
 *
 * It has no import/export statement on purpose, so it runs both as the tag's
 * `<script type="module">` and as a classic `<script defer>` of a hand-written embed;
 * the modules arrive through import(). Until they have, window.chatwidget queues every
 * call (the documented stub's queue first), and replays them in order: never dropped.
 * Plain ES, no build step, no dependencies.
 */
(function () {
  'use strict';
  if (window.chatwidget && window.chatwidget.version) return; // included twice: keep the first

  const script = document.currentScript || document.querySelector('script[data-chatwidget]');
  const src = (script && script.src) || new URL('/static/chatwidget/chatwidget.js', location.href).href;
  const data = (script && script.dataset) || {};
  const METHODS = ['load', 'consent', 'identify', 'setAttributes', 'logout', 'open', 'close', 'show',
    'hide', 'sendMessage', 'describeConversation', 'addListener', 'removeListener'];
  const SYNC = new Set(['addListener', 'removeListener']);

  function tagConfig() {
    let extra = {};
    const configEl = data.config && document.getElementById(data.config);
    if (configEl) {
      try { extra = JSON.parse(configEl.textContent) || {}; } catch (e) { extra = {}; }
    }
    return {
      appId: data.appId || extra.app_id,
      // Without data-api the API is at the default path on the origin serving this file.
      api: data.api || new URL('/chatwidget/api/', src).href,
      socket: data.socket,
      css: data.css || new URL('chatwidget.css', src).href,
      nonce: (script && script.nonce) || '',
      strings: extra.strings,
      locale: extra.locale,
      requireConsent: extra.require_consent,
      consentOnOpen: extra.consent_on_open,
    };
  }

  // The stub's queue, then calls made to this object before the modules arrived.
  const stub = window.chatwidget;
  const queue = stub && Array.isArray(stub.q) ? stub.q.slice() : [];
  let sdk = null;
  const chatwidget = {
    version: '1.1.0',
    isOpen: () => (sdk ? sdk.isOpen() : false),
    getUnreadCount: () => (sdk ? sdk.getUnreadCount() : { total: 0, conversations: {} }),
  };
  for (const method of METHODS) {
    chatwidget[method] = function () {
      if (sdk) return sdk[method].apply(sdk, arguments);
      const args = arguments;
      if (SYNC.has(method)) {
        queue.push([method, args]);
        return undefined;
      }
      return new Promise((resolve, reject) => queue.push([method, args, resolve, reject]));
    };
  }
  window.chatwidget = chatwidget;

  Promise.all([import(new URL('core.js', src).href), import(new URL('ui.js', src).href)]).then(([core, ui]) => {
    core.configureDefaults(tagConfig());
    ui.mountUI();
    sdk = core.sdk;
    let loadQueued = false;
    for (const [method, args, resolve, reject] of queue.splice(0)) {
      if (method === 'load') loadQueued = true;
      const fn = sdk[method];
      if (typeof fn !== 'function') {
        if (reject) reject(new core.ChatWidgetError('invalid', 'Unknown method ' + method, {}));
        continue;
      }
      try {
        const result = fn.apply(sdk, Array.from(args));
        if (resolve) Promise.resolve(result).then(resolve, reject);
      } catch (error) {
        if (reject) reject(error);
      }
    }
    if (!loadQueued && script && data.autoload !== 'false' && 'appId' in data) {
      sdk.load({}).catch(() => {});
    }
  });
})();
