import type { Backend, BackendConnection, BackendListener, CloseReason, ReceiptEvent, TypingEvent } from '@perch/core';
import type { Contact, Conversation, Id, Message, Post, Presence } from '@perch/protocol';
import { MemoryHub, type MemoryHubOptions } from './hub.js';
import { memoryBackend } from './memory-backend.js';

/** One recorded listener call. */
export type Recorded =
  | { type: 'message'; value: Message }
  | { type: 'conversation'; value: Conversation }
  | { type: 'post'; value: Post }
  | { type: 'presence'; value: Presence }
  | { type: 'typing'; value: TypingEvent }
  | { type: 'receipt'; value: ReceiptEvent }
  | { type: 'contact'; value: Contact; removed: boolean }
  | { type: 'closed'; value: CloseReason };

/** The value type recorded for each kind of call. */
export type RecordedValues = { [R in Recorded as R['type']]: R['value'] };

/** A listener that records every call, in order. */
export interface Recorder extends BackendListener {
  log: Recorded[];
  /** The values of one kind of call, in order. */
  of<K extends keyof RecordedValues>(type: K): Array<RecordedValues[K]>;
}

/** Creates a listener that records every call it receives. */
export function recorder(): Recorder {
  const log: Recorded[] = [];
  function of<K extends keyof RecordedValues>(type: K): Array<RecordedValues[K]> {
    return log.filter((entry) => entry.type === type).map((entry) => entry.value as RecordedValues[K]);
  }
  return {
    log,
    of,
    message: (value) => log.push({ type: 'message', value }),
    conversation: (value) => log.push({ type: 'conversation', value }),
    post: (value) => log.push({ type: 'post', value }),
    presence: (value) => log.push({ type: 'presence', value }),
    typing: (value) => log.push({ type: 'typing', value }),
    receipt: (value) => log.push({ type: 'receipt', value }),
    contact: (value, removed) => log.push({ type: 'contact', value, removed: removed === true }),
    closed: (value) => log.push({ type: 'closed', value }),
  };
}

/** Waits `ms` milliseconds (zero lets every queued microtask delivery run first). */
export function tick(ms = 0): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A connected test client. */
export interface Client {
  conn: BackendConnection;
  events: Recorder;
}

/** A hub seeded with alice, bob and carol, and a backend on it. */
export interface World {
  hub: MemoryHub;
  backend: Backend;
  /** Connects as `userId` with its token and a fresh recorder. */
  connect(userId: Id): Promise<Client>;
}

/** Builds a hub with three users (alice, bob, carol) and a memory backend on it. */
export function world(options: MemoryHubOptions = {}): World {
  const hub = new MemoryHub(options);
  hub.addUser({ id: 'alice', name: 'Alice', title: 'Engineer' });
  hub.addUser({ id: 'bob', name: 'Bob' });
  hub.addUser({ id: 'carol', name: 'Carol' });
  const backend = memoryBackend({ hub });
  return {
    hub,
    backend,
    async connect(userId) {
      const events = recorder();
      const conn = await backend.connect({ token: hub.token(userId) }, events);
      return { conn, events };
    },
  };
}

/** Sends `text` with a fresh clientId. */
export function say(conn: BackendConnection, conversationId: Id, text: string, clientId = `c-${text.replace(/\W/g, '')}-${Math.random().toString(36).slice(2)}`): Promise<Message> {
  return conn.sendMessage({ conversationId, clientId, text, createdAt: 1 });
}
