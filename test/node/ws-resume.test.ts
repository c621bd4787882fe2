// The resume scenarios of resume.test.ts, plus a server crash, run through websocketBackend
// against the real perch-server (child process) with a fault-injecting proxy in between.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';
import type { Message, PerchClient } from '@perch/core';
import {
  alicePlusBob,
  assertNoDuplicates,
  confirmed,
  freshIndexedDb,
  sendAs,
  serverMessages,
  startStack,
  tempDatabase,
  until,
  wsClient,
  type Stack,
} from './ws-harness.js';

const LIMIT = { timeout: 40_000 };
const clients: PerchClient[] = [];
const cleanups: Array<() => void> = [];
let stack: Stack | undefined;
beforeEach(freshIndexedDb);
afterEach(async () => {
  for (const c of clients.splice(0)) await c.disconnect();
  await stack?.stop();
  stack = undefined;
  for (const clean of cleanups.splice(0)) clean();
});
async function setup(db?: string) {
  stack = await startStack(db);
  const s = await alicePlusBob(stack);
  clients.push(s.alice, s.bob);
  return { ...s, stack };
}

/** Seqs must run without a hole from the first shown to the last. */
function assertContiguous(messages: Message[], last: number): void {
  const seqs = messages.map((m) => m.seq!);
  assert.equal(seqs.at(-1), last, 'ends at the last seq');
  for (let i = 1; i < seqs.length; i++) assert.equal(seqs[i], seqs[i - 1]! + 1, `no hole after seq ${seqs[i - 1]}`);
}

test('200 messages missed while offline are backfilled with no hole and no duplicate', LIMIT, async () => {
  const { stack, alice, bob, id } = await setup();
  bob.send(id, 'before the trip');
  await until(() => confirmed(alice, id).length === 1, 'alice has the first message');
  await alice.disconnect();
  await sendAs(stack.server.url, 'bob', id, Array.from({ length: 200 }, (_, i) => `while away ${i}`));
  const events: Message[] = [];
  alice.on('message', (m) => events.push(m));
  await alice.connect();
  await until(() => confirmed(alice, id).length === 201, 'alice backfilled 201 messages');
  const shown = confirmed(alice, id);
  assertNoDuplicates(shown);
  assertContiguous(shown, 201);
  assert.deepEqual(shown.map((m) => m.id), (await serverMessages(stack.server.url, 'alice', id)).map((m) => m.id));
  assert.equal(events.length, 200, 'one message event per missed message');
  assert.equal(alice.conversations.get().find((c) => c.id === id)!.unread, 201);
});

test('the missed messages survive a reload and are not fetched twice', LIMIT, async () => {
  const { stack, alice, id } = await setup();
  await sendAs(stack.server.url, 'bob', id, Array.from({ length: 30 }, (_, i) => `m${i}`));
  await until(() => confirmed(alice, id).length === 30, 'alice has 30');
  await alice.disconnect();
  const reloaded = await wsClient(stack.url, 'alice');
  clients.push(reloaded);
  await reloaded.messages(id).loaded;
  assert.equal(confirmed(reloaded, id).length, 30, 'shown from the cache before connecting');
  const events: Message[] = [];
  reloaded.on('message', (m) => events.push(m));
  await reloaded.connect();
  await sendAs(stack.server.url, 'bob', id, ['after reload']);
  await until(() => confirmed(reloaded, id).length === 31, 'the new one arrives');
  assert.deepEqual(events.map((m) => m.text), ['after reload'], 'nothing old is replayed');
});

test('duplicated and reordered event frames still leave every message once, in seq order', LIMIT, async () => {
  const { stack, alice, bob, id } = await setup();
  Object.assign(stack.proxy.faults, { duplicate: 0.3, reorder: 0.3, latency: [0, 2] });
  for (let i = 0; i < 30; i++) {
    await sendAs(stack.server.url, 'bob', id, [`b${i}`]);
    await sendAs(stack.server.url, 'alice', id, [`a${i}`]);
  }
  await until(() => confirmed(alice, id).length === 60 && confirmed(bob, id).length === 60, 'both hold 60');
  for (const c of [alice, bob]) {
    assertNoDuplicates(c.messages(id).get());
    assertContiguous(confirmed(c, id), 60);
  }
});

test('two disconnects in a row with no new traffic replay nothing', LIMIT, async () => {
  const { stack, alice, bob, id } = await setup();
  bob.send(id, 'hi');
  alice.send(id, 'hello');
  await until(() => confirmed(alice, id).length === 2 && confirmed(bob, id).length === 2, 'both hold both');
  const events: Message[] = [];
  alice.on('message', (m) => events.push(m));
  let drops = 0;
  alice.status.subscribe((s) => (drops += s.state === 'reconnecting' ? 1 : 0));
  for (let i = 1; i <= 2; i++) {
    stack.proxy.dropConnections((user) => user === 'alice');
    await until(() => drops === i && alice.status.get().state === 'online' && alice.status.get().attempt === 0, `alice is back after drop ${i}`);
  }
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(events, []);
  assert.equal(confirmed(alice, id).length, 2);
  assert.equal((await serverMessages(stack.server.url, 'alice', id)).length, 2);
});

test('read markers set offline reach the server on reconnect', LIMIT, async () => {
  const { stack, alice, bob, id } = await setup();
  for (let i = 0; i < 5; i++) bob.send(id, `b${i}`);
  await until(() => alice.unread.get() === 5, 'alice has 5 unread');
  stack.proxy.setOffline(true);
  await until(() => alice.status.get().state !== 'online', 'offline');
  await alice.markRead(id);
  assert.equal(alice.unread.get(), 0, 'read at once, offline');
  stack.proxy.setOffline(false);
  await until(() => bob.messages(id).get().every((m) => m.state === 'read'), 'bob sees alice read his messages');
});

test('the server killed with SIGKILL mid-traffic and restarted on its database: every message arrives once', LIMIT, async () => {
  const db = tempDatabase();
  cleanups.push(db.remove);
  const { stack, alice, bob, id } = await setup(db.file);
  const sent: Message[] = [];
  const send = (i: number) => sent.push((i % 2 ? alice : bob).send(id, `${i % 2 ? 'alice' : 'bob'} #${i}`));
  for (let i = 0; i < 40; i++) {
    send(i);
    if (i % 5 === 0) await new Promise((r) => setTimeout(r, 2));
  }
  for (let i = 40; i < 80; i++) send(i); // a burst, still being delivered when the server dies
  await until(() => confirmed(bob, id).length >= 45, 'part of the burst is through');
  const pendingAtKill = [alice, bob].reduce((n, c) => n + c.messages(id).get().filter((m) => m.seq === undefined).length, 0);
  const restarting = stack.restart('SIGKILL', 150);
  for (let i = 80; i < 120; i++) send(i); // composed while the server is down
  await restarting;
  assert.ok(pendingAtKill > 0, 'the server was killed with messages in flight');
  const settled = () => [alice, bob].every((c) => confirmed(c, id).length === 120 && c.messages(id).get().length === 120);
  await until(settled, 'both hold all 120, none pending', 20_000);
  const onServer = await serverMessages(stack.server.url, 'alice', id);
  assert.equal(onServer.length, 120, 'the server holds each message once');
  assert.deepEqual(new Set(onServer.map((m) => m.clientId)), new Set(sent.map((m) => m.clientId)));
  for (const c of [alice, bob]) {
    assertNoDuplicates(c.messages(id).get());
    assert.deepEqual(confirmed(c, id).map((m) => m.id), onServer.map((m) => m.id), 'clients agree with the server on the order');
  }
  for (const who of ['alice', 'bob']) {
    const mine = onServer.filter((m) => m.senderId === who).map((m) => Number(m.text.split('#')[1]));
    assert.deepEqual(mine, [...mine].sort((a, b) => a - b), `${who}'s messages keep compose order`);
  }
});
