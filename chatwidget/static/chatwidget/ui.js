/*! chatwidget ui: the launcher and the window's frame, drawn from the core's state.
 *
 * It only subscribes to the core and calls its actions. The frame (launcher, dialog,
 * header with the connection status) is built at boot; the conversation panel (list,
 * thread, composer) is a separate module loaded the first time the window opens.
 * Everything lives in an open Shadow DOM so host CSS cannot break it.
 */
import { state, actions, subscribe, beforeOpen } from './core.js';
import { translator, timeFormatter, isRtl } from './strings.js';

// ------------------------------------------------------------------ DOM helpers
// Every piece of data goes in as text (textContent, attributes); only http(s) URLs
// become links. panel.js imports these too.
const SVG = 'http://www.w3.org/2000/svg';
const ICONS = {
  chat: 'M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z',
  close: 'M6 6l12 12M18 6L6 18',
  back: 'M15 5l-7 7 7 7',
  send: 'M3 20l18-8L3 4v6l12 2-12 2z',
  clip: 'M16 7l-7.5 7.5a2 2 0 0 0 2.8 2.8L19 9.6a4 4 0 0 0-5.7-5.7l-7.8 7.8a6 6 0 0 0 8.5 8.5L20 14',
};

export function el(tag, attrs, children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (name === 'text') node.textContent = value;
    else if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else if (value === true) node.setAttribute(name, '');
    else if (value !== false && value != null) node.setAttribute(name, value);
  }
  for (const child of children || []) if (child) node.append(child);
  return node;
}

export function icon(name, cls) {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  if (cls) svg.setAttribute('class', cls);
  const path = document.createElementNS(SVG, 'path');
  path.setAttribute('d', ICONS[name]);
  svg.append(path);
  return svg;
}

export const button = (cls, label, onclick, children) =>
  el('button', { type: 'button', class: cls, 'aria-label': label, onclick }, children);

export function safeUrl(value) {
  try {
    const url = new URL(value, location.href);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : null;
  } catch (e) {
    return null;
  }
}

// ------------------------------------------------------------------ the frame

const ui = {};
let panel = null;
let panelLoading = null;

export function mountUI() {
  subscribe(changed);
  beforeOpen(loadPanel);
}

function changed(change, detail) {
  if (change === 'boot') {
    build();
    renderAll();
    return;
  }
  if (!ui.host) return;
  if (change === 'widget') {
    renderWidget();
    renderConnection();
  }
  else if (change === 'open') renderOpen(detail || {});
  else if (change === 'connection') renderConnection();
  else if (change === 'unread') renderLauncher();
  if (panel) panel.render(change);
}

function loadPanel() {
  if (!panelLoading) {
    panelLoading = import('./panel.js').then((module) => {
      panel = module.attach(ui);
      return panel;
    });
  }
  return panelLoading;
}

// Readable text on the accent: dark text on light accents, white on dark ones (WCAG AA).
function accentForeground(hex) {
  let h = hex.slice(1);
  if (h.length <= 4) h = [...h.slice(0, 3)].map((c) => c + c).join('');
  const lin = (i) => {
    const c = parseInt(h.slice(i, i + 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  const l = 0.2126 * lin(0) + 0.7152 * lin(2) + 0.0722 * lin(4);
  return (1.05) / (l + 0.05) >= (l + 0.05) / (0.0124 + 0.05) ? '#fff' : '#111827';
}

function build() {
  if (ui.host) return;
  const config = state.config;
  ui.t = translator(config.strings, config.locale);
  ui.when = timeFormatter(config.locale);
  const t = ui.t;
  const host = document.createElement('chatwidget-root');
  // Inline !important beats any host stylesheet rule aimed at the host element.
  const hostStyle = { position: 'fixed', 'z-index': '2147483000', right: '0', bottom: '0',
    width: '0', height: '0', display: 'block', visibility: 'hidden' };
  for (const [prop, value] of Object.entries(hostStyle)) host.style.setProperty(prop, value, 'important');
  const root = host.attachShadow({ mode: 'open' });
  const link = el('link', { rel: 'stylesheet', href: config.css, nonce: config.nonce || null });
  const reveal = () => host.style.setProperty('visibility', 'visible', 'important');
  link.addEventListener('load', reveal);
  link.addEventListener('error', reveal);
  setTimeout(reveal, 3000);

  ui.title = el('h2', { class: 'cw-title', id: 'cw-title' });
  ui.status = el('p', { class: 'cw-status', role: 'status' });
  ui.presence = el('p', { class: 'cw-presence' });
  ui.back = button('cw-icon cw-back', t('back'), () => {
    actions.showList();
    ui.newBtn.focus(); // the back button hides itself: keep the focus in the window
  }, [icon('back')]);
  ui.closeBtn = button('cw-icon', t('close'), () => actions.close(), [icon('close')]);
  const titles = el('div', { class: 'cw-titles' }, [ui.title, ui.presence, ui.status]);
  // A div, not <header>: a second banner landmark inside the page is an a11y error.
  const header = el('div', { class: 'cw-header' }, [ui.back, titles, ui.closeBtn]);

  ui.win = el('section', {
    class: 'cw-window', id: 'cw-window', role: 'dialog', 'aria-labelledby': 'cw-title',
    hidden: true, onkeydown: (e) => {
      if (e.key !== 'Escape') return;
      e.stopPropagation();
      actions.close();
    },
  }, [header]);

  ui.badge = el('span', { class: 'cw-badge', hidden: true, 'aria-hidden': 'true' });
  ui.launcher = el('button', {
    type: 'button', class: 'cw-launcher', 'aria-expanded': 'false', 'aria-controls': 'cw-window',
    onclick: launcherClick, onpointerenter: () => state.phase === 'ready' && loadPanel(),
  }, [icon('chat', 'cw-when-closed'), icon('close', 'cw-when-open'), ui.badge]);
  const rtl = isRtl(config.locale);
  ui.wrap = el('div', { class: 'cw', dir: rtl ? 'rtl' : 'ltr', lang: config.locale }, [ui.win, ui.launcher]);
  root.append(link, ui.wrap);
  ui.host = host;
  ui.root = root;
  (document.body || document.documentElement).append(host);
}

function launcherClick() {
  if (state.phase === 'ready') {
    if (state.open) actions.close();
    else actions.open();
  } else if (state.phase === 'consent' && state.config.consentOnOpen) {
    // Opening the chat is the visitor's consent (CHATWIDGET["CONSENT_ON_OPEN"]).
    actions.consent(true).then(actions.open, () => {});
  }
}

function renderAll() {
  renderWidget();
  renderOpen({});
  renderConnection();
  renderLauncher();
}

function renderWidget() {
  const w = state.widget || {};
  ui.title.textContent = w.name || ui.t('title');
  if (/^#[0-9a-f]{3}([0-9a-f]{3})?$/i.test(w.color || '')) {
    ui.host.style.setProperty('--cw-accent', w.color);
    ui.host.style.setProperty('--cw-accent-fg', accentForeground(w.color));
  }
}

function renderOpen(how) {
  // A launcher that could not start the chat (consent is the page's alone) is not shown.
  ui.wrap.hidden = state.hidden || (state.phase === 'consent' && !state.config.consentOnOpen);
  ui.launcher.setAttribute('aria-expanded', String(state.open));
  ui.launcher.classList.toggle('cw-active', state.open);
  renderLauncher();
  if (state.open && !panel) {
    // The window shows once its panel is there, so focus can move into it at once.
    loadPanel().then(() => state.open && renderOpen(how));
    return;
  }
  const wasOpen = !ui.win.hidden;
  ui.win.hidden = !state.open;
  if (state.open) {
    if (!wasOpen) panel.render('open');
    if (how.focus) panel.focus();
  } else if (how.focus || ui.root.activeElement) {
    ui.launcher.focus();
  }
}

function renderLauncher() {
  const n = state.unread.total;
  const t = ui.t;
  ui.badge.textContent = n > 99 ? '99+' : String(n);
  ui.badge.hidden = !n;
  ui.launcher.setAttribute('aria-label', (state.open ? t('close') : t('open')) + (n ? ', ' + t('unread', { n }) : ''));
}

function renderConnection() {
  const t = ui.t;
  const labels = { connecting: t('connecting'), reconnecting: t('reconnecting'), offline: t('offline') };
  ui.status.textContent = labels[state.connection] || '';
  ui.wrap.dataset.connection = state.connection;
  // Whether an agent is there now, else when one usually answers.
  const w = state.widget || {};
  ui.presence.textContent = w.agentsOnline ? t('online') : w.replyTime || '';
  ui.wrap.dataset.agents = w.agentsOnline ? 'online' : 'away';
}
