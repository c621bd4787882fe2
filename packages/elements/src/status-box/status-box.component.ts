import { msg, str } from '../internal/localize.js';
import { html, type TemplateResult } from 'lit';
import type { Post, PresenceShow } from '@perch/core';
import { emit } from '../internal/events.js';
import { showLabel } from '../internal/format.js';
import { PerchElement } from '../internal/perch-element.js';
import { problem } from '../internal/status.js';
import { StoreController } from '../internal/store-controller.js';
import { base } from '../internal/styles.js';
import { styles } from './status-box.styles.js';

const SHOWS: Array<Exclude<PresenceShow, 'offline'>> = ['online', 'away', 'dnd', 'invisible'];
const graphemes = new Intl.Segmenter();

/** Characters as a reader counts them: "👍🏽" and "é" are one each. */
export const countGraphemes = (text: string): number => [...graphemes.segment(text)].length;

/** localStorage may be missing, full or forbidden (sandboxed frames, privacy modes): never throw. */
function storage(key: string, value?: string): string {
  try {
    if (value === undefined) return localStorage.getItem(key) ?? '';
    if (value) localStorage.setItem(key, value);
    else localStorage.removeItem(key);
  } catch {
    // the draft just won't survive a reload
  }
  return '';
}

/**
 * Ctrl+Enter (⌘+Enter on a Mac) posts. The draft is kept on this device across reloads, per
 * user. A post made offline shows as queued until it is sent. Over the character limit the field
 * is marked invalid, and screen readers are told, politely, once when the draft goes over the
 * limit and once when it is back within it.
 *
 * @summary Compose a status update, and set your presence and personal message.
 *
 * @event {CustomEvent<PostedEventDetail>} perch-posted - A post was queued (`detail.post`, with its `clientId`).
 *
 * @csspart textarea - The compose field.
 * @csspart counter - The character counter.
 * @csspart post-button - The Post button.
 * @csspart presence - The presence selector and personal message row.
 * @csspart state - What happened to the last post.
 */
export class PerchStatusBox extends PerchElement {
  static override styles = [base, styles];
  static override properties = { limit: { type: Number } };

  /** The most characters (graphemes) a post may have; the `limit` attribute. */
  declare limit: number;
  readonly #user = new StoreController(this, (client) => client.user);
  readonly #status = new StoreController(this, (client) => client.status);
  readonly #timeline = new StoreController(this, (client) => client.timeline);
  // Your own presence changes come with the roster's.
  readonly #roster = new StoreController(this, (client) => client.roster);
  #text = '';
  #draftKey = '';
  #last: Post | undefined;
  #error = '';

  constructor() {
    super();
    this.limit = 280;
  }

  protected override willUpdate(): void {
    // Restore the draft of whoever is signed in, once known.
    const key = `perch:draft:${this.#user.value?.id ?? ''}`;
    if (this.#user.value && key !== this.#draftKey) {
      this.#draftKey = key;
      this.#text ||= storage(key);
    }
  }

  protected override render(): TemplateResult {
    const count = countGraphemes(this.#text);
    const over = count > this.limit;
    const last = this.#last && (this.#timeline.value?.find((p) => p.clientId === this.#last!.clientId) ?? this.#last);
    const offline = this.#status.value?.state !== 'online';
    const own = this.#roster.value && this.perch?.presence(this.#user.value?.id ?? '');
    const personal = msg('Personal message');
    // The templates break lines only inside `${}`: whitespace between tags would be bytes shipped.
    return html`<label class="sr" for="text">${msg('Your status update')}</label><textarea id="text" part="textarea" placeholder=${
      msg('What’s happening?')
    } aria-describedby="count" aria-invalid=${over} aria-errormessage="over" .value=${this.#text} @input=${this.#input} @keydown=${
      this.#key
    }></textarea><div class="row"><span id="count" class="grow mu" part="counter" ?data-over=${over}><span aria-hidden="true">${count}/${
      this.limit
    }</span><span class="sr">${msg(str`${count} of ${this.limit} characters`)}</span></span><span id="over" class="sr" aria-live="polite">${
      over ? msg('Over the character limit.') : msg('Within the character limit.')
    }</span><button class="primary" part="post-button" ?disabled=${over || !this.#text.trim()} @click=${this.#send}>${msg('Post')}</button></div><p class="mu" part="state" role="status">${
      !last
        ? this.#error
        : last.state === 'failed'
          ? html`<span class="err">${msg('Not posted.')}</span> <button @click=${() => this.#retry(last)}>${msg('Retry')}</button>`
          : last.state === 'sent'
            ? msg('Posted.')
            : offline
              ? msg('Queued. It will be posted when you are back online.')
              : msg('Posting…')
    }</p><div class="row" part="presence"><label for="show">${msg('Show me as')}</label><select id="show" @change=${this.#presence}>${
      SHOWS.map((show) => html`<option value=${show} .selected=${show === (own?.show ?? 'online')}>${showLabel(show)}</option>`)
    }</select><input id="message" maxlength="280" aria-label=${personal} placeholder=${personal} .value=${own?.status ?? ''} @change=${this.#presence}></div>`;
  }

  #input(event: Event): void {
    this.#text = (event.target as HTMLTextAreaElement).value;
    if (this.#draftKey) storage(this.#draftKey, this.#text);
    this.requestUpdate();
  }

  #key(event: KeyboardEvent): void {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      this.#send();
    }
  }

  #send(): void {
    const client = this.perch;
    if (!client || !this.#text.trim() || countGraphemes(this.#text) > this.limit) return;
    try {
      this.#last = client.post(this.#text);
      this.#text = '';
      if (this.#draftKey) storage(this.#draftKey, '');
      emit(this, 'perch-posted', { post: this.#last });
    } catch (error) {
      this.#last = undefined;
      this.#error = problem(error);
    }
    // Posted by the button (which the empty field disables): the focus must not drop to the page.
    this.#refocus();
  }

  /** Retries a failed post; the button goes away with the failure, so the focus goes back to the field. */
  #retry(post: Post): void {
    this.perch?.retry(post.clientId);
    this.#refocus();
  }

  /**
   * Re-renders and puts the focus in the field: Post, disabled once posted, and Retry, gone once it
   * worked, would drop it to the page.
   */
  #refocus(): void {
    this.requestUpdate();
    this.renderRoot.querySelector('textarea')!.focus();
  }

  async #presence(): Promise<void> {
    const root = this.renderRoot as ShadowRoot;
    const show = root.querySelector<HTMLSelectElement>('#show')!.value as Exclude<PresenceShow, 'offline'>;
    const status = root.querySelector<HTMLInputElement>('#message')!.value.trim();
    this.#last = undefined;
    try {
      await this.perch?.setPresence({ show, status });
      this.#error = '';
    } catch (error) {
      this.#error = problem(error);
    }
    this.requestUpdate();
  }
}
