import assert from 'node:assert/strict';
import { mock, test } from 'node:test';
import { PerchError, type Backend, type BackendCapabilities, type BackendConnection } from './backend.js';
import type { CacheStore, RangeOptions } from './cache/cache-store.js';
import { memoryStore } from './cache/memory-store.js';
import { createClient, type ClientOptions, type PerchClient } from './client.js';
import { CONNECT_WAIT } from './connection.js';
import type { TabCoordinator } from './leader-election.js';

const NONE: BackendCapabilities = { feed: false, presence: false, typing: false, receipts: false, groups: false, history: false, directory: false, edits: false, support: false };

/** A backend whose connection attempts wait until the test answers them; while `catchUp.hold` is set, so does the catch-up. */
function manualBackend() {
  const attempts: Array<{ open: () => void; refuse: (error: PerchError) => void; closed: boolean }> = [];
  const catchUp = { hold: undefined as Promise<void> | undefined };
  const backend: Backend = {
    name: 'manual',
    capabilities: NONE,
    connect: () =>
      new Promise((resolve, reject) => {
        const attempt = {
          closed: false,
          open: () =>
            resolve({
              session: { user: { id: 'alice', name: 'Alice' } },
              conversations: async () => {
                await catchUp.hold;
                return [];
              },
              openDirect: async (userId: string) => ({ id: `d-${userId}`, kind: 'direct', members: ['alice', userId], lastSeq: 0, readSeq: 0 }),
              close: () => (attempt.closed = true),
            } as unknown as BackendConnection),
          refuse: reject,
        };
        attempts.push(attempt);
      }),
  };
  return { backend, attempts, catchUp };
}

/** A tab coordinator whose leadership the test grants; `lead` is the latest election's callback. */
function manualTabs() {
  const tabs = { lead: undefined as (() => void) | undefined, elections: 0 };
  const coordinator: TabCoordinator = {
    elect(onLeader) {
      tabs.lead = onLeader;
      tabs.elections++;
    },
    send() {},
    listen: () => () => {},
    close() {},
  };
  return { tabs, coordinator };
}

/** A memory cache whose reads wait, once `hold` is set, until it resolves. */
function gatedCache() {
  const store = memoryStore();
  const gate = { hold: undefined as Promise<void> | undefined };
  const cache: CacheStore = {
    ...store,
    async range<T>(prefix: string, options?: RangeOptions) {
      await gate.hold;
      return store.range<T>(prefix, options);
    },
  };
  return { gate, cache };
}

function client(backend: Backend, options: Partial<ClientOptions> = {}): PerchClient {
  return createClient({ backend, auth: { token: 't' }, user: 'alice', storage: 'memory', tabs: 'single', ...options });
}

/**
 * Whether `promise` has settled once everything already under way has run: it races a marker
 * that only resolves on the next turn of the event loop, after every pending promise reaction.
 * No timer is involved, so a hanging promise shows as `pending` without waiting for a timeout.
 */
async function outcome(promise: Promise<unknown>): Promise<string> {
  const settled = promise.then(
    () => 'resolved',
    (e: PerchError) => `rejected ${e.code}`,
  );
  return Promise.race([settled, new Promise<string>((resolve) => setImmediate(() => resolve('pending')))]);
}

/** Lets every pending promise reaction run. */
const flush = () => new Promise((resolve) => setImmediate(resolve));

test('disconnect() before the client is online settles connect(); the next connect() resolves once online', async () => {
  const { backend, attempts } = manualBackend();
  const alice = client(backend);
  const first = alice.connect();
  await alice.disconnect();
  assert.equal(await outcome(first), 'resolved', 'connect() must not hang after disconnect()');
  assert.equal(alice.status.get().state, 'offline');
  assert.equal(attempts.length, 0, 'no connection is attempted after disconnect()');

  const second = alice.connect();
  assert.equal(await outcome(second), 'pending', 'not online yet');
  assert.equal(attempts.length, 1);
  attempts[0]!.open();
  assert.equal(await outcome(second), 'resolved');
  assert.equal(alice.status.get().state, 'online');
  await alice.disconnect();
});

test('disconnect() while the backend is still connecting settles connect() and closes the late connection', async () => {
  const { backend, attempts } = manualBackend();
  const alice = client(backend);
  const connecting = alice.connect();
  await flush();
  assert.equal(attempts.length, 1);
  await alice.disconnect();
  assert.equal(await outcome(connecting), 'resolved');
  attempts[0]!.open(); // the server answers after all
  await flush();
  assert.ok(attempts[0]!.closed, 'the late connection is closed');
  assert.equal(alice.status.get().state, 'offline');
});

test('connect() twice while connecting: both resolve once online, and both settle on disconnect()', async () => {
  const { backend, attempts } = manualBackend();
  const alice = client(backend);
  const [a, b] = [alice.connect(), alice.connect()];
  await flush();
  assert.equal(attempts.length, 1, 'one connection for both calls');
  attempts[0]!.open();
  assert.deepEqual([await outcome(a), await outcome(b)], ['resolved', 'resolved']);
  await alice.disconnect();

  const [c, d] = [alice.connect(), alice.connect()];
  await flush();
  await alice.disconnect();
  assert.deepEqual([await outcome(c), await outcome(d)], ['resolved', 'resolved']);
});

test('connect(), disconnect(), connect() at once (React StrictMode): the first settles at once, the last once online', async () => {
  const { backend, attempts } = manualBackend();
  const alice = client(backend);
  const first = alice.connect();
  void alice.disconnect();
  const last = alice.connect();
  assert.equal(await outcome(first), 'resolved');
  assert.equal(await outcome(last), 'pending');
  assert.equal(attempts.length, 1);
  attempts[0]!.open();
  assert.equal(await outcome(last), 'resolved');
  assert.equal(alice.status.get().state, 'online');
  await alice.disconnect();
});

test('disconnect() while reconnecting after a network failure resolves connect() (network failures never reject it)', async () => {
  const { backend, attempts } = manualBackend();
  const alice = client(backend, { reconnect: { baseDelay: 60_000, random: () => 0.5 } }); // retries in 30 s
  const connecting = alice.connect();
  await flush();
  attempts[0]!.refuse(new PerchError('unavailable', 'The server is down.'));
  await flush();
  assert.equal(alice.status.get().state, 'reconnecting');
  await alice.disconnect();
  assert.equal(await outcome(connecting), 'resolved');
  assert.equal(alice.status.get().error, undefined, 'a stop is not a failure');
});

test('disconnect() while the tab is becoming the leader settles connect(); connecting again waits for the new election', async () => {
  const { backend, attempts } = manualBackend();
  const { tabs, coordinator } = manualTabs();
  const { gate, cache } = gatedCache();
  const alice = client(backend, { storage: 'persistent', openCache: async () => cache, tabs: 'shared', tabCoordinator: coordinator });
  const first = alice.connect();
  await flush();
  assert.equal(tabs.elections, 1);
  let release = () => {};
  gate.hold = new Promise((resolve) => (release = resolve));
  tabs.lead!(); // this tab takes over and re-reads the cache…
  await alice.disconnect(); // …and the page disconnects meanwhile
  assert.equal(await outcome(first), 'resolved');

  const second = alice.connect(); // the same coordinator, a new election
  await flush();
  assert.equal(tabs.elections, 2);
  release();
  await flush();
  assert.equal(attempts.length, 0, 'the old election does not make this tab the leader');
  assert.equal(alice.status.get().leader, false);
  assert.equal(await outcome(second), 'pending');

  tabs.lead!();
  await flush();
  assert.equal(attempts.length, 1);
  attempts[0]!.open();
  assert.equal(await outcome(second), 'resolved');
  assert.deepEqual([alice.status.get().state, alice.status.get().leader], ['online', true]);
  await alice.disconnect();
});

test('refused credentials reject connect() and stop; connect() rejects again at once; disconnect() clears the error', async () => {
  const { backend, attempts } = manualBackend();
  const alice = client(backend);
  const connecting = alice.connect();
  await flush();
  attempts[0]!.refuse(new PerchError('unauthorized', 'The token expired.'));
  assert.equal(await outcome(connecting), 'rejected unauthorized');
  assert.deepEqual([alice.status.get().state, alice.status.get().error?.code], ['offline', 'unauthorized'], 'the status says why');
  assert.equal(await outcome(alice.connect()), 'rejected unauthorized', 'still refused: nothing is retried');
  assert.equal(attempts.length, 1);
  await alice.disconnect();
  assert.deepEqual([alice.status.get().state, alice.status.get().error], ['offline', undefined]);
});

test('after a refusal, disconnect() and connect() start afresh: the old refusal does not reject the new call', async () => {
  const { backend, attempts } = manualBackend();
  const { tabs, coordinator } = manualTabs();
  const alice = client(backend, { storage: 'persistent', openCache: async () => memoryStore(), tabs: 'shared', tabCoordinator: coordinator });
  const refused = alice.connect();
  await flush();
  tabs.lead!();
  await flush();
  attempts[0]!.refuse(new PerchError('unauthorized', 'The token expired.'));
  assert.equal(await outcome(refused), 'rejected unauthorized');
  assert.equal(await outcome(alice.connect()), 'rejected unauthorized', 'still refused until disconnect()');

  await alice.disconnect();
  const again = alice.connect();
  assert.equal(await outcome(again), 'pending', 'a follower until elected');
  tabs.lead!();
  await flush();
  attempts[1]!.open();
  assert.equal(await outcome(again), 'resolved');
  await alice.disconnect();
});

test('a command called right after connect(), not awaited, waits for the connection and runs', async () => {
  const { backend, attempts } = manualBackend();
  const alice = client(backend);
  void alice.connect();
  const opening = alice.openDirect('bob'); // before the cache is even open
  await flush();
  assert.equal(alice.status.get().state, 'connecting');
  assert.equal(await outcome(opening), 'pending', 'it waits for the attempt under way instead of failing');
  attempts[0]!.open();
  assert.equal((await opening).id, 'd-bob');
  await alice.disconnect();
});

test('a command waiting for the connection runs as soon as it opens, during the catch-up, before the status says online', async () => {
  const { backend, attempts, catchUp } = manualBackend();
  const alice = client(backend);
  catchUp.hold = new Promise(() => {}); // the catch-up never ends
  void alice.connect();
  const opening = alice.openDirect('bob');
  await flush();
  attempts[0]!.open();
  assert.equal(await outcome(opening), 'resolved');
  assert.equal(alice.status.get().state, 'connecting', 'still catching up');
  await alice.disconnect();
});

test('in shared tabs, a command called before this tab is elected runs once it leads and its connection opens', async () => {
  const { backend, attempts } = manualBackend();
  const { tabs, coordinator } = manualTabs();
  const alice = client(backend, { storage: 'persistent', openCache: async () => memoryStore(), tabs: 'shared', tabCoordinator: coordinator });
  void alice.connect();
  const opening = alice.openDirect('bob');
  await flush();
  assert.equal(await outcome(opening), 'pending', 'no tab leads yet: the call waits for one');
  tabs.lead!(); // this tab takes over; its connection is not open yet
  await flush();
  assert.equal(attempts.length, 1);
  assert.equal(await outcome(opening), 'pending', 'the new leader waits for its own connection');
  attempts[0]!.open();
  assert.equal((await opening).id, 'd-bob');
  await alice.disconnect();
});

test('a command rejects unavailable at once while offline: not started, backing off, refused, or disconnected', async () => {
  const { backend, attempts } = manualBackend();
  const alice = client(backend, { reconnect: { baseDelay: 60_000, random: () => 0.5 } }); // retries in 30 s
  assert.equal(await outcome(alice.openDirect('bob')), 'rejected unavailable', 'never connected');

  void alice.connect();
  await flush();
  attempts[0]!.refuse(new PerchError('unavailable', 'The server is down.'));
  await flush();
  assert.equal(alice.status.get().state, 'reconnecting');
  assert.equal(await outcome(alice.openDirect('bob')), 'rejected unavailable', 'backing off: no attempt to wait for');

  await alice.disconnect();
  assert.equal(await outcome(alice.openDirect('bob')), 'rejected unavailable', 'disconnected');

  const refused = alice.connect();
  await flush();
  attempts[1]!.refuse(new PerchError('unauthorized', 'The token expired.'));
  assert.equal(await outcome(refused), 'rejected unauthorized');
  assert.equal(await outcome(alice.openDirect('bob')), 'rejected unavailable', 'refused for good');
  await alice.disconnect();
});

test('a command waiting for the connection rejects unavailable as soon as the attempt fails or disconnect() stops it', async () => {
  const { backend, attempts } = manualBackend();
  const alice = client(backend, { reconnect: { baseDelay: 60_000, random: () => 0.5 } });
  void alice.connect();
  const failing = alice.openDirect('bob');
  await flush();
  assert.equal(await outcome(failing), 'pending');
  attempts[0]!.refuse(new PerchError('unavailable', 'The server is down.'));
  assert.equal(await outcome(failing), 'rejected unavailable', 'the attempt it waited for failed: no waiting through the backoff');

  alice.reconnectNow();
  const stopped = alice.openDirect('bob');
  await flush();
  assert.equal(await outcome(stopped), 'pending');
  await alice.disconnect();
  assert.equal(await outcome(stopped), 'rejected unavailable');
});

test(`a command waits for a connection that never opens ${CONNECT_WAIT} ms at most, then rejects unavailable`, async () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  const { backend, attempts } = manualBackend();
  const alice = client(backend);
  try {
    void alice.connect();
    const opening = alice.openDirect('bob');
    await flush();
    assert.equal(attempts.length, 1, 'the attempt hangs');
    mock.timers.tick(CONNECT_WAIT - 1);
    assert.equal(await outcome(opening), 'pending');
    mock.timers.tick(1);
    assert.equal(await outcome(opening), 'rejected unavailable');
    assert.equal(alice.status.get().state, 'connecting', 'the client goes on trying; only the command gave up');
  } finally {
    await alice.disconnect();
    mock.timers.reset();
  }
});
