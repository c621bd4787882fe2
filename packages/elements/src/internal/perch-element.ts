import { ContextConsumer } from '@lit/context';
import { updateWhenLocaleChanges } from '@lit/localize';
import { LitElement, type CSSResultGroup, type PropertyDeclarations } from 'lit';
import type { PerchClient } from '@perch/core';
import { clientContext } from '../context.js';
import { base } from './styles.js';

/**
 * The base of every Perch component: Shadow DOM (LitElement's default), the shared reset and
 * theme tokens, re-rendering when the locale changes, and the client — the `client` property if
 * set, else the one provided by the nearest `<perch-provider>`.
 */
export class PerchElement extends LitElement {
  static override styles: CSSResultGroup = base;
  static override properties: PropertyDeclarations = { client: { attribute: false } };

  /** The client to use. Set it directly, or put the element inside `<perch-provider>`. */
  declare client: PerchClient | undefined;

  readonly #context = new ContextConsumer(this, { context: clientContext, subscribe: true });

  constructor() {
    super();
    updateWhenLocaleChanges(this);
  }

  /** The client in use: the `client` property wins over the provided one. */
  get perch(): PerchClient | undefined {
    return this.client ?? this.#context.value;
  }
}
