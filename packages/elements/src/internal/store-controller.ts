import type { ReactiveController, ReactiveControllerHost } from 'lit';
import type { PerchClient, ReadableStore } from '@perch/core';

/** A host that knows its client: a Perch element. */
export interface ClientHost extends ReactiveControllerHost {
  /** The client in use: the `client` property, else the one from `<perch-provider>`. */
  readonly perch: PerchClient | undefined;
}

/**
 * Keeps `value` in step with a store of the host's client. It subscribes when the host connects
 * and unsubscribes when it disconnects, so no subscription outlives the element. Before each
 * update it asks `select` again: when the client or the selected store changed (another
 * conversation, another client), it subscribes to the new one. Stores call back at once, so the
 * first render already shows what the cache holds.
 */
export class StoreController<T> implements ReactiveController {
  /** The store's latest value; undefined until a client is known. */
  value: T | undefined;
  readonly #host: ClientHost;
  readonly #select: (client: PerchClient) => ReadableStore<T> | undefined;
  #store: ReadableStore<T> | undefined;
  #unsubscribe: (() => void) | undefined;

  constructor(host: ClientHost, select: (client: PerchClient) => ReadableStore<T> | undefined) {
    this.#host = host;
    this.#select = select;
    host.addController(this);
  }

  hostConnected(): void {
    this.hostUpdate();
  }

  hostUpdate(): void {
    const client = this.#host.perch;
    const store = client && this.#select(client);
    if (store === this.#store) return;
    this.hostDisconnected();
    this.#store = store;
    this.#unsubscribe = store?.subscribe((value) => {
      this.value = value;
      this.#host.requestUpdate();
    });
  }

  hostDisconnected(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = this.#store = this.value = undefined;
  }
}
