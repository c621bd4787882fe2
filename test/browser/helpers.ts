/** Shared setup for the browser tests: the memory hub and clients over real IndexedDB, Web Locks and BroadcastChannel. */
import { memoryBackend, type MemoryHub } from '@perch/backend-memory';
import { createClient, type ClientOptions, type Message, type PerchClient } from '@perch/core';

export { createHub } from '../shared/hub.js';

/** A client that behaves like one browser tab of `userId` (shared tabs, persistent storage by default). */
export function tabOf(hub: MemoryHub, userId: string, options: Partial<ClientOptions> = {}): PerchClient {
  return createClient({
    backend: memoryBackend({ hub }),
    auth: { token: hub.token(userId) },
    user: userId,
    reconnect: { baseDelay: 5, maxDelay: 40 },
    ...options,
  });
}

/** Waits until `check` is true; fails naming `what`. */
export async function until(check: () => boolean, what: string, timeout = 10_000): Promise<void> {
  const start = performance.now();
  while (!check()) {
    if (performance.now() - start > timeout) throw new Error(`Timed out after ${timeout} ms waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Messages the server acknowledged, as a client shows them. */
export const confirmed = (client: PerchClient, id: string): Message[] => client.messages(id).get().filter((m) => m.seq !== undefined);

/** Deletes every Perch cache database, so each test starts from an empty device. */
export async function wipeDatabases(): Promise<void> {
  for (const db of await indexedDB.databases()) {
    if (!db.name?.startsWith('perch:')) continue;
    await new Promise<void>((resolve) => {
      const request = indexedDB.deleteDatabase(db.name!);
      request.onsuccess = request.onerror = () => resolve();
    });
  }
}
