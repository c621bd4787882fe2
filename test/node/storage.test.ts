import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';
import { memoryStore, openIdbStore, type CacheStore, type PerchClient, type StorageInfo } from '@perch/core';
import { alicePlusBob, clientFor, confirmed, createHub, freshIndexedDb, texts, until } from './harness.js';

const clients: PerchClient[] = [];
const realIndexedDb = globalThis.indexedDB;
beforeEach(freshIndexedDb);
afterEach(async () => {
  for (const c of clients.splice(0)) await c.disconnect();
  globalThis.indexedDB = realIndexedDb;
});

test('when IndexedDB refuses to open, the client works in memory and says so', async () => {
  // What Firefox private mode and blocked storage do: open() throws.
  globalThis.indexedDB = {
    open() {
      throw new DOMException('The operation is insecure.', 'SecurityError');
    },
  } as unknown as IDBFactory;
  const hub = createHub();
  const alice = clientFor(hub, 'alice');
  const bob = clientFor(hub, 'bob', { storage: 'memory' });
  clients.push(alice, bob);
  const seen: StorageInfo[] = [];
  alice.on('storage', (info) => seen.push(info));
  await Promise.all([alice.connect(), bob.connect()]);
  assert.equal(alice.storage.mode, 'memory');
  assert.equal(seen.length, 1);
  assert.equal(seen[0]!.mode, 'memory');
  assert.match(seen[0]!.reason!, /IndexedDB could not be opened \(SecurityError/);
  const { id } = await alice.openDirect('bob');
  alice.send(id, 'still works');
  await until(() => confirmed(bob, id).length === 1, 'bob receives it');
});

test('a write that fails (quota) switches to memory mid-session without losing the message', async () => {
  const hub = createHub();
  let failWrites = false;
  const flaky = async (name: string): Promise<CacheStore> => {
    const store = await openIdbStore(name);
    return {
      ...store,
      write: (puts, deletes) =>
        failWrites ? Promise.reject(new DOMException('Quota exceeded', 'QuotaExceededError')) : store.write(puts, deletes),
    };
  };
  const alice = clientFor(hub, 'alice', { openCache: flaky });
  const bob = clientFor(hub, 'bob');
  clients.push(alice, bob);
  await Promise.all([alice.connect(), bob.connect()]);
  const { id } = await alice.openDirect('bob');
  const seen: StorageInfo[] = [];
  alice.on('storage', (info) => seen.push(info));
  failWrites = true;
  alice.send(id, 'written when the disk is full');
  await until(() => confirmed(bob, id).length === 1, 'delivered anyway');
  assert.deepEqual(texts(alice, id), ['written when the disk is full']);
  assert.equal(seen.length, 1);
  assert.match(seen[0]!.reason!, /QuotaExceededError/);
  assert.equal(alice.storage.mode, 'memory');
});

test('after a failed write, what the cache held still shows (it moves to memory with the client)', async () => {
  const { hub, alice, bob, id } = await alicePlusBob();
  clients.push(bob);
  for (let i = 0; i < 5; i++) bob.send(id, `cached ${i}`);
  await until(() => confirmed(alice, id).length === 5, 'alice has 5');
  await alice.disconnect();
  const full = async (name: string): Promise<CacheStore> => ({
    ...(await openIdbStore(name)),
    write: () => Promise.reject(new DOMException('Quota exceeded', 'QuotaExceededError')),
  });
  const reopened = clientFor(hub, 'alice', { openCache: full });
  clients.push(reopened);
  await reopened.connect(); // its first write fails
  assert.equal(reopened.storage.mode, 'memory');
  await reopened.messages(id).loaded; // the chat is opened after the switch
  assert.deepEqual(texts(reopened, id), ['cached 0', 'cached 1', 'cached 2', 'cached 3', 'cached 4']);
  assert.equal((await reopened.history(id)).complete, true);
  bob.send(id, 'after the switch');
  await until(() => confirmed(reopened, id).length === 6, 'new messages still arrive');
});

test("storage: 'memory' writes nothing to the device", async () => {
  const { hub } = await alicePlusBob().then(async (s) => {
    await s.alice.disconnect();
    await s.bob.disconnect();
    return s;
  });
  freshIndexedDb();
  const alice = clientFor(hub, 'alice', { storage: 'memory' });
  clients.push(alice);
  await alice.connect();
  const { id } = await alice.openDirect('bob');
  alice.send(id, 'nothing on disk');
  await until(() => confirmed(alice, id).length === 1, 'acked');
  assert.deepEqual(await indexedDB.databases(), []);
});

test('cache first: a new client shows cached conversations and messages before the network answers', async () => {
  const { hub, alice, bob, id } = await alicePlusBob();
  for (let i = 0; i < 20; i++) bob.send(id, `cached ${i}`);
  await until(() => confirmed(alice, id).length === 20, 'alice has 20');
  await Promise.all([alice.disconnect(), bob.disconnect()]);
  hub.setOffline(true);
  const reopened = clientFor(hub, 'alice');
  clients.push(reopened);
  await reopened.messages(id).loaded;
  assert.equal(reopened.user.get()?.id, 'alice');
  assert.equal(reopened.conversations.get().length, 1);
  assert.equal(reopened.conversations.get()[0]!.unread, 20);
  assert.equal(confirmed(reopened, id).length, 20);
  assert.equal(reopened.roster.get().length, 2, 'contacts come from the cache too');
  void reopened.connect().catch(() => {});
  await until(() => reopened.status.get().state === 'reconnecting', 'offline, retrying');
  assert.equal(confirmed(reopened, id).length, 20, 'still readable while the hub is down');
});

test('a cache of another user is cleared instead of shown', async () => {
  const hub = createHub();
  const first = clientFor(hub, 'alice');
  await first.connect();
  await first.openDirect('bob');
  await first.disconnect();
  // The same cache name, but the token belongs to carol (e.g. a shared kiosk).
  const other = clientFor(hub, 'carol', { user: 'alice' });
  clients.push(other);
  await other.connect();
  await until(() => other.user.get()?.id === 'carol', 'carol signed in');
  assert.equal(other.conversations.get().length, 0, "alice's conversation is gone");
});

test('the memory store keeps keys sorted and copies values', async () => {
  const store = memoryStore();
  await store.write([['m|c|002', { n: 2 }], ['m|c|001', { n: 1 }], ['m|d|001', { n: 9 }]], []);
  assert.deepEqual((await store.range('m|c|')).map(([k]) => k), ['m|c|001', 'm|c|002']);
  assert.deepEqual((await store.range('m|c|', { reverse: true, limit: 1 })).map(([k]) => k), ['m|c|002']);
  const value = await store.get<{ n: number }>('m|c|001');
  value!.n = 5;
  assert.equal((await store.get<{ n: number }>('m|c|001'))!.n, 1);
  await store.clear('m|c|');
  assert.deepEqual((await store.range('m|')).map(([k]) => k), ['m|d|001']);
});
