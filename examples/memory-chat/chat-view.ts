import { PerchError, type Id, type Message, type MessageState, type PerchClient, type User } from '@perch/core';
import { el, linkified, replaceChildren, timeElement, type Cleanup, type View } from './element.js';

const STATE_LABELS: Record<MessageState, string> = {
  pending: 'Sending…',
  sent: 'Sent',
  delivered: 'Delivered',
  read: 'Read',
  failed: 'Not sent',
};

/** A direct conversation: the message log, who is typing, and a composer (Enter sends, Shift+Enter adds a line). */
export interface ChatView extends View {
  /** Shows the conversation once the panel knows its id; until then the composer is disabled. */
  open(conversationId: Id): void;
}

/** The chat between `me` and `other`, as `client` sees it. */
export function chatView(client: PerchClient, me: User, other: User, idPrefix: string): ChatView {
  const first = other.name.split(' ')[0];
  const log = el('ol', { class: 'messages', role: 'log', 'aria-live': 'polite', 'aria-label': `Messages with ${other.name}` });
  const typing = el('p', { class: 'typing', 'aria-live': 'polite' });
  const input = el('textarea', {
    id: `${idPrefix}-compose`,
    name: 'message',
    rows: 2,
    placeholder: `Message ${first}`,
    'aria-describedby': `${idPrefix}-hint`,
    disabled: true,
  });
  const send = el('button', { type: 'submit', disabled: true }, 'Send');
  const notice = el('p', { class: 'notice', role: 'alert' });
  const form = el(
    'form',
    { class: 'composer', 'aria-label': `Write to ${other.name}` },
    el('label', { for: input.id, class: 'visually-hidden' }, `Message to ${other.name}`),
    input,
    send,
    el('p', { id: `${idPrefix}-hint`, class: 'hint' }, 'Enter sends, Shift+Enter starts a new line.'),
  );
  const element = el(
    'section',
    { class: 'card chat', 'aria-labelledby': `${idPrefix}-title` },
    el('h3', { id: `${idPrefix}-title` }, `Chat with ${first}`),
    log,
    typing,
    form,
    notice,
  );
  const cleanups: Cleanup[] = [];
  let conversationId: Id | undefined;

  const names = new Map([
    [me.id, 'You'],
    [other.id, other.name],
  ]);

  const render = (messages: Message[]) => {
    const nearBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
    replaceChildren(log, messages.length ? messages.map((m) => item(m)) : [el('li', { class: 'empty' }, 'No messages yet. Say hello!')]);
    if (nearBottom) log.scrollTop = log.scrollHeight;
    // The conversation is on screen, so whatever arrived from the other side counts as read.
    if (conversationId && messages.some((m) => m.senderId !== me.id && m.seq !== undefined)) {
      client.markRead(conversationId).catch(() => {});
    }
  };

  const item = (m: Message): HTMLLIElement => {
    const mine = m.senderId === me.id;
    const meta = el('p', { class: 'meta' }, timeElement(m.sentAt ?? m.createdAt));
    if (m.editedAt) meta.append(' · edited');
    if (mine) meta.append(' · ', el('span', { class: 'state' }, STATE_LABELS[m.state]));
    const li = el(
      'li',
      { class: mine ? 'message mine' : 'message theirs', 'data-state': m.state, 'data-client-id': m.clientId },
      el('span', { class: 'visually-hidden' }, `${names.get(m.senderId) ?? m.senderId}: `),
      m.deleted ? el('p', { class: 'text deleted' }, 'Message deleted') : el('p', { class: 'text' }, linkified(m.text)),
      meta,
    );
    if (m.state === 'failed') li.append(failure(m));
    return li;
  };

  const failure = (m: Message): HTMLElement => {
    const retry = el('button', { type: 'button', class: 'link' }, 'Retry');
    const discard = el('button', { type: 'button', class: 'link' }, 'Discard');
    retry.addEventListener('click', () => client.retry(m.clientId));
    discard.addEventListener('click', () => void client.discard(m.clientId));
    return el('p', { class: 'failure' }, m.error?.message ?? 'The server refused this message.', ' ', retry, ' ', discard);
  };

  input.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  input.addEventListener('input', () => {
    if (conversationId) client.setTyping(conversationId, input.value.trim() !== '');
  });
  input.addEventListener('blur', () => {
    if (conversationId) client.setTyping(conversationId, false);
  });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (!conversationId || input.value.trim() === '') return;
    try {
      // Returns the pending message at once; the outbox delivers it whenever a connection allows.
      client.send(conversationId, input.value);
      input.value = '';
      notice.textContent = '';
      client.setTyping(conversationId, false);
    } catch (error) {
      notice.textContent = error instanceof PerchError ? error.message : String(error);
    }
  });

  return {
    element,
    open(id) {
      if (conversationId) return;
      conversationId = id;
      input.disabled = send.disabled = false;
      cleanups.push(client.messages(id).subscribe(render));
      cleanups.push(
        client.typing(id).subscribe((ids) => {
          typing.textContent = ids.includes(other.id) ? `${first} is typing…` : '';
        }),
      );
    },
    destroy() {
      for (const stop of cleanups.splice(0)) stop();
    },
  };
}
