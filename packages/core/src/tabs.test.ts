import assert from 'node:assert/strict';
import { mock, test } from 'node:test';
import type { Conversation, Id, Message } from '@perch/protocol';
import { PerchError, type Backend, type BackendCapabilities, type BackendConnection, type BackendListener } from './backend.js';
import type { CacheStore } from './cache/cache-store.js';
import { memoryStore } from './cache/memory-store.js';
import { createClient, type PerchClient } from './client.js';
import { CONNECT_WAIT } from './connection.js';
import type { TabCoordinator, TabMessage } from './leader-election.js';

const NONE: BackendCapabilities = { feed: false, presence: false, typing: false, receipts: false, groups: true, history: false, directory: false, edits: false, support: false };

/**
 * Tabs of one browser in one process: a lock that the next waiting tab gets when the leader
 * closes, and a channel that delivers a structured clone of each message to every other open tab
 * on a later task, as BroadcastChannel does. `sent` records every message sent.
 */
function tabBus(sent: TabMessage[] = []) {
  const open = new Set<Set<(message: TabMessage) => void>>();
  const waiting: Array<{ listeners: Set<(message: TabMessage) => void>; onLeader: () => void }> = [];
  let leader: Set<(message: TabMessage) => void> | undefined;
  const grant = () => {
    const next = leader ? undefined : waiting.shift();
    if (next) {
      leader = next.listeners;
      next.onLeader();
    }
  };
  return (): TabCoordinator => {
    const listeners = new Set<(message: TabMessage) => void>();
    open.add(listeners);
    return {
      elect: (onLeader) => {
        waiting.push({ listeners, onLeader });
        setImmediate(grant);
      },
      send: (message) => {
        if (!open.has(listeners)) return;
        sent.push(message);
        const copy = structuredClone(message);
        for (const other of open) if (other !== listeners) setImmediate(() => other.forEach((listener) => listener(copy)));
      },
      listen: (callback) => {
        listeners.add(callback);
        return () => listeners.delete(callback);
      },
      close: () => {
        open.delete(listeners);
        waiting.splice(0, waiting.length, ...waiting.filter((w) => w.listeners !== listeners));
        if (leader === listeners) leader = undefined;
        setImmediate(grant);
      },
    };
  };
}

/**
 * A server for one user that keeps the backend contract: `createGroup` with a clientId is
 * idempotent per user. `loseAnswers` makes it persist a group and then lose the answer: the
 * request never settles (the tab that sent it is closing), or, with `drop`, the connection drops.
 * While `slow` is set, a connection opens only once it resolves (a slow handshake).
 */
function groupServer() {
  const groups: Conversation[] = [];
  const byClientId = new Map<string, Conversation>();
  const server = { groups, loseAnswers: undefined as 'hang' | 'drop' | undefined, connections: 0, slow: undefined as Promise<void> | undefined };
  const backend: Backend = {
    name: 'groups',
    capabilities: NONE,
    connect: async (_auth, listener: BackendListener) => {
      server.connections++;
      await server.slow;
      let open = true;
      const connection = {
        session: { user: { id: 'alice', name: 'Alice' } },
        conversations: async () => structuredClone(groups),
        markRead: async () => {},
        markDelivered: async () => {},
        close: () => void (open = false),
        createGroup: async (input: { title: string; members: Id[]; clientId?: string }) => {
          if (!open) throw new PerchError('unavailable', 'The connection is closed.');
          const key = input.clientId;
          let group = key === undefined ? undefined : byClientId.get(key);
          if (!group) {
            group = { id: `g${groups.length + 1}`, kind: 'group', title: input.title, members: ['alice', ...input.members], lastSeq: 0, readSeq: 0 };
            groups.push(group);
            if (key !== undefined) byClientId.set(key, group);
          }
          if (server.loseAnswers === 'hang') return new Promise<never>(() => {});
          if (server.loseAnswers === 'drop') {
            open = false;
            queueMicrotask(() => listener.closed({ code: 'unavailable', message: 'The connection dropped.' }));
            throw new PerchError('unavailable', 'The connection dropped before the answer came.');
          }
          return structuredClone(group);
        },
      };
      return connection as unknown as BackendConnection;
    },
  };
  return { server, backend };
}

/** Lets every message, step and promise reaction under way run (no timer: works with mocked ones). */
const flush = () => new Promise((resolve) => setImmediate(resolve));

/** Waits until `check` holds, polling once per turn of the event loop; fails with `what` after a second. */
async function until(check: () => boolean, what: string): Promise<void> {
  for (const start = Date.now(); !check(); await flush()) {
    if (Date.now() - start > 1_000) throw new Error(`Timed out waiting for: ${what}`);
  }
}

/** `pending`, `resolved` or `rejected <code>`, once everything under way has run (a few turns: a reply crosses the bus). */
async function outcome(promise: Promise<unknown>): Promise<string> {
  let result = 'pending';
  promise.then(
    () => (result = 'resolved'),
    (e: PerchError) => (result = `rejected ${e.code}`),
  );
  for (let i = 0; i < 5; i++) await flush();
  return result;
}

/** Opens tabs of one user sharing one cache (IndexedDB), one connection and one bus. */
function tabsOf(backend: Backend, bus = tabBus()) {
  const cache: CacheStore = memoryStore();
  return (): PerchClient =>
    createClient({ backend, auth: { token: 't' }, user: 'alice', storage: 'persistent', openCache: async () => cache, tabs: 'shared', tabCoordinator: bus() });
}

/** Connects `leader`, then the followers, and waits until they mirror its online status. */
async function connectAll(leader: PerchClient, ...followers: PerchClient[]): Promise<void> {
  await leader.connect();
  for (const client of followers) {
    void client.connect();
    await until(() => client.status.get().state === 'online', 'a follower mirrors the online status');
  }
}

test('a follower\'s createGroup run by a leader that closes before answering, asked again of the new leader, makes one group', async () => {
  const { server, backend } = groupServer();
  const tab = tabBus();
  const cache: CacheStore = memoryStore(); // IndexedDB, shared by the tabs
  const open = (): PerchClient =>
    createClient({ backend, auth: { token: 't' }, user: 'alice', storage: 'persistent', openCache: async () => cache, tabs: 'shared', tabCoordinator: tab() });
  const [leader, next, caller] = [open(), open(), open()];
  try {
    await leader.connect();
    for (const client of [next, caller]) {
      void client.connect();
      await until(() => client.status.get().state === 'online', 'a follower mirrors the online status');
    }
    assert.deepEqual([leader, next, caller].map((c) => c.status.get().leader), [true, false, false]);

    server.loseAnswers = 'hang'; // the leader runs it, then closes before the answer comes
    const call = caller.createGroup('Offsite', ['bob']);
    await until(() => server.groups.length === 1, 'the leader ran the call');
    server.loseAnswers = undefined;
    await leader.disconnect(); // the next tab takes over and is asked again

    const group = await call;
    assert.equal(next.status.get().leader, true);
    assert.equal(server.connections, 2, 'the new leader ran it on its own connection');
    assert.deepEqual(server.groups.map((g) => g.title), ['Offsite'], 'one group, not two');
    assert.deepEqual([group.id, group.title, group.members], ['g1', 'Offsite', ['alice', 'bob']], 'the answer is the group the old leader made');
  } finally {
    for (const client of [leader, next, caller]) await client.disconnect();
  }
});

test('createGroup called again with the same clientId after the connection dropped with the answer gives the same group', async () => {
  const { server, backend } = groupServer();
  const alice = createClient({ backend, auth: { token: 't' }, user: 'alice', storage: 'memory', tabs: 'single', reconnect: { baseDelay: 1, maxDelay: 5 } });
  try {
    await alice.connect();
    server.loseAnswers = 'drop';
    const clientId = crypto.randomUUID();
    await assert.rejects(alice.createGroup('Offsite', ['bob'], clientId), (e: PerchError) => e.code === 'unavailable');
    assert.equal(server.groups.length, 1, 'the server made it before the connection dropped');
    server.loseAnswers = undefined;
    await until(() => alice.status.get().state === 'online' && server.connections === 2, 'reconnected');

    const group = await alice.createGroup('Offsite', ['bob'], clientId);
    assert.deepEqual([group.id, server.groups.length], ['g1', 1], 'the retry answers the first group and makes none');
    await until(() => alice.conversations.get().length === 1, 'the group is listed');
    assert.notEqual((await alice.createGroup('Offsite', ['bob'])).id, 'g1', 'a new call (a new clientId) is a new group');
  } finally {
    await alice.disconnect();
  }
});

test('the tab whose createGroup the old leader left unanswered takes over itself: the call waits for its connection and answers the one group', async () => {
  const { server, backend } = groupServer();
  const open = tabsOf(backend);
  const [leader, caller] = [open(), open()];
  try {
    await connectAll(leader, caller);
    server.loseAnswers = 'hang';
    const call = caller.createGroup('Offsite', ['bob']);
    await until(() => server.groups.length === 1, 'the leader ran the call');
    server.loseAnswers = undefined;
    await leader.disconnect(); // the calling tab takes over; its connection is not open yet

    const group = await call;
    assert.deepEqual([caller.status.get().leader, server.connections], [true, 2], 'it ran in the caller, on its own connection');
    assert.deepEqual(server.groups.map((g) => g.title), ['Offsite'], 'one group, not two');
    assert.deepEqual([group.id, group.title, group.members], ['g1', 'Offsite', ['alice', 'bob']], 'the answer is the group the old leader made');
  } finally {
    for (const client of [leader, caller]) await client.disconnect();
  }
});

test('a follower\'s call asked again of a new leader that is still connecting waits for that connection and succeeds', async () => {
  const { server, backend } = groupServer();
  const sent: TabMessage[] = [];
  const open = tabsOf(backend, tabBus(sent));
  const [leader, next, caller] = [open(), open(), open()];
  const calls = () => sent.filter((m) => m.t === 'call').length;
  try {
    await connectAll(leader, next, caller);
    server.loseAnswers = 'hang';
    const call = caller.createGroup('Offsite', ['bob']);
    await until(() => server.groups.length === 1, 'the leader ran the call');
    server.loseAnswers = undefined;
    let handshake = () => {};
    server.slow = new Promise((resolve) => (handshake = resolve));
    await leader.disconnect();

    await until(() => next.status.get().leader && server.connections === 2 && calls() === 2, 'the next tab leads, connects, and is asked again');
    assert.equal(await outcome(call), 'pending', 'the new leader holds the call while its connection opens');
    handshake();
    const group = await call;
    assert.deepEqual([group.id, server.groups.length], ['g1', 1], 'the group the old leader made, and no second one');
    assert.equal(caller.status.get().leader, false);
  } finally {
    for (const client of [leader, next, caller]) await client.disconnect();
  }
});

test(`a follower waits out the new leader's ${CONNECT_WAIT} ms wait for its connection: its timeout restarts when it asks again`, async () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  const { server, backend } = groupServer();
  const sent: TabMessage[] = [];
  const open = tabsOf(backend, tabBus(sent));
  const [leader, next, caller] = [open(), open(), open()];
  try {
    await connectAll(leader, next, caller);
    server.loseAnswers = 'hang';
    const call = caller.createGroup('Offsite', ['bob']);
    await until(() => server.groups.length === 1, 'the leader ran the call');
    server.loseAnswers = undefined;
    mock.timers.tick(20_000); // the old leader holds the call 20 s, then closes
    assert.equal(await outcome(call), 'pending');
    server.slow = new Promise(() => {}); // the new leader's connection never opens
    await leader.disconnect();
    await until(() => next.status.get().leader && sent.filter((m) => m.t === 'call').length === 2, 'the new leader is asked again');
    assert.equal(await outcome(call), 'pending', 'the new leader waits for its connection');

    mock.timers.tick(CONNECT_WAIT - 1);
    assert.equal(await outcome(call), 'pending', 'the follower does not give up while the leader waits');
    mock.timers.tick(1);
    assert.equal(await outcome(call), 'rejected unavailable', 'the leader\'s answer, not a follower timeout');
  } finally {
    for (const client of [leader, next, caller]) await client.disconnect();
    mock.timers.reset();
  }
});

/**
 * A server with one conversation, `c1`. `asked` records the texts of the sends in the order they
 * reached it; while `hold` is set, a send is answered (and persisted, in `persisted`) only when the
 * test calls the resolver it left in `held`.
 */
function chatServer() {
  const server = { asked: [] as string[], persisted: [] as string[], held: [] as Array<() => void>, hold: false };
  const conversation: Conversation = { id: 'c1', kind: 'direct', members: ['alice', 'bob'], lastSeq: 0, readSeq: 0 };
  const byClientId = new Map<string, Message>();
  const backend: Backend = {
    name: 'chat',
    capabilities: NONE,
    connect: async () =>
      ({
        session: { user: { id: 'alice', name: 'Alice' } },
        conversations: async () => [structuredClone(conversation)],
        history: async () => ({ messages: [], complete: true }),
        markRead: async () => {},
        markDelivered: async () => {},
        close: () => {},
        sendMessage: async (input: { conversationId: Id; clientId: string; text: string; createdAt: number }): Promise<Message> => {
          server.asked.push(input.text);
          if (server.hold) await new Promise<void>((resolve) => server.held.push(resolve));
          // Idempotent on clientId, as the backend contract asks.
          let message = byClientId.get(input.clientId);
          if (!message) {
            const seq = server.persisted.push(input.text);
            byClientId.set(input.clientId, (message = { ...input, id: `m${seq}`, seq, senderId: 'alice', sentAt: input.createdAt, state: 'sent' }));
          }
          return structuredClone(message);
        },
      }) as unknown as BackendConnection,
  };
  return { server, backend };
}

test('a message composed in one tab after one composed in another comes after it in the lane, even when the clock went back meanwhile', async () => {
  const { server, backend } = chatServer();
  server.hold = true;
  const open = tabsOf(backend);
  const [leader, follower] = [open(), open()];
  const now = Date.now;
  try {
    await connectAll(leader, follower);
    await until(() => follower.conversations.get().length === 1, 'the follower lists the conversation');
    leader.send('c1', 'first'); // on the wire, held
    await until(() => server.asked.length === 1, 'the first is sent');
    leader.send('c1', 'second');
    await until(() => follower.messages('c1').get().length === 2, 'the follower shows both');
    Date.now = () => now() - 60_000; // the clock goes back a minute
    follower.send('c1', 'third');
    await until(() => leader.messages('c1').get().length === 3, 'the leader has the third queued');
    for (let sent = 1; sent <= 3; sent++) {
      await until(() => server.held.length === sent, `send ${sent} is on the wire`);
      server.held[sent - 1]!();
    }
    await until(() => leader.messages('c1').get().every((m) => m.state === 'sent'), 'all three acked');
    assert.deepEqual(server.asked, ['first', 'second', 'third'], 'compose order');
  } finally {
    Date.now = now;
    for (const client of [leader, follower]) await client.disconnect();
  }
});

test('a tab that went on in memory after a failed write takes over: the message another tab queued is still sent', async () => {
  const { server, backend } = chatServer();
  const bus = tabBus();
  const cache: CacheStore = memoryStore(); // IndexedDB, shared by the tabs
  let full = false; // the disk is full for the second tab's writes
  const flaky: CacheStore = { ...cache, write: (puts, deletes) => (full ? Promise.reject(new DOMException('Quota exceeded', 'QuotaExceededError')) : cache.write(puts, deletes)) };
  const open = (store: CacheStore): PerchClient =>
    createClient({ backend, auth: { token: 't' }, user: 'alice', storage: 'persistent', openCache: async () => store, tabs: 'shared', tabCoordinator: bus() });
  const [leader, next, other] = [open(cache), open(flaky), open(cache)];
  try {
    await connectAll(leader, next, other);
    await until(() => other.conversations.get().length === 1, 'the tabs list the conversation');
    full = true;
    next.send('c1', 'from the tab in memory');
    await until(() => next.storage.mode === 'memory' && server.persisted.length === 1, 'that tab goes on in memory; its message is sent');
    server.hold = true; // the leader's next send never gets an answer
    other.send('c1', 'queued in another tab');
    await until(() => server.asked.length === 2, 'the leader sent it');
    server.hold = false;
    await leader.disconnect(); // the tab in memory takes over
    await until(() => server.persisted.length === 2, 'the new leader sends the queued message');
    assert.deepEqual(server.persisted, ['from the tab in memory', 'queued in another tab']);
    await until(() => other.messages('c1').get().every((m) => m.state === 'sent'), 'the other tab shows it sent, not pending');
    assert.equal(other.messages('c1').get().length, 2);
  } finally {
    for (const client of [leader, next, other]) await client.disconnect();
  }
});
