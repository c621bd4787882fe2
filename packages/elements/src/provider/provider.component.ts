import { html, LitElement, unsafeCSS, type TemplateResult } from 'lit';
import type { PerchClient } from '@perch/core';
import { provideClient } from '../context.js';

/**
 * Set the client as a property: `provider.client = createClient({...})`. A component's own
 * `client` property wins over the provided one. It renders no box of its own (`display: contents`).
 *
 * @summary Gives a Perch client to every Perch component inside it.
 *
 * @slot - Any content; Perch components anywhere inside (also inside other shadow roots) use the client.
 */
export class PerchProvider extends LitElement {
  // Constant text: see internal/styles.ts for why `unsafeCSS`.
  static override styles = unsafeCSS(':host{display:contents}');
  static override properties = { client: { attribute: false } };

  /** The client to provide. */
  declare client: PerchClient | undefined;

  // Listening from the start (not once connected): a component connected together with its
  // provider asks in the same tick.
  readonly #notify = provideClient(this, () => this.client);

  protected override updated(): void {
    this.#notify();
  }

  protected override render(): TemplateResult {
    return html`<slot></slot>`;
  }
}
