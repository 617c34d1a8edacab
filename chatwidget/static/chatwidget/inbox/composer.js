/**
 * The reply box: Enter sends, Shift+Enter is a newline, files by picker, paste and drop
 * (with upload progress), `/shortcut` saved replies, a private-note mode, and the agent's
 * typing sent to the visitor (throttled; never in note mode).
 */

import { fileSize, h, replaceChildren } from './dom.js';

const TYPING_EVERY = 3000;
const TYPING_IDLE = 4000;

export class Composer {
  constructor(store, actions) {
    this.store = store;
    this.actions = actions;
    this.mode = 'reply';
    this.files = [];
    this.suggestions = [];
    this.suggestionIndex = 0;
    this.replyTab = h('button', { type: 'button', className: 'cw-mode', attrs: { 'aria-pressed': 'true' }, onclick: () => this.setMode('reply') }, 'Reply');
    this.noteTab = h('button', { type: 'button', className: 'cw-mode', attrs: { 'aria-pressed': 'false' }, onclick: () => this.setMode('note') }, 'Note');
    this.input = h('textarea', {
      className: 'cw-input',
      rows: 3,
      placeholder: 'Write a reply… (Enter sends, Shift+Enter for a new line, / for saved replies)',
      attrs: { 'aria-label': 'Reply', 'aria-autocomplete': 'list' },
      onkeydown: (event) => this.keydown(event),
      oninput: () => { this.typed(); this.suggest(); },
      onpaste: (event) => {
        const files = event.clipboardData ? [...event.clipboardData.files] : [];
        if (files.length) {
          event.preventDefault();
          this.addFiles(files);
        }
      },
      onblur: () => this.stopTyping(),
    });
    this.picker = h('input', {
      type: 'file', multiple: true, hidden: true,
      onchange: () => { this.addFiles(this.picker.files); this.picker.value = ''; },
    });
    this.attachButton = h('button', {
      type: 'button', className: 'cw-icon-button', attrs: { 'aria-label': 'Attach files', title: 'Attach files' },
      onclick: () => this.picker.click(),
    }, paperclip());
    this.sendButton = h('button', { type: 'button', className: 'cw-button cw-primary', onclick: () => this.submit() }, 'Send');
    this.fileList = h('ul', { className: 'cw-pending', attrs: { 'aria-label': 'Attachments to send' } });
    this.progress = h('progress', { className: 'cw-progress', max: 1, value: 0, hidden: true, attrs: { 'aria-label': 'Upload progress' } });
    this.error = h('p', { className: 'cw-composer-error', attrs: { role: 'alert' } });
    this.menu = h('ul', {
      className: 'cw-saved', id: 'cw-saved-replies', hidden: true,
      attrs: { role: 'listbox', 'aria-label': 'Saved replies' },
    });
    this.input.setAttribute('aria-controls', this.menu.id);
    this.element = h('div', { className: 'cw-composer' },
      h('div', { className: 'cw-modes', attrs: { role: 'group', 'aria-label': 'Write' } }, this.replyTab, this.noteTab),
      this.menu,
      h('div', { className: 'cw-compose-box' },
        this.input,
        this.fileList, this.progress, this.error,
        h('div', { className: 'cw-compose-bar' },
          h('span', { className: 'cw-compose-left' }, this.attachButton, this.picker,
            h('span', { className: 'cw-hint' }, 'Enter to send · Shift+Enter new line')),
          this.sendButton)));
  }

  render() {
    const row = this.store.conversations.get(this.store.openId);
    const note = this.mode === 'note';
    this.element.classList.toggle('is-note', note);
    this.replyTab.setAttribute('aria-pressed', String(!note));
    this.noteTab.setAttribute('aria-pressed', String(note));
    this.input.setAttribute('aria-label', note ? 'Private note' : 'Reply');
    this.input.placeholder = note
      ? 'Write a private note: only agents see it'
      : (row && row.status === 'closed' ? 'This conversation is closed. Reopen it to continue, or write a reply anyway.'
        : 'Write a reply… (Enter sends, Shift+Enter for a new line, / for saved replies)');
    this.sendButton.textContent = note ? 'Add note' : 'Send';
    this.attachButton.hidden = note;
    this.fileList.hidden = note || !this.files.length;
  }

  setMode(mode) {
    this.mode = mode;
    if (mode === 'note') this.stopTyping();
    this.render();
    this.input.focus();
  }

  addFiles(files) {
    if (this.mode === 'note') this.setMode('reply');
    this.files.push(...files);
    this.renderFiles();
  }

  renderFiles() {
    replaceChildren(this.fileList, this.files.map((file, index) => h('li', { className: 'cw-chip' },
      h('span', { className: 'cw-chip-name' }, file.name),
      h('span', { className: 'cw-chip-size' }, fileSize(file.size)),
      h('button', {
        type: 'button', className: 'cw-chip-remove', attrs: { 'aria-label': `Remove ${file.name}` },
        onclick: () => { this.files.splice(index, 1); this.renderFiles(); this.input.focus(); },
      }, '×'))));
    this.fileList.hidden = !this.files.length;
  }

  keydown(event) {
    if (!this.menu.hidden) {
      if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
        event.preventDefault();
        const step = event.key === 'ArrowDown' ? 1 : -1;
        this.suggestionIndex = (this.suggestionIndex + step + this.suggestions.length) % this.suggestions.length;
        this.renderMenu();
        return;
      }
      if (event.key === 'Enter' || event.key === 'Tab') {
        event.preventDefault();
        this.insert(this.suggestions[this.suggestionIndex]);
        return;
      }
      if (event.key === 'Escape') {
        event.preventDefault();
        this.closeMenu();
        return;
      }
    }
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      this.submit();
    } else if (event.key === 'Escape') {
      event.preventDefault();
      this.input.blur();
      this.actions.leaveComposer();
    }
  }

  /** The `/word` being typed at the caret, if any. */
  slashToken() {
    const before = this.input.value.slice(0, this.input.selectionStart);
    const match = before.match(/(^|\s)\/([\w-]*)$/);
    return match ? { query: match[2], start: before.length - match[2].length - 1 } : null;
  }

  async suggest() {
    const token = this.mode === 'reply' ? this.slashToken() : null;
    if (!token) {
      this.closeMenu();
      return;
    }
    const asked = this.input.value;
    const results = await this.actions.savedReplies(token.query);
    if (this.input.value !== asked) return;  // typed on meanwhile; a newer call answers
    this.suggestions = results;
    this.suggestionIndex = 0;
    this.renderMenu();
  }

  renderMenu() {
    this.menu.hidden = !this.suggestions.length;
    this.input.setAttribute('aria-expanded', String(!this.menu.hidden));
    replaceChildren(this.menu, this.suggestions.map((reply, index) => h('li', {
      id: `cw-saved-${reply.id}`,
      className: `cw-saved-item${index === this.suggestionIndex ? ' is-active' : ''}`,
      attrs: { role: 'option', 'aria-selected': String(index === this.suggestionIndex) },
      onmousedown: (event) => { event.preventDefault(); this.insert(reply); },
    }, h('span', { className: 'cw-saved-shortcut' }, `/${reply.shortcut}`),
    h('span', { className: 'cw-saved-text' }, reply.text))));
    const active = this.suggestions[this.suggestionIndex];
    if (active) this.input.setAttribute('aria-activedescendant', `cw-saved-${active.id}`);
    else this.input.removeAttribute('aria-activedescendant');
  }

  closeMenu() {
    this.suggestions = [];
    this.menu.hidden = true;
    this.input.setAttribute('aria-expanded', 'false');
    this.input.removeAttribute('aria-activedescendant');
  }

  insert(reply) {
    const token = this.slashToken();
    if (!reply || !token) return;
    const value = this.input.value;
    const caret = this.input.selectionStart;
    this.input.value = value.slice(0, token.start) + reply.text + value.slice(caret);
    const end = token.start + reply.text.length;
    this.input.setSelectionRange(end, end);
    this.closeMenu();
    this.input.focus();
  }

  typed() {
    if (this.mode !== 'reply' || this.store.openId == null) return;
    const now = Date.now();
    if (!this.typingSentAt || now - this.typingSentAt > TYPING_EVERY) {
      this.typingSentAt = now;
      this.typingId = this.store.openId;
      this.actions.typing(this.typingId, true);
    }
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => this.stopTyping(), TYPING_IDLE);
  }

  stopTyping() {
    clearTimeout(this.idleTimer);
    if (this.typingSentAt && this.typingId != null) this.actions.typing(this.typingId, false);
    this.typingSentAt = 0;
  }

  async submit() {
    const body = this.input.value.trim();
    const files = this.mode === 'reply' ? [...this.files] : [];
    if (!body && !files.length) return;
    this.error.textContent = '';
    this.sendButton.disabled = true;
    this.stopTyping();
    try {
      if (this.mode === 'note') await this.actions.note(body);
      else {
        if (files.length) this.progress.hidden = false;
        await this.actions.reply(body, files, (fraction) => { this.progress.value = fraction; });
        this.files = [];
        this.renderFiles();
      }
      this.input.value = '';
    } catch (error) {
      this.showError(error);
    } finally {
      this.sendButton.disabled = false;
      this.progress.hidden = true;
      this.progress.value = 0;
    }
  }

  showError(error) {
    this.error.textContent = (error && error.message) || 'Something went wrong.';
  }

  reset() {
    this.stopTyping();
    this.closeMenu();
    this.input.value = '';
    this.files = [];
    this.renderFiles();
    this.error.textContent = '';
    this.mode = 'reply';
  }
}

/** A paperclip drawn in SVG: emoji fonts are not on every agent's machine. */
function paperclip() {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('width', '18');
  svg.setAttribute('height', '18');
  svg.setAttribute('aria-hidden', 'true');
  const path = document.createElementNS(ns, 'path');
  path.setAttribute('d', 'M21 11.5l-8.6 8.6a5.5 5.5 0 0 1-7.8-7.8l8.6-8.6a3.7 3.7 0 0 1 5.2 5.2l-8.6 8.6a1.8 1.8 0 0 1-2.6-2.6l7.9-7.9');
  path.setAttribute('fill', 'none');
  path.setAttribute('stroke', 'currentColor');
  path.setAttribute('stroke-width', '2');
  path.setAttribute('stroke-linecap', 'round');
  path.setAttribute('stroke-linejoin', 'round');
  svg.append(path);
  return svg;
}
