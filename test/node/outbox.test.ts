import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';
import type { PerchClient, PerchError } from '@perch/core';
import { alicePlusBob, assertNoDuplicates, clientFor, confirmed, freshIndexedDb, texts, until } from './harness.js';

const clients: PerchClient[] = [];
beforeEach(freshIndexedDb);
afterEach(async () => {
  for (const c of clients.splice(0)) await c.disconnect();
});
const track = <T extends { alice: PerchClient; bob: PerchClient }>(setup: T): T => {
  clients.push(setup.alice, setup.bob);
  return setup;
};

test('50 messages composed offline are each delivered once, in order, after reconnect', async () => {
  const { hub, alice, bob, id } = track(await alicePlusBob());
  hub.setOffline(true);
  await until(() => alice.status.get().state !== 'online', 'alice notices the hub is offline');
  const sent = Array.from({ length: 50 }, (_, i) => alice.send(id, `offline ${i}`));
  assert.equal(new Set(sent.map((m) => m.clientId)).size, 50, 'every message has its own clientId at once');
  await until(() => texts(alice, id).length === 50, 'alice sees her 50 pending messages');
  assert.ok(alice.messages(id).get().every((m) => m.state === 'pending'));

  hub.setOffline(false);
  await until(() => confirmed(bob, id).length === 50, 'bob receives all 50');
  const expected = sent.map((m) => m.text);
  assert.deepEqual(hub.messages(id).map((m) => m.text), expected, 'the server holds each once, in compose order');
  assert.deepEqual(texts(bob, id), expected);
  await until(() => confirmed(alice, id).length === 50, 'alice sees all 50 acknowledged');
  assert.deepEqual(texts(alice, id), expected);
  assert.deepEqual(hub.messages(id).map((m) => m.clientId), sent.map((m) => m.clientId), 'the clientIds of compose time were kept');
  assertNoDuplicates(alice.messages(id).get());
});

test('an ack lost after the server persisted the message leaves one copy', async () => {
  const { hub, alice, bob, id } = track(await alicePlusBob());
  hub.loseNextAcks(1);
  const message = alice.send(id, 'hello once');
  await until(() => alice.status.get().attempt > 0 || alice.status.get().state !== 'online', 'the connection drops with the ack');
  await until(() => confirmed(alice, id).length === 1 && alice.status.get().state === 'online', 'alice resends and is acked');
  await until(() => confirmed(bob, id).length === 1, 'bob has it');
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(hub.messages(id).length, 1, 'the server holds one copy');
  assert.equal(hub.messages(id)[0]!.clientId, message.clientId);
  assert.deepEqual(texts(alice, id), ['hello once']);
  assert.deepEqual(texts(bob, id), ['hello once']);
});

test('the echo arriving before the ack shows the message once, at every moment', async () => {
  const { hub, alice, id } = track(await alicePlusBob());
  // Answers and events share one ordered queue per connection and the hub fans out before it
  // acks, so the echo always comes first here; latency widens the window between the two.
  hub.faults.latency = [1, 8];
  let worst = 0;
  const stop = alice.messages(id).subscribe((list) => {
    assertNoDuplicates(list);
    worst = Math.max(worst, list.length);
  });
  for (let i = 0; i < 10; i++) alice.send(id, `m${i}`);
  await until(() => confirmed(alice, id).length === 10, 'all ten acknowledged');
  stop();
  assert.equal(worst, 10, 'never more than ten rows were shown');
  assert.equal(hub.messages(id).length, 10);
});

test('a permanently rejected message is marked failed and the queue goes on', async () => {
  const { hub, alice, bob, id } = track(await alicePlusBob());
  hub.rejectMessages((input) => (input.text === 'two' ? 'forbidden' : undefined));
  const errors: PerchError[] = [];
  alice.on('error', (e) => errors.push(e));
  hub.setOffline(true);
  await until(() => alice.status.get().state !== 'online', 'offline');
  for (const text of ['one', 'two', 'three', 'four', 'five']) alice.send(id, text);
  hub.setOffline(false);
  await until(() => confirmed(bob, id).length === 4, 'bob receives the four accepted ones');
  assert.deepEqual(texts(bob, id), ['one', 'three', 'four', 'five']);
  await until(() => alice.messages(id).get().some((m) => m.state === 'failed'), 'alice sees #2 failed');
  const failed = alice.messages(id).get().filter((m) => m.state === 'failed');
  assert.deepEqual(failed.map((m) => m.text), ['two']);
  assert.equal(failed[0]!.error?.code, 'forbidden');
  assert.equal(errors.length, 1);
  assert.equal(errors[0]!.code, 'forbidden');
  await until(() => confirmed(alice, id).length === 4, 'alice sees the four acknowledged');
  assert.deepEqual(confirmed(alice, id).map((m) => m.text), ['one', 'three', 'four', 'five']);

  // The user retries after the cause is fixed: same clientId, delivered once.
  hub.rejectMessages(undefined);
  alice.retry(failed[0]!.clientId);
  await until(() => confirmed(bob, id).length === 5, 'the retried message arrives');
  assert.equal(hub.messages(id).at(-1)!.clientId, failed[0]!.clientId);
});

test('a reload with a pending outbox delivers each message once', async () => {
  const { hub, alice, bob, id } = track(await alicePlusBob());
  hub.setOffline(true);
  await until(() => alice.status.get().state !== 'online', 'offline');
  const sent = ['before reload 1', 'before reload 2', 'before reload 3'].map((t) => alice.send(id, t));
  await until(() => texts(alice, id).length === 3, 'queued');
  await alice.disconnect(); // the tab is closed with its outbox full

  const reloaded = clientFor(hub, 'alice');
  clients.push(reloaded);
  await reloaded.ready;
  assert.deepEqual(texts(reloaded, id), sent.map((m) => m.text), 'the reloaded page shows the queued messages at once');
  hub.setOffline(false);
  await reloaded.connect();
  await until(() => confirmed(bob, id).length === 3, 'bob receives them');
  await until(() => confirmed(reloaded, id).length === 3, 'acknowledged after reload');
  assert.deepEqual(hub.messages(id).map((m) => m.clientId), sent.map((m) => m.clientId));
  assert.equal(hub.messages(id).length, 3);
});

test('a message sent before the cache has opened is written to it and delivered once', async () => {
  const { hub, alice, bob, id } = track(await alicePlusBob());
  await alice.disconnect();
  const page = clientFor(hub, 'alice');
  clients.push(page);
  const early = page.send(id, 'sent as the page loads'); // IndexedDB is still opening
  await until(() => texts(page, id).length === 1, 'it shows, pending');
  const reader = clientFor(hub, 'alice'); // e.g. a reload now
  clients.push(reader);
  await reader.ready;
  assert.deepEqual(texts(reader, id), ['sent as the page loads'], 'it is in the IndexedDB outbox');
  await page.connect();
  await until(() => confirmed(bob, id).length === 1, 'bob receives it');
  await until(() => confirmed(page, id).length === 1, 'acknowledged');
  assert.deepEqual(hub.messages(id).map((m) => m.clientId), [early.clientId]);
});

test('a reload after the server persisted but before the ack arrived leaves one copy', async () => {
  const { hub, alice, bob, id } = track(await alicePlusBob());
  hub.setOffline(true);
  await until(() => alice.status.get().state !== 'online', 'offline');
  alice.send(id, 'sent just before the crash');
  await until(() => texts(alice, id).length === 1, 'queued');
  hub.loseNextAcks(1);
  hub.setOffline(false);
  await until(() => hub.messages(id).length === 1, 'the server persisted it');
  await alice.disconnect();
  const reloaded = clientFor(hub, 'alice');
  clients.push(reloaded);
  await reloaded.connect();
  await until(() => confirmed(reloaded, id).length === 1, 'acked after reload');
  await until(() => confirmed(bob, id).length === 1, 'bob has it');
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(hub.messages(id).length, 1);
  assert.deepEqual(texts(reloaded, id), ['sent just before the crash']);
});

test('posts queued offline are published once', async () => {
  const { hub, alice, bob } = track(await alicePlusBob());
  hub.setOffline(true);
  await until(() => alice.status.get().state !== 'online', 'offline');
  const post = alice.post('Working from the lake today');
  await until(() => alice.timeline.get().some((p) => p.clientId === post.clientId && p.state === 'pending'), 'shown queued');
  hub.setOffline(false);
  await until(() => alice.timeline.get().some((p) => p.clientId === post.clientId && p.state === 'sent'), 'published');
  await until(() => bob.timeline.get().some((p) => p.clientId === post.clientId), 'bob sees it in his home timeline');
  assert.equal(alice.timeline.get().filter((p) => p.clientId === post.clientId).length, 1);
});

test('bad input is refused with a clear error and nothing is queued', async () => {
  const { alice, id } = track(await alicePlusBob());
  assert.throws(() => alice.send(id, '   '), /empty/);
  assert.throws(() => alice.send(id, 'x'.repeat(10_001)), /limit is 10000/);
  assert.throws(() => alice.send('bad id with spaces', 'hi'), /not a conversation id/);
  await assert.rejects(alice.setPresence({ show: 'sleeping' as 'away' }), /must be one of/);
  assert.equal(alice.messages(id).get().length, 0);
});

test('a message sent to a conversation the client has not listed yet is filed once', async () => {
  const { hub, alice, bob } = track(await alicePlusBob());
  // carol opens a chat with alice; alice sends into it before her list knows it.
  const carolConversation = hub.conversationsOf('alice').find((c) => c.members.includes('carol'));
  assert.equal(carolConversation, undefined);
  const carol = clientFor(hub, 'carol');
  clients.push(carol);
  await carol.connect();
  const { id } = await carol.openDirect('alice');
  alice.send(id, 'into a conversation I had not listed');
  await until(() => confirmed(alice, id).length === 1, 'alice files it once the list is refreshed');
  await until(() => confirmed(carol, id).length === 1, 'carol has it');
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(hub.messages(id).length, 1);
  assert.equal(alice.messages(id).get().length, 1);
  void bob;
});
