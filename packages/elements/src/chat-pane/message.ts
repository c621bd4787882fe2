import { msg } from '../internal/localize.js';
import { html, type TemplateResult } from 'lit';
import type { Message, MessageState } from '@perch/core';
import { dayLabel, timeEl } from '../internal/format.js';
import { linkify, type LinkTemplates } from '../internal/linkify.js';

/** How one message shows, as decided by the pane. */
export interface MessageView {
  message: Message;
  /** The sender's name ("You" for your own). */
  name: string;
  mine: boolean;
  /** The first message of its day: shows the day separator. */
  newDay: boolean;
  /** Follows a message of the same sender within minutes: no name line. */
  grouped: boolean;
  /** The first unread message: shows the "New messages" divider. */
  firstUnread: boolean;
}

/** What the message buttons do. */
export interface MessageActions {
  retry(message: Message): void;
  edit(message: Message): void;
  remove(message: Message): void;
}

const stateLabel = (state: MessageState): string =>
  ({ pending: msg('Sending…'), sent: msg('Sent'), delivered: msg('Delivered'), read: msg('Read'), failed: msg('Not sent') })[state];

/** One item of the chat log: separators, name line, text (links made safely), and own-message state and actions. */
export function renderMessage(view: MessageView, actions: MessageActions, links: LinkTemplates): TemplateResult {
  const { message, mine } = view;
  const time = message.sentAt ?? message.createdAt;
  return html`<div class="m ${mine ? 'me' : ''} ${view.grouped ? 'g' : ''}" part="message" data-state=${message.state}>
    ${view.newDay ? html`<p class="sep mu">${dayLabel(time)}</p>` : ''}
    ${view.firstUnread ? html`<p class="sep new" part="unread-divider">${msg('New messages')}</p>` : ''}
    ${view.grouped ? '' : html`<p class="who mu"><strong class="u">${view.name}</strong> ${timeEl(time)}</p>`}
    <p class="b u" part="bubble" dir="auto">${
      message.deleted ? html`<em class="mu">${msg('Message deleted')}</em>` : linkify(message.text, links)
    }${message.editedAt && !message.deleted ? html` <span class="mu">${msg('(edited)')}</span>` : ''}</p>
    ${mine
      ? html`<p class="st mu" part="state">${stateLabel(message.state)}${
          message.state === 'failed'
            ? html` <button @click=${() => actions.retry(message)}>${msg('Retry')}</button>`
            : message.id && !message.deleted
              ? html` <button class="act" @click=${() => actions.edit(message)}>${msg('Edit')}</button>
                  <button class="act" @click=${() => actions.remove(message)}>${msg('Delete')}</button>`
              : ''
        }</p>`
      : ''}
  </div>`;
}
