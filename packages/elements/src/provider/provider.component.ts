import { ContextProvider } from '@lit/context';
import { css, html, LitElement, type TemplateResult } from 'lit';
import type { PerchClient } from '@perch/core';
import { clientContext } from '../context.js';

/**
 * @summary Gives a Perch client to every Perch component inside it.
 *
 * @slot - Any content; Perch components anywhere inside (also inside other shadow roots) use the client.
 *
 * Set the client as a property: `provider.client = createClient({...})`. A component's own
 * `client` property wins over the provided one.
 */
export class PerchProvider extends LitElement {
  static override styles = css`:host { display: contents; }`;
  static override properties = { client: { attribute: false } };

  /** The client to provide. */
  declare client: PerchClient | undefined;

  readonly #provider = new ContextProvider(this, { context: clientContext });

  protected override willUpdate(): void {
    this.#provider.setValue(this.client);
  }

  protected override render(): TemplateResult {
    return html`<slot></slot>`;
  }
}
