import { msg } from '../internal/localize.js';
import { html, type TemplateResult } from 'lit';
import { emit } from '../internal/events.js';
import { formatTime } from '../internal/format.js';
import { link } from '../internal/linkify.js';
import { avatar, findUser, rosterEntry } from '../internal/people.js';
import { PerchElement } from '../internal/perch-element.js';
import { presenceLine, problem } from '../internal/status.js';
import { StoreController } from '../internal/store-controller.js';
import { base } from '../internal/styles.js';
import { Ticker } from '../internal/ticker.js';
import { styles } from './profile-card.styles.js';

/**
 * Photo or initials, name, title and department, presence and personal message, their local
 * time, email, phone (click to call), location, and a Message button.
 *
 * @summary A person's card.
 *
 * @event {CustomEvent<UserEventDetail>} perch-open-chat - The Message button was pressed (`detail.userId`). Cancel it to open the chat your own way; otherwise the card calls `client.openDirect(userId)`.
 *
 * @csspart avatar - The photo or initials.
 * @csspart name - The person's name.
 * @csspart presence-dot - The presence colour dot.
 * @csspart status-message - Their personal status message.
 * @csspart message-button - The Message button.
 * @csspart error - Why opening the chat failed.
 */
export class PerchProfileCard extends PerchElement {
  static override styles = [base, styles];
  static override properties = { userId: { attribute: 'user-id' } };

  /** The person to show (`user-id` attribute). */
  declare userId: string | undefined;
  #error = '';

  constructor() {
    super();
    // Re-render on roster changes (presence, profile) and every minute (their local time).
    new StoreController(this, (client) => client.roster);
    new Ticker(this);
  }

  protected override render(): TemplateResult {
    const client = this.perch;
    const id = this.userId;
    const user = client && id && findUser(client, id, this);
    // null: the backend says there is no such user.
    if (!user) return html`<p class="mu" aria-busy=${user !== null}>${user === null ? msg('Profile not found.') : msg('Loading profile…')}</p>`;
    // A user was found, so there are a client and an id. Your own presence is not in your roster.
    const presence = rosterEntry(client!, id!)?.presence ?? client!.presence(id!);
    const time = user.timeZone && formatTime(Date.now(), { timeStyle: 'short', timeZone: user.timeZone });
    // A phone link dials the number without the "(0)" dialled only from inside the country ("+44 (0)20 …"),
    // and without an extension ("x 12", "ext. 12"), which is dialled once connected (appended, it
    // would make another number).
    const fact = (label: string, value: unknown) => (value ? html`<p><span class="mu">${label}</span> ${value}</p>` : '');
    // The templates break lines only inside `${}`: whitespace between tags would be bytes shipped.
    return html`<div class="row top">${avatar(user, user.name)}<div><strong class="u" part="name">${user.name}</strong><p class="mu u">${
      [user.title, user.department].filter(Boolean).join(' · ')
    }</p>${presence ? html`<p class="row">${presenceLine(presence)}</p>` : ''}</div></div>${
      fact(msg('Local time'), time && html`<time class="local">${time}</time>`)
    }${fact(msg('Email'), user.email && link(`mailto:${user.email}`, user.email))}${
      fact(msg('Phone'), user.phone && link(`tel:${user.phone.replace(/\(0\)|(?<=\d)\D*[a-z].*|[^\d+*]/gi, '')}`, user.phone, /^tel:$/))
    }${fact(msg('Location'), user.location && html`<span class="u">${user.location}</span>`)}${
      client!.user.get()?.id === id ? '' : html`<button class="primary" part="message-button" @click=${this.#open}>${msg('Message')}</button>`
    }<p class="err" part="error" role="alert">${this.#error}</p>`;
  }

  async #open(): Promise<void> {
    if (!this.userId || !emit(this, 'perch-open-chat', { userId: this.userId })) return;
    try {
      await this.perch!.openDirect(this.userId);
      this.#error = '';
    } catch (error) {
      this.#error = problem(error);
    }
    this.requestUpdate();
  }
}
