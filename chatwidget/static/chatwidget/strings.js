/*! chatwidget strings: the English fallback of the one catalogue of UI labels.
 *
 * The catalogue itself is chatwidget/templatetags/chatwidget.py widget_strings(): the
 * template tag passes the active language's translations (Django gettext). These English
 * texts are its msgids, used only where no translation was passed (a page without the
 * tag); tests/test_strings.py keeps both in step. A plural label is an object of
 * Intl.PluralRules categories.
 */
export const STRINGS = {
  title: 'Support',
  open: 'Open chat',
  close: 'Close chat',
  unread: { one: '{n} unread', other: '{n} unread' },
  message: 'Message',
  placeholder: 'Write a message…',
  send: 'Send',
  attach: 'Attach files',
  remove: 'Remove {name}',
  back: 'All conversations',
  conversations: 'Conversations',
  newConversation: 'New conversation',
  empty: 'No conversations yet.',
  messages: 'Messages',
  connecting: 'Connecting…',
  reconnecting: 'Reconnecting…',
  offline: 'Offline. Messages are sent when the connection returns.',
  typing: '{name} is typing…',
  agent: 'Support',
  you: 'You',
  sending: 'Sending…',
  failed: 'Not sent.',
  retry: 'Retry',
  seen: 'Seen',
  drop: 'Drop files to attach',
  uploading: 'Uploading',
  online: 'We are online',
  closed: 'This conversation was closed. Write to reopen it.',
};

const RTL = new Set(['ar', 'fa', 'he', 'ur', 'ps', 'yi', 'dv', 'ckb']);

/** Right-to-left scripts: the widget mirrors its layout for them. */
export const isRtl = (locale) => RTL.has(String(locale).toLowerCase().split(/[-_]/)[0]);

/** t(name, values): the label in the page's language, with {placeholders} filled in and
 * a plural form chosen by Intl.PluralRules from values.n. */
export function translator(strings, locale) {
  let plurals;
  try {
    plurals = new Intl.PluralRules(locale);
  } catch (e) {
    plurals = new Intl.PluralRules('en');
  }
  return (name, values) => {
    values = values || {};
    let text = strings[name] || STRINGS[name] || name;
    if (typeof text === 'object') {
      const forms = { ...STRINGS[name], ...text };
      text = forms[plurals.select(Number(values.n) || 0)] || forms.other;
    }
    return text.replace(/\{(\w+)\}/g, (m, k) => (k in values ? values[k] : m));
  };
}

/** when(iso): a time today, else a date, in the page's language. */
export function timeFormatter(locale) {
  const make = (options) => {
    try {
      return new Intl.DateTimeFormat(locale, options);
    } catch (e) {
      return new Intl.DateTimeFormat('en', options);
    }
  };
  const time = make({ hour: '2-digit', minute: '2-digit' });
  const day = make({ dateStyle: 'medium' });
  return (iso) => {
    if (!iso) return '';
    const date = new Date(iso);
    if (isNaN(date)) return '';
    return new Date().toDateString() === date.toDateString() ? time.format(date) : day.format(date);
  };
}
