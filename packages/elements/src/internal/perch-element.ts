import { LOCALE_STATUS_EVENT } from './localize.js';
import { LitElement, type CSSResultGroup, type PropertyDeclarations } from 'lit';
import type { PerchClient } from '@perch/core';
import { clientRequest, type ClientCallback } from '../context.js';
import { base } from './styles.js';

/** The window events that re-render every component (see `#refresh`). */
const EVENTS = [LOCALE_STATUS_EVENT, 'visibilitychange'];

/**
 * The base of every Perch component: Shadow DOM (LitElement's default), the shared reset and
 * theme tokens, re-rendering when the locale changes, and the client — the `client` property if
 * set, else the one provided by the nearest `<perch-provider>`.
 *
 * @attribute theme - `light` or `dark` pins the colour scheme; without it, the reader's `prefers-color-scheme` decides.
 * @cssproperty --perch-bg - Component background, inputs.
 * @cssproperty --perch-fg - Text.
 * @cssproperty --perch-muted - Secondary text (times, titles, counters).
 * @cssproperty --perch-surface - Buttons, hover, other people's chat bubbles, banners.
 * @cssproperty --perch-border - Borders and separators.
 * @cssproperty --perch-accent - Links, primary buttons, your own chat bubbles, badges, focus ring.
 * @cssproperty --perch-accent-fg - Text on the accent colour.
 * @cssproperty --perch-danger - Errors, failed messages, the counter over the limit, the unread divider.
 * @cssproperty --perch-online - Presence dot: online.
 * @cssproperty --perch-away - Presence dot: away.
 * @cssproperty --perch-busy - Presence dot: do not disturb.
 * @cssproperty --perch-radius - Corner radius.
 * @cssproperty --perch-space - Base spacing unit.
 * @cssproperty --perch-font - Font family.
 * @cssproperty --perch-font-size - Base font size.
 */
export class PerchElement extends LitElement {
  static override styles: CSSResultGroup = base;
  static override properties: PropertyDeclarations = { client: { attribute: false } };

  /** The client to use. Set it directly, or put the element inside `<perch-provider>`. */
  declare client: PerchClient | undefined;

  /** The client from the nearest provider, and how to stop hearing from it. */
  #provided: PerchClient | undefined;
  #unsubscribe: (() => void) | undefined;
  readonly #provide: ClientCallback = (client, unsubscribe) => {
    if (unsubscribe !== this.#unsubscribe) this.#unsubscribe?.();
    this.#unsubscribe = unsubscribe;
    this.#provided = client;
    this.requestUpdate();
  };

  /**
   * Re-renders when another language is being loaded or is ready (`setPerchLocale`): what
   * `updateWhenLocaleChanges()` of @lit/localize does, without its controller class. Also when the
   * page is shown or hidden (`visibilitychange`): the chat pane marks read only what a reader can
   * see, and times may be stale after a background tab's throttled timers.
   */
  readonly #refresh = (): void => this.requestUpdate();

  override connectedCallback(): void {
    // Ask for the client before the controllers connect, so that they already see it; re-render
    // even when no provider answers (moved out of one: no client any more).
    this.dispatchEvent(clientRequest(this, this.#provide));
    for (const type of EVENTS) window.addEventListener(type, this.#refresh);
    super.connectedCallback();
    this.requestUpdate();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    for (const type of EVENTS) window.removeEventListener(type, this.#refresh);
    this.#unsubscribe?.();
    this.#unsubscribe = this.#provided = undefined;
  }

  /** The client in use: the `client` property wins over the provided one. */
  get perch(): PerchClient | undefined {
    return this.client ?? this.#provided;
  }
}
