import type { Context, ContextCallback, ContextEvent } from '@lit/context';
import type { PerchClient } from '@perch/core';

/**
 * The context that carries a {@link PerchClient} from `<perch-provider>` to every Perch component
 * inside it. Keyed by a global symbol, so two copies of this package still agree.
 *
 * Perch speaks the Context Community Protocol that `@lit/context` implements (a bubbling,
 * composed `context-request` event answered by the nearest provider) with a few lines of its
 * own instead of the library's classes, to save their bytes: a `ContextProvider` or
 * `ContextConsumer` of `@lit/context` for `clientContext` works with Perch components and
 * `<perch-provider>` alike.
 */
export const clientContext = Symbol.for('perch-client') as Context<symbol, PerchClient | undefined>;

/** A client callback of the protocol: the value, and the function that ends the subscription. */
export type ClientCallback = ContextCallback<PerchClient | undefined>;

/** The `context-request` event, subscribing, that a Perch component dispatches for the client. */
export const clientRequest = (target: Element, callback: ClientCallback): ContextEvent<typeof clientContext> =>
  Object.assign(new Event('context-request', { bubbles: true, composed: true }), { context: clientContext, contextTarget: target, callback, subscribe: true });

/**
 * Makes `host` a provider of the client: it answers the `context-request`s of Perch components
 * inside it (and of any consumer of `clientContext`) with `current()`. Call the returned function
 * when the client changed, to tell every subscribed component. Used by `<perch-provider>`, and by
 * a page-wide provider such as the script-tag embed's on `<html>`.
 */
export function provideClient(host: EventTarget, current: () => PerchClient | undefined): () => void {
  /** The subscribed consumers, each with the function that unsubscribes it. */
  const consumers = new Map<ClientCallback, () => void>();
  host.addEventListener('context-request', (event) => {
    const { context, callback, subscribe } = event as ContextEvent<typeof clientContext>;
    if (context !== clientContext) return;
    // The nearest provider answers; outer ones never see the request.
    event.stopPropagation();
    let unsubscribe = consumers.get(callback);
    if (subscribe && !unsubscribe) consumers.set(callback, (unsubscribe = () => consumers.delete(callback)));
    callback(current(), unsubscribe);
  });
  return () => {
    for (const [callback, unsubscribe] of consumers) callback(current(), unsubscribe);
  };
}
