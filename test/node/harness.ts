/**
 * Shared setup for the Node-side fault tests: a memory hub with three people, fresh
 * fake IndexedDB per test, and clients that reconnect quickly.
 */
import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import { memoryBackend, type MemoryHub } from '@perch/backend-memory';
import { createClient, type ClientOptions, type Message, type PerchClient } from '@perch/core';
import { createHub } from '../shared/hub.js';

export { createHub, PEOPLE } from '../shared/hub.js';

/** A fresh in-memory IndexedDB for this test (idb-keyval opens through the global). */
export function freshIndexedDb(): void {
  globalThis.indexedDB = new IDBFactory();
}

/** A client for `userId` on `hub`; reconnects within a few ms so tests stay fast. */
export function clientFor(hub: MemoryHub, userId: string, options: Partial<ClientOptions> = {}): PerchClient {
  return createClient({
    backend: memoryBackend({ hub }),
    auth: { token: hub.token(userId) },
    user: userId,
    tabs: 'single',
    reconnect: { baseDelay: 5, maxDelay: 40 },
    ...options,
  });
}

/** Waits until `check` returns true, polling; fails with `what` after `timeout` ms. */
export async function until(check: () => boolean, what: string, timeout = 10_000): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeout) throw new Error(`Timed out after ${timeout} ms waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** The confirmed (server-acknowledged) messages a client shows for a conversation. */
export function confirmed(client: PerchClient, conversationId: string): Message[] {
  return client.messages(conversationId).get().filter((m) => m.seq !== undefined);
}

/** Texts of what a client shows, pending included. */
export function texts(client: PerchClient, conversationId: string): string[] {
  return client.messages(conversationId).get().map((m) => m.text);
}

/** Fails if any clientId or seq appears twice. */
export function assertNoDuplicates(messages: Message[]): void {
  const clientIds = new Set<string>();
  const seqs = new Set<number>();
  for (const m of messages) {
    if (clientIds.has(m.clientId)) throw new Error(`clientId ${m.clientId} ("${m.text}") shows twice`);
    clientIds.add(m.clientId);
    if (m.seq !== undefined) {
      if (seqs.has(m.seq)) throw new Error(`seq ${m.seq} shows twice`);
      seqs.add(m.seq);
    }
  }
}

/** Connects alice and bob, opens their direct conversation, and returns everything. */
export async function alicePlusBob(hub = createHub(1)) {
  const alice = clientFor(hub, 'alice');
  const bob = clientFor(hub, 'bob');
  await Promise.all([alice.connect(), bob.connect()]);
  const conversation = await alice.openDirect('bob');
  await until(() => bob.conversations.get().some((c) => c.id === conversation.id), 'bob sees the conversation');
  return { hub, alice, bob, id: conversation.id };
}
