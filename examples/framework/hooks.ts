/** React hooks over the Perch client, its stores, and the `?user=` of the page's URL. */
import { useCallback, useEffect, useState, useSyncExternalStore } from 'react';
import { websocketBackend } from '@perch/backend-ws';
import { createClient, type Id, type PerchClient, type ReadableStore, type User } from '@perch/core';
import { demoPeople, demoToken, socketUrl } from './demo.js';

export interface ClientState {
  /** The signed-in user's client; undefined before the first effect and after sign-out. */
  client: PerchClient | undefined;
  /** Why connecting failed for good (e.g. refused credentials). */
  error: string | undefined;
}

/**
 * A Perch client for `userId`, connected to the demo server. It is created in an effect (so
 * rendering stays pure) and disconnected when the component unmounts or `userId` changes: one
 * user's client never outlives their session in the page.
 */
export function useClient(userId: Id | undefined): ClientState {
  const [state, setState] = useState<{ userId: Id; client: PerchClient; error?: string }>();
  useEffect(() => {
    if (!userId) return;
    const client = createClient({
      backend: websocketBackend({ url: socketUrl() }),
      // Called before every connection attempt, so an expired token is replaced on reconnect.
      auth: async () => ({ token: (await demoToken(userId)).token }),
      user: userId,
    });
    setState({ userId, client });
    client.connect().catch((error: unknown) => {
      const message = error instanceof Error ? error.message : String(error);
      setState((current) => (current?.client === client ? { ...current, error: message } : current));
    });
    return () => {
      setState((current) => (current?.client === client ? undefined : current));
      void client.disconnect();
    };
  }, [userId]);
  // Until the effect has run for a new `userId`, the old user's client is on its way out: hide it.
  return state && state.userId === userId ? { client: state.client, error: state.error } : { client: undefined, error: undefined };
}

/** The current value of a Perch store (`client.user`, `client.unread`, …), re-rendering on change. */
export function useStore<T>(store: ReadableStore<T>): T {
  const subscribe = useCallback((changed: () => void) => store.subscribe(changed), [store]);
  const get = useCallback(() => store.get(), [store]);
  return useSyncExternalStore(subscribe, get);
}

// `?user=ID` in the address bar: who is signed in (the demo's home page links here with `?as=ID`,
// which is read the same way). Back and Forward switch users too.
const urlListeners = new Set<() => void>();
const notifyUrl = () => urlListeners.forEach((listener) => listener());
function subscribeUrl(listener: () => void): () => void {
  urlListeners.add(listener);
  if (urlListeners.size === 1) addEventListener('popstate', notifyUrl);
  return () => {
    urlListeners.delete(listener);
    if (urlListeners.size === 0) removeEventListener('popstate', notifyUrl);
  };
}
function userInUrl(): Id | undefined {
  const params = new URLSearchParams(location.search);
  return params.get('user') || params.get('as') || undefined;
}

/** The `user` query parameter, and a function that sets (or, with undefined, removes) it. */
export function useUserParam(): [Id | undefined, (userId: Id | undefined) => void] {
  const userId = useSyncExternalStore(subscribeUrl, userInUrl);
  const setUserId = useCallback((next: Id | undefined) => {
    const url = new URL(location.href);
    url.searchParams.delete('as');
    if (next) url.searchParams.set('user', next);
    else url.searchParams.delete('user');
    history.pushState(null, '', url);
    notifyUrl();
  }, []);
  return [userId, setUserId];
}

/** The demo company's people, fetched once; `error` says why not. */
export function usePeople(): { people: User[] | undefined; error: string | undefined } {
  const [result, setResult] = useState<{ people?: User[]; error?: string }>({});
  useEffect(() => {
    let current = true;
    demoPeople().then(
      (people) => current && setResult({ people }),
      (error: unknown) => current && setResult({ error: error instanceof Error ? error.message : String(error) }),
    );
    return () => {
      current = false;
    };
  }, []);
  return { people: result.people, error: result.error };
}
