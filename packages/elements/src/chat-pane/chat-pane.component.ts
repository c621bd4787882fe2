import { msg, str } from '../internal/localize.js';
import { html, type TemplateResult } from 'lit';
import type { ConnectionStatus, Id, Message, MessageState, PerchClient } from '@perch/core';
import { dayLabel, formatter, timeEl } from '../internal/format.js';
import { linkify } from '../internal/linkify.js';
import { findUser } from '../internal/people.js';
import { PerchElement } from '../internal/perch-element.js';
import { banner, problem } from '../internal/status.js';
import { StoreController } from '../internal/store-controller.js';
import { base } from '../internal/styles.js';
import { Virtualizer } from '../internal/virtualizer.js';
import { styles } from './chat-pane.styles.js';

const GROUP_GAP = 5 * 60_000;
const day = (time: number) => new Date(time).toDateString();
const stateLabel = (state: MessageState): string =>
  ({ pending: msg('Sending…'), sent: msg('Sent'), delivered: msg('Delivered'), read: msg('Read'), failed: msg('Not sent') })[state];

/**
 * Give it `conversation="id"`, or `with="userId"` for the direct chat with someone (opened on
 * first use). The log (`role="log"`) shows day separators, groups consecutive messages, marks
 * the first unread one, and shows each of your messages' state (sending, sent, delivered, read;
 * failed with Retry), with Edit and Delete. It stays at the newest message only while you are
 * there, loads older history as you scroll up without moving what you read, marks messages read
 * once you have scrolled to them, and renders only what is in view. Enter sends, Shift+Enter
 * starts a new line, Escape cancels an edit (and gives back what you were writing); ↑ in an empty
 * composer edits your last message. In the log, ↑ and ↓ move from message to message, and Tab
 * goes from the one in focus to its Edit and Delete, then to the composer.
 *
 * @summary A conversation: the message log and a composer.
 *
 * @csspart message - One message (with its separators).
 * @csspart bubble - A message's text.
 * @csspart state - Your message's delivery state and actions.
 * @csspart unread-divider - The "New messages" line.
 * @csspart typing - Who is typing.
 * @csspart composer - The message field.
 * @csspart send-button - The Send button.
 * @csspart banner - The connection state line.
 * @csspart mention - A mention in a message, when `mention-href` is not set.
 * @csspart tag - A hashtag in a message, when `tag-href` is not set.
 *
 * @cssproperty --perch-height - The height when the page gives the element none (default 30em).
 */
export class PerchChatPane extends PerchElement {
  static override styles = [base, styles];
  static override properties = { conversation: {}, with: {}, mentionHref: { attribute: 'mention-href' }, tagHref: { attribute: 'tag-href' } };

  /** The conversation to show (`conversation` attribute). */
  declare conversation: Id | undefined;
  /** Or the person whose direct chat to show (`with` attribute). */
  declare with: Id | undefined;
  /** URL template for mentions, `{}` standing for the name (`mention-href`); unset: no links. */
  declare mentionHref: string | undefined;
  /** URL template for hashtags, `{}` standing for the tag (`tag-href`); unset: no links. */
  declare tagHref: string | undefined;

  readonly #conversations = new StoreController(this, (client) => client.conversations);
  readonly #status = new StoreController(this, (client) => client.status);
  readonly #messages = new StoreController(this, (client) => (this.#id ? client.messages(this.#id) : undefined));
  readonly #typing = new StoreController(this, (client) => (this.#id ? client.typing(this.#id) : undefined));
  readonly #v = new Virtualizer(this, 56, true);
  #id: Id | undefined;
  #opening = '';
  #readAt: [Id, number, number] | undefined;
  #loading = false;
  #stalled: ConnectionStatus | undefined;
  #complete = '';
  #editing: Message | undefined;
  /** What was in the composer when an edit began, put back when it ends. */
  #draft = '';
  #error = '';
  #heard = '';
  #heardId = '';
  /** The conversation the composer's text (a draft, or an edit) was written for. */
  #shown: Id | undefined;

  constructor() {
    super();
    new StoreController(this, (client) => client.roster);
  }

  protected override willUpdate(): void {
    const client = this.perch;
    const other = this.with;
    const me = client?.user.get()?.id;
    this.#id =
      this.conversation ??
      this.#conversations.value?.find((c) => c.kind === 'direct' && c.members.includes(other!) && (other === me || c.members.some((m) => m !== me)))?.id;
    // Open the direct chat once online if it does not exist yet.
    if (!this.#id && client && other && this.#status.value?.state === 'online' && this.#opening !== other) {
      this.#opening = other;
      client.openDirect(other).catch(() => (this.#opening = ''));
    }
    // Another conversation: the text in the composer (a draft, or an edit) was for the one before,
    // and must not be sent to this one.
    if (this.#id !== this.#shown) {
      if (this.#shown) {
        this.#editing = undefined;
        this.#field.value = '';
      }
      this.#shown = this.#id;
    }
    const conversation = this.#conversation();
    if (conversation && this.#readAt?.[0] !== conversation.id) {
      this.#readAt = [conversation.id, conversation.readSeq, conversation.lastSeq];
      this.#heard = this.#heardId = '';
    }
    // Announce a new message from someone else in this conversation (the name between U+2068 and
    // U+2069, as in the typing line, so that a U+202E in it cannot reverse the rest of the line).
    // The log itself is not live: its rows are reused as the view moves, which a screen reader
    // would read out as changes. News is a message after the last one heard, or, before any was
    // heard (an empty conversation), one after the last the conversation had when it was shown.
    const last = this.#messages.value?.at(-1);
    if (last && last.conversationId === this.#id && last.clientId !== this.#heardId) {
      if (this.#heardId || last.seq! > (this.#readAt?.[2] ?? Infinity)) this.#heard = last.senderId !== me ? `\u2068${this.#name(client, last.senderId)}\u2069: ${last.text}` : '';
      this.#heardId = last.clientId;
    }
  }

  #conversation() {
    return this.#conversations.value?.find((c) => c.id === this.#id);
  }

  protected override render(): TemplateResult {
    const client = this.perch;
    const messages = this.#messages.value ?? [];
    const me = client?.user.get()?.id;
    const v = this.#v;
    v.window(messages.map((m) => m.clientId));
    const conversation = this.#conversation();
    const others = conversation?.members.filter((id) => id !== me) ?? (this.with ? [this.with] : []);
    const title = conversation?.title ?? others.map((id) => this.#name(client, id)).join(', ');
    const readAt = this.#readAt?.[1] ?? Infinity;
    const firstUnread = messages.find((m) => m.seq! > readAt && m.senderId !== me);
    const typers = (this.#typing.value ?? []).filter((id) => id !== me).map((id) => `\u2068${this.#name(client, id)}\u2069`);
    const list = formatter(Intl.ListFormat, {}).format(typers);
    const items = messages.slice(v.start, v.end).map((message, i) => this.#message(message, messages[v.start + i - 1], me, firstUnread, v.start + i === v.active ? 0 : -1));
    // The templates break lines only inside `${}`: whitespace between tags would be bytes shipped.
    return html`<div class="f">${banner(this.#status.value)}<p class="mu info h" role="status">${
      this.#loading ? msg('Loading earlier messages…') : this.#heard
    }</p><div class="v"><div role="log" aria-live="off" tabindex="0" aria-label=${msg(str`Messages with ${title}`)} @keydown=${(e: KeyboardEvent) => this.#v.move(e, { ArrowDown: 1, ArrowUp: -1 })}>${items}</div></div><p class="mu info" part="typing">${
      typers.length ? (typers.length > 1 ? msg(str`${list} are typing…`) : msg(str`${list} is typing…`)) : ''
    }</p><p class="err info" role="alert">${this.#error}</p><form @submit=${this.#send}><textarea rows="2" maxlength="10000" part="composer" aria-label=${
      this.#editing ? msg('Edit your message') : msg('Message')
    } placeholder=${msg('Write a message')} @keydown=${this.#key} @input=${this.#input} @blur=${this.#typingOff}></textarea><button class="primary" part="send-button" ?disabled=${
      !this.#id
    }>${this.#editing ? msg('Save') : msg('Send')}</button></form></div>`;
  }

  /**
   * One item of the log: separators, name line, text (links made safely), and your message's state
   * and actions. Its buttons are in the Tab order (`tab` 0, else -1) only while it is the active
   * one (the last to have the focus): else Tab from the log would stop at every Edit and Delete.
   */
  #message(message: Message, previous: Message | undefined, me: Id | undefined, firstUnread: Message | undefined, tab: number): TemplateResult {
    const client = this.perch;
    const mine = message.senderId === me;
    const time = message.sentAt ?? message.createdAt;
    const before = previous && (previous.sentAt ?? previous.createdAt);
    const newDay = !previous || day(time) !== day(before!);
    // Follows a message of the same sender within minutes: no name line.
    const grouped = !newDay && previous!.senderId === message.senderId && time - before! < GROUP_GAP && message !== firstUnread;
    return html`<div class="m ${mine ? 'me' : ''} ${grouped ? 'g' : ''}" part="message" data-state=${message.state} tabindex="-1">${
      newDay ? html`<p class="sep mu">${dayLabel(time)}</p>` : ''
    }${message === firstUnread ? html`<p class="sep new" part="unread-divider">${msg('New messages')}</p>` : ''}${
      grouped ? '' : html`<p class="who mu"><strong class="u">${mine ? msg('You') : this.#name(client, message.senderId)}</strong> ${timeEl(time)}</p>`
    }<p class="b u" part="bubble" dir="auto">${
      message.deleted ? html`<em class="mu">${msg('Message deleted')}</em>` : linkify(message.text, { mention: this.mentionHref, tag: this.tagHref })
    }${message.editedAt && !message.deleted ? html` <span class="mu">${msg('(edited)')}</span>` : ''}</p>${
      mine
        ? html`<p class="st mu" part="state">${stateLabel(message.state)}${
            message.state === 'failed'
              ? html` <button tabindex=${tab} @click=${() => client?.retry(message.clientId)}>${msg('Retry')}</button>`
              : message.id && !message.deleted
                ? html` <button class="act" tabindex=${tab} @click=${() => this.#edit(message)}>${msg('Edit')}</button> <button class="act" tabindex=${tab} @click=${
                    () => this.#run(client!.delete(message.conversationId, message.id!))
                  }>${msg('Delete')}</button>`
                : ''
          }</p>`
        : ''
    }</div>`;
  }

  protected override updated(): void {
    const client = this.perch;
    const status = this.#status.value;
    const id = this.#id;
    const conversation = this.#conversation();
    if (!client || !id) return;
    // Seen: the reader is at the newest message of a visible page.
    if (conversation && conversation.readSeq < conversation.lastSeq && this.#v.atEnd && document.visibilityState === 'visible') {
      client.markRead(id).catch(() => {});
    }
    // Older history when scrolled near the top; an empty page offline waits for the next status.
    if (this.#v.near(false) && !this.#loading && this.#complete !== id && this.#stalled !== status) {
      this.#loading = true;
      queueMicrotask(() => this.requestUpdate());
      client
        .history(id, { before: this.#messages.value?.[0]?.seq })
        .then(
          (page) => {
            if (page.complete) this.#complete = id;
            else if (!page.messages.length) this.#stalled = status;
          },
          () => (this.#stalled = status),
        )
        .finally(() => {
          this.#loading = false;
          this.requestUpdate();
        });
    }
  }

  #name(client: PerchClient | undefined, id: Id): string {
    return (client && findUser(client, id, this)?.name) || id;
  }

  /** Focuses the composer, which takes typing even while a new direct chat is still being opened. */
  override focus(options?: FocusOptions): void {
    void this.updateComplete.then(() => this.#field.focus(options));
  }

  get #field(): HTMLTextAreaElement {
    return this.renderRoot.querySelector('textarea')!;
  }

  #input(): void {
    if (this.#id && !this.#editing) void this.perch?.setTyping(this.#id, !!this.#field.value);
  }

  #typingOff(): void {
    if (this.#id) void this.perch?.setTyping(this.#id, false);
  }

  #key(event: KeyboardEvent): void {
    const field = this.#field;
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      this.#send();
    } else if (event.key === 'Escape' && this.#editing) {
      // Handled: a surrounding dialog (a chat window) must not close too.
      event.preventDefault();
      this.#editing = undefined;
      field.value = this.#draft;
      this.requestUpdate();
    } else if (event.key === 'ArrowUp' && !field.value) {
      const me = this.perch?.user.get()?.id;
      const mine = this.#messages.value?.findLast((m) => m.senderId === me && m.id && !m.deleted);
      if (mine) {
        event.preventDefault();
        this.#edit(mine);
      }
    }
  }

  #edit(message: Message): void {
    const field = this.#field;
    if (!this.#editing) this.#draft = field.value;
    this.#editing = message;
    this.requestUpdate();
    field.value = message.text;
    field.focus();
  }

  #send(event?: Event): void {
    event?.preventDefault();
    const client = this.perch;
    const field = this.#field;
    const text = field.value;
    if (!client || !this.#id || !text.trim()) return;
    const editing = this.#editing;
    this.#editing = undefined;
    field.value = editing ? this.#draft : '';
    this.#typingOff();
    try {
      if (editing) this.#run(client.edit(this.#id, editing.id!, text));
      else client.send(this.#id, text);
      this.#error = '';
    } catch (error) {
      field.value = text;
      this.#error = problem(error);
    }
    this.requestUpdate();
  }

  #run(command: Promise<unknown>): void {
    command.then(
      () => (this.#error = ''),
      (error: unknown) => {
        this.#error = problem(error);
        this.requestUpdate();
      },
    );
  }
}
