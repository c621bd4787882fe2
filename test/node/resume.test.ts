import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';
import { memoryBackend, type MemoryHub } from '@perch/backend-memory';
import type { Backend, BackendConnection, Message, MessagePage, PerchClient } from '@perch/core';
import { alicePlusBob, assertNoDuplicates, clientFor, confirmed, createHub, freshIndexedDb, texts, until } from './harness.js';

const clients: PerchClient[] = [];
beforeEach(freshIndexedDb);
afterEach(async () => {
  for (const c of clients.splice(0)) await c.disconnect();
});
async function setup() {
  const s = await alicePlusBob();
  clients.push(s.alice, s.bob);
  return s;
}

/**
 * The memory backend of `hub`, with some methods of each connection replaced by `override`
 * (given the real connection, to call through).
 */
function wrapped(hub: MemoryHub, override: (connection: BackendConnection) => Partial<BackendConnection>): Backend {
  const inner = memoryBackend({ hub });
  return {
    ...inner,
    connect: async (...args) => {
      const connection = await inner.connect(...args);
      return Object.assign(Object.create(connection) as BackendConnection, override(connection));
    },
  };
}

/** Seqs must run without a hole from the first shown to the last. */
function assertContiguous(messages: Message[], last: number): void {
  const seqs = messages.map((m) => m.seq!);
  assert.equal(seqs.at(-1), last, 'ends at the last seq');
  for (let i = 1; i < seqs.length; i++) assert.equal(seqs[i], seqs[i - 1]! + 1, `no hole after seq ${seqs[i - 1]}`);
}

test('200 messages missed while offline are backfilled with no hole and no duplicate', async () => {
  const { hub, alice, bob, id } = await setup();
  bob.send(id, 'before the trip');
  await until(() => confirmed(alice, id).length === 1, 'alice has the first message');
  await alice.disconnect();
  for (let i = 0; i < 200; i++) hub.injectMessage(id, 'bob', `while away ${i}`);
  const events: Message[] = [];
  alice.on('message', (m) => events.push(m));
  await alice.connect();
  await until(() => confirmed(alice, id).length === 201, 'alice backfilled 201 messages');
  const shown = confirmed(alice, id);
  assertNoDuplicates(shown);
  assertContiguous(shown, 201);
  assert.deepEqual(shown.map((m) => m.id), hub.messages(id).map((m) => m.id));
  assert.equal(events.length, 200, 'one message event per missed message');
  assert.equal(alice.conversations.get().find((c) => c.id === id)!.unread, 201);
});

test('the missed messages survive a reload and are not fetched twice', async () => {
  const { hub, alice, id } = await setup();
  for (let i = 0; i < 30; i++) hub.injectMessage(id, 'bob', `m${i}`);
  await until(() => confirmed(alice, id).length === 30, 'alice has 30');
  await alice.disconnect();
  const reloaded = clientFor(hub, 'alice');
  clients.push(reloaded);
  await reloaded.messages(id).loaded;
  assert.equal(confirmed(reloaded, id).length, 30, 'shown from the cache before connecting');
  const events: Message[] = [];
  reloaded.on('message', (m) => events.push(m));
  await reloaded.connect();
  hub.injectMessage(id, 'bob', 'after reload');
  await until(() => confirmed(reloaded, id).length === 31, 'the new one arrives');
  assert.deepEqual(events.map((m) => m.text), ['after reload'], 'nothing old is replayed');
});

test('reordered and duplicated frames still leave every message once, in seq order', async () => {
  const { hub, alice, bob, id } = await setup();
  hub.faults.reorder = 0.3;
  hub.faults.duplicate = 0.3;
  for (let i = 0; i < 60; i++) hub.injectMessage(id, i % 2 ? 'alice' : 'bob', `r${i}`);
  await until(() => confirmed(alice, id).length === 60 && confirmed(bob, id).length === 60, 'both hold 60');
  for (const c of [alice, bob]) {
    assertNoDuplicates(c.messages(id).get());
    assertContiguous(confirmed(c, id), 60);
  }
});

test('a gap seen live is detected and backfilled', async () => {
  const { hub, alice, id } = await setup();
  hub.injectMessage(id, 'bob', 'one');
  await until(() => confirmed(alice, id).length === 1, 'first');
  // Lose alice's connection without her noticing the messages in between.
  hub.faults.offline = true; // refuse reconnects for a moment
  hub.dropConnections((user) => user === 'alice');
  hub.injectMessage(id, 'bob', 'two');
  hub.injectMessage(id, 'bob', 'three');
  hub.faults.offline = false;
  hub.injectMessage(id, 'bob', 'four');
  await until(() => confirmed(alice, id).length === 4, 'all four');
  assert.deepEqual(confirmed(alice, id).map((m) => m.text), ['one', 'two', 'three', 'four']);
});

test('a cursor the server no longer serves triggers a full resync, never a stuck client', async () => {
  const { hub, alice, id } = await setup();
  for (let i = 1; i <= 10; i++) hub.injectMessage(id, 'bob', `old ${i}`);
  await until(() => confirmed(alice, id).length === 10, 'ten');
  await alice.disconnect();
  for (let i = 11; i <= 400; i++) hub.injectMessage(id, 'bob', `new ${i}`);
  hub.compact(id, 150); // the server keeps only the newest 150
  await alice.connect();
  await until(() => confirmed(alice, id).at(-1)?.seq === 400, 'alice reaches seq 400');
  assert.equal(alice.status.get().state, 'online');
  const shown = confirmed(alice, id);
  assertNoDuplicates(shown);
  assertContiguous(shown, 400);
  assert.ok(!shown.some((m) => m.text.startsWith('old')), 'the stale window was dropped');
});

test('two disconnects in a row with no new traffic replay nothing', async () => {
  const { hub, alice, bob, id } = await setup();
  bob.send(id, 'hi');
  alice.send(id, 'hello');
  await until(() => confirmed(alice, id).length === 2 && confirmed(bob, id).length === 2, 'both hold both');
  const events: Message[] = [];
  alice.on('message', (m) => events.push(m));
  let drops = 0;
  alice.status.subscribe((s) => (drops += s.state === 'reconnecting' ? 1 : 0));
  for (let i = 1; i <= 2; i++) {
    hub.dropConnections((user) => user === 'alice');
    await until(() => drops === i && alice.status.get().state === 'online' && alice.status.get().attempt === 0, `alice is back after drop ${i}`);
  }
  await new Promise((r) => setTimeout(r, 30));
  assert.deepEqual(events, []);
  assert.equal(confirmed(alice, id).length, 2);
  assert.equal(hub.messages(id).length, 2);
});

test('read markers set offline reach the server on reconnect, and unread counts follow them', async () => {
  const { hub, alice, bob, id } = await setup();
  for (let i = 0; i < 5; i++) bob.send(id, `b${i}`);
  await until(() => alice.unread.get() === 5, 'alice has 5 unread');
  hub.setOffline(true);
  await until(() => alice.status.get().state !== 'online', 'offline');
  await alice.markRead(id);
  assert.equal(alice.unread.get(), 0, 'read at once, offline');
  hub.setOffline(false);
  await until(() => hub.conversationsOf('alice').find((c) => c.id === id)!.readSeq === 5, 'the server learns the marker');
  await until(() => bob.messages(id).get().every((m) => m.state === 'read'), "bob sees alice read his messages");
});

test('receipts move own messages from sent to delivered to read', async () => {
  const { alice, bob, id } = await setup();
  const states: string[] = [];
  alice.send(id, 'did you get this?');
  alice.messages(id).subscribe((list) => {
    const state = list[0]?.state;
    if (state && states.at(-1) !== state) states.push(state);
  });
  await until(() => states.includes('delivered'), 'delivered');
  await bob.markRead(id);
  await until(() => states.includes('read'), 'read');
  // 'sent' may be skipped when bob's delivery receipt lands in the same batch as the ack.
  const rank = ['pending', 'sent', 'delivered', 'read'];
  assert.deepEqual([...states].sort((a, b) => rank.indexOf(a) - rank.indexOf(b)), states, 'states only move forward');
  assert.deepEqual(states.slice(-2), ['delivered', 'read']);
});

test('edits and deletes reach the other side and replace the old copy', async () => {
  const { alice, bob, id } = await setup();
  alice.send(id, 'helo');
  await until(() => confirmed(bob, id).length === 1 && confirmed(alice, id).length === 1, 'both have it');
  const [message] = confirmed(alice, id);
  await alice.edit(id, message!.id!, 'hello');
  await until(() => confirmed(bob, id)[0]!.text === 'hello', 'bob sees the edit');
  assert.ok(confirmed(bob, id)[0]!.editedAt);
  await alice.delete(id, message!.id!);
  await until(() => confirmed(bob, id)[0]!.deleted === true, 'bob sees the delete');
  assert.equal(confirmed(bob, id).length, 1);
  await assert.rejects(bob.edit(id, message!.id!, 'not mine'), (e: Error & { code?: string }) => e.code === 'forbidden');
});

test('history pages back through the cache and then the server', async () => {
  const { hub, id } = await setup();
  for (let i = 1; i <= 250; i++) hub.injectMessage(id, 'bob', `h${i}`);
  freshIndexedDb(); // a new device: nothing cached
  const alice = clientFor(hub, 'alice');
  clients.push(alice);
  await alice.connect();
  await until(() => confirmed(alice, id).at(-1)?.seq === 250, 'latest page');
  const first = confirmed(alice, id)[0]!.seq!;
  assert.ok(first > 1, 'only the newest page was fetched at first');
  let complete = false;
  for (let guard = 0; !complete && guard < 20; guard++) complete = (await alice.history(id, { limit: 60 })).complete;
  assert.ok(complete);
  const shown = confirmed(alice, id);
  assert.equal(shown.length, 250);
  assertContiguous(shown, 250);
  assertNoDuplicates(shown);
});

test('an edit of an old message below the held messages leaves no hole: paging back fetches what lies between', async () => {
  const hub = createHub();
  const { id } = hub.openDirect('alice', 'bob');
  const old = Array.from({ length: 150 }, (_, i) => hub.injectMessage(id, 'bob', `m${i + 1}`));
  const [alice, bob] = [clientFor(hub, 'alice'), clientFor(hub, 'bob')];
  clients.push(alice, bob);
  await Promise.all([alice.connect(), bob.connect()]);
  await until(() => confirmed(alice, id).length === 100, 'a new device holds the newest page, 51..150');
  const events: Message[] = [];
  alice.on('message', (m) => events.push(m));
  await bob.edit(id, old[4]!.id!, 'm5 edited'); // seq 5, far below what alice holds
  bob.send(id, 'm151');
  await until(() => confirmed(alice, id).at(-1)?.text === 'm151', 'the edit, then m151, reached alice');
  assert.deepEqual(events.map((m) => m.text), ['m151'], 'an edit is no new message');
  assert.equal(confirmed(alice, id)[0]!.seq, 51, 'nothing shows apart from the run held');
  const page = await alice.history(id, { before: confirmed(alice, id)[0]!.seq, limit: 50 });
  assert.deepEqual([page.messages[0]!.seq, page.messages.at(-1)!.seq, page.complete], [1, 50, true]);
  let shown = confirmed(alice, id);
  assertContiguous(shown, 151);
  assert.equal(shown.length, 151);
  assert.equal(shown[4]!.text, 'm5 edited');

  // And after a reload, paging back from the cache finds no stray message either.
  await alice.disconnect();
  const reloaded = clientFor(hub, 'alice');
  clients.push(reloaded);
  await reloaded.messages(id).loaded;
  while (!(await reloaded.history(id, { before: confirmed(reloaded, id)[0]!.seq, limit: 40 })).complete);
  shown = confirmed(reloaded, id);
  assertContiguous(shown, 151);
  assert.equal(shown.length, 151);
});

/** Puts the hub's copy of a conversation back to its first `keep` messages, as a server restored from a backup would be. */
function restoreBackup(hub: MemoryHub, conversationId: string, keep: number): void {
  type Held = { messages: Message[]; lastSeq: number; byClientId: Map<string, Message>; readBy: Record<string, number>; deliveredTo: Record<string, number> };
  const record = (hub.chat as unknown as { conversations: Map<string, Held> }).conversations.get(conversationId)!;
  record.messages.splice(keep);
  record.lastSeq = keep;
  record.byClientId = new Map(record.messages.map((m) => [`${m.senderId}\u0000${m.clientId}`, m]));
  for (const markers of [record.readBy, record.deliveredTo]) for (const user in markers) markers[user] = Math.min(markers[user]!, keep);
}

test('a server restored from a backup (fewer messages than the device holds): the conversation is fetched afresh and new messages show', async () => {
  const { hub, alice, id } = await setup();
  for (let i = 1; i <= 10; i++) hub.injectMessage(id, 'bob', `m${i}`);
  await until(() => confirmed(alice, id).length === 10, 'alice has 10');
  await alice.markRead(id);
  hub.setOffline(true);
  await until(() => alice.status.get().state !== 'online', 'alice is offline');
  restoreBackup(hub, id, 5); // messages 6..10 are gone from the server
  hub.injectMessage(id, 'bob', 'new 6');
  hub.injectMessage(id, 'bob', 'new 7');
  hub.setOffline(false);
  await until(() => alice.status.get().state === 'online', 'alice is back');
  hub.injectMessage(id, 'bob', 'new 8');
  await until(() => confirmed(alice, id).at(-1)?.text === 'new 8', 'the live message shows');
  assert.deepEqual(texts(alice, id), hub.messages(id).map((m) => m.text), 'what the server holds, nothing else');
  assert.deepEqual(alice.messages(id).get().map((m) => m.id), hub.messages(id).map((m) => m.id));
  assert.equal(alice.unread.get(), 3, 'the three new ones are unread');
  assert.equal(hub.conversationsOf('alice')[0]!.readSeq, 5, 'the old read marker did not mark them read on the server');
});

test('a message deleted while history() waits for the server stays deleted', async () => {
  const hub = createHub();
  const { id } = hub.openDirect('alice', 'bob');
  const old = Array.from({ length: 150 }, (_, i) => hub.injectMessage(id, 'bob', `m${i + 1}`));
  // While `hold` is set, pages come back only once `gate` opens; `asked` counts the requests.
  let open = () => {};
  const gate = new Promise<void>((resolve) => (open = resolve));
  let hold = false;
  let asked = 0;
  const backend = wrapped(hub, (connection) => ({
    history: async (input: Parameters<BackendConnection['history']>[0]): Promise<MessagePage> => {
      asked++;
      const page = await connection.history(input);
      if (hold) await gate;
      return page;
    },
  }));
  const [alice, bob] = [clientFor(hub, 'alice', { backend }), clientFor(hub, 'bob')];
  clients.push(alice, bob);
  await Promise.all([alice.connect(), bob.connect()]);
  await until(() => confirmed(alice, id).length === 100, 'alice holds 51..150');
  hold = true;
  const before = asked;
  const page = alice.history(id, { before: 80, limit: 50 }); // 51..79 from the cache, the rest from the server
  await until(() => asked > before, 'the cached part is read, the server asked');
  await bob.delete(id, old[59]!.id!);
  await until(() => confirmed(alice, id)[9]!.deleted === true, 'alice shows seq 60 deleted');
  open();
  await page;
  const sixty = confirmed(alice, id).find((m) => m.seq === 60)!;
  assert.deepEqual([sixty.deleted, sixty.text], [true, ''], 'the copy read before the delete does not come back');
});

test('a message that arrives right after the conversation list is no sign of a restored server: nothing is refetched, the offline read marker is sent', async () => {
  const hub = createHub();
  const { id } = hub.openDirect('alice', 'bob');
  // While `racing` is set, bob's next message is sent just after the server answered alice's list,
  // so that it reaches alice right behind the answer.
  let racing = false;
  let lists = 0;
  const backend = wrapped(hub, (connection) => ({
    conversations: () => {
      lists++;
      const list = connection.conversations();
      if (racing) hub.injectMessage(id, 'bob', 'right behind the list');
      racing = false;
      return list;
    },
  }));
  const alice = clientFor(hub, 'alice', { backend });
  clients.push(alice);
  await alice.connect();
  for (let i = 1; i <= 5; i++) hub.injectMessage(id, 'bob', `m${i}`);
  await until(() => confirmed(alice, id).length === 5, 'alice has 5');
  hub.setOffline(true);
  await until(() => alice.status.get().state !== 'online', 'alice is offline');
  await alice.markRead(id); // read offline: sent on reconnect
  const asked = lists;
  racing = true;
  hub.setOffline(false);
  await until(() => lists > asked && confirmed(alice, id).length === 6 && alice.status.get().state === 'online', 'back, with the new one');
  await until(() => hub.conversationsOf('alice')[0]!.readSeq === 5, 'the read marker reached the server');
  assert.equal(alice.unread.get(), 1, 'only the new one is unread');
  assert.deepEqual(texts(alice, id), hub.messages(id).map((m) => m.text));
});
