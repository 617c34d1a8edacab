// The browser tests' in-page recorder (see helpers.RECORDER_JS). It runs after the
// documented queue stub, before any page script: load() with a callback and
// addListener() with a listener for every event, through the stub's queue, exactly as
// a site would before the SDK has loaded; it also records ping answers, sockets and
// BroadcastChannel posts so tests can look behind the widget.
const plain = (v) => (v === undefined ? '__undefined__' : JSON.parse(JSON.stringify(v)));
const names = __EVENT_NAMES__;
window.__cb = [];
window.__ls = [];
window.__pings = [];
window.__sockets = [];
window.__broadcasts = [];
window.__ready = false;
const callbacks = {};
for (const name of names) {
  callbacks[name] = function () { window.__cb.push({ event: name, args: Array.from(arguments, plain) }); };
}
window.chatwidget.load(window.__appId ? { app_id: window.__appId, callbacks } : { callbacks });
for (const name of names) {
  window.chatwidget.addListener(name, (response, error) => window.__ls.push({
    event: name,
    response: plain(response),
    error: error ? { type: error.type, message: error.message, isError: error instanceof Error } : null,
  }));
}
window.chatwidget.addListener('onReady', () => { window.__ready = true; });

const nativeFetch = window.fetch;
window.fetch = async function (input, init) {
  const response = await nativeFetch.apply(this, arguments);
  if (String(input).endsWith('/ping/') && response.ok) {
    response.clone().text().then((text) => window.__pings.push({ text, contact: JSON.parse(text).contact }));
  }
  return response;
};
const NativeSocket = window.WebSocket;
window.WebSocket = class extends NativeSocket {
  constructor(...args) {
    if (window.__blockSockets) throw new DOMException('blocked by the test', 'NetworkError');
    super(...args);
    window.__sockets.push(this);
    // The server's "ready" frame: the socket has joined its groups and hears pushes.
    this.addEventListener('message', (event) => {
      try { if (JSON.parse(event.data).type === 'ready') this.__cwReady = true; } catch (e) { /* not JSON */ }
    });
  }
};
const post = BroadcastChannel.prototype.postMessage;
BroadcastChannel.prototype.postMessage = function (message) {
  window.__broadcasts.push(JSON.parse(JSON.stringify(message)));
  return post.call(this, message);
};
