// The outbox scenarios of outbox.test.ts, run through websocketBackend against the real
// perch-server (child process) with a fault-injecting proxy in between.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';
import type { PerchClient, PerchError } from '@perch/core';
import {
  alicePlusBob,
  assertNoDuplicates,
  confirmed,
  freshIndexedDb,
  serverMessages,
  startStack,
  texts,
  until,
  wsClient,
  type Stack,
} from './ws-harness.js';

const LIMIT = { timeout: 30_000 };
const clients: PerchClient[] = [];
let stack: Stack;
beforeEach(async () => {
  freshIndexedDb();
  stack = await startStack();
});
afterEach(async () => {
  for (const c of clients.splice(0)) await c.disconnect();
  await stack.stop();
});
async function setup() {
  const s = await alicePlusBob(stack);
  clients.push(s.alice, s.bob);
  return s;
}
const offline = (client: PerchClient) => until(() => client.status.get().state !== 'online', 'the client notices it is offline');

test('50 messages composed offline are each delivered once, in order, after reconnect', LIMIT, async () => {
  const { alice, bob, id } = await setup();
  stack.proxy.setOffline(true);
  await offline(alice);
  const sent = Array.from({ length: 50 }, (_, i) => alice.send(id, `offline ${i}`));
  await until(() => texts(alice, id).length === 50, 'alice sees her 50 pending messages');
  assert.ok(alice.messages(id).get().every((m) => m.state === 'pending'));

  stack.proxy.setOffline(false);
  await until(() => confirmed(bob, id).length === 50, 'bob receives all 50');
  await until(() => confirmed(alice, id).length === 50, 'alice sees all 50 acknowledged');
  const expected = sent.map((m) => m.text);
  const onServer = await serverMessages(stack.server.url, 'alice', id);
  assert.deepEqual(onServer.map((m) => m.text), expected, 'the server holds each once, in compose order');
  assert.deepEqual(onServer.map((m) => m.clientId), sent.map((m) => m.clientId), 'the clientIds of compose time were kept');
  assert.deepEqual(texts(bob, id), expected);
  assert.deepEqual(texts(alice, id), expected);
  assertNoDuplicates(alice.messages(id).get());
  assertNoDuplicates(bob.messages(id).get());
});

test('an ack lost after the server persisted the message leaves one copy', LIMIT, async () => {
  const { alice, bob, id } = await setup();
  stack.proxy.loseNextAcks(1);
  const message = alice.send(id, 'hello once');
  await until(() => stack.proxy.acksLost === 1, 'the proxy swallows the ack and cuts the connection');
  await until(() => confirmed(alice, id).length === 1 && alice.status.get().state === 'online', 'alice reconnects and sees it acknowledged');
  await until(() => confirmed(bob, id).length === 1, 'bob has it');
  await new Promise((r) => setTimeout(r, 50));
  const onServer = await serverMessages(stack.server.url, 'bob', id);
  assert.deepEqual(onServer.map((m) => m.clientId), [message.clientId], 'the server holds one copy');
  assert.deepEqual(texts(alice, id), ['hello once']);
  assert.deepEqual(texts(bob, id), ['hello once']);
});

// The reference server answers the sending connection with the message and echoes it only to the
// sender's other connections; the echo-before-ack order is covered with the memory hub (outbox.test.ts).
test('sent messages show once, at every moment, and come back only in their acks', LIMIT, async () => {
  const { alice, id } = await setup();
  Object.assign(stack.proxy.faults, { latency: [1, 8] });
  let worst = 0;
  const stop = alice.messages(id).subscribe((list) => {
    assertNoDuplicates(list);
    worst = Math.max(worst, list.length);
  });
  for (let i = 0; i < 10; i++) alice.send(id, `m${i}`);
  await until(() => confirmed(alice, id).length === 10, 'all ten acknowledged');
  stop();
  assert.equal(stack.proxy.ownEchoes, 0, 'the server sent no echo to the sending connection');
  assert.equal(worst, 10, 'never more than ten rows were shown');
  assert.equal((await serverMessages(stack.server.url, 'alice', id)).length, 10);
});

test('a message the server refuses for good (over its text limit) is marked failed and the queue goes on', LIMIT, async () => {
  const { alice, bob, id } = await setup();
  // A client that skips validation: the proxy stretches #2 past the server's 10 000-character limit.
  stack.proxy.rewrite = (frame) => {
    const args = frame.args as { text?: string };
    return frame.cmd === 'sendMessage' && args.text === 'two' ? { ...frame, args: { ...args, text: 'two'.padEnd(10_001, '!') } } : undefined;
  };
  const errors: PerchError[] = [];
  alice.on('error', (e) => errors.push(e));
  stack.proxy.setOffline(true);
  await offline(alice);
  for (const text of ['one', 'two', 'three', 'four', 'five']) alice.send(id, text);
  stack.proxy.setOffline(false);
  await until(() => confirmed(bob, id).length === 4, 'bob receives the four accepted ones');
  assert.deepEqual(texts(bob, id), ['one', 'three', 'four', 'five']);
  await until(() => alice.messages(id).get().some((m) => m.state === 'failed'), 'alice sees #2 failed');
  const failed = alice.messages(id).get().filter((m) => m.state === 'failed');
  assert.deepEqual(failed.map((m) => m.text), ['two']);
  assert.equal(failed[0]!.error?.code, 'too_large');
  assert.deepEqual(errors.map((e) => e.code), ['too_large']);
  await until(() => confirmed(alice, id).length === 4, 'alice sees the four acknowledged');
  assert.deepEqual(confirmed(alice, id).map((m) => m.text), ['one', 'three', 'four', 'five']);

  // The cause is fixed and the user retries: same clientId, delivered once, at the end.
  stack.proxy.rewrite = undefined;
  alice.retry(failed[0]!.clientId);
  await until(() => confirmed(bob, id).length === 5, 'the retried message arrives');
  const onServer = await serverMessages(stack.server.url, 'alice', id);
  assert.deepEqual(onServer.map((m) => m.text), ['one', 'three', 'four', 'five', 'two']);
  assert.equal(onServer.at(-1)!.clientId, failed[0]!.clientId);
});

test('a message to a conversation the user does not belong to fails with forbidden; the others go through', LIMIT, async () => {
  const { alice, bob, id } = await setup();
  const carol = await wsClient(stack.url, 'carol');
  clients.push(carol);
  await carol.connect();
  const { id: bobCarol } = await bob.openDirect('carol');
  const errors: PerchError[] = [];
  alice.on('error', (e) => errors.push(e));
  stack.proxy.setOffline(true);
  await offline(alice);
  alice.send(id, 'one');
  const intruder = alice.send(bobCarol, 'two (not my conversation)');
  alice.send(id, 'three');
  stack.proxy.setOffline(false);
  await until(() => alice.messages(bobCarol).get()[0]?.state === 'failed', 'the intruding message is marked failed');
  assert.equal(alice.messages(bobCarol).get()[0]!.clientId, intruder.clientId);
  assert.equal(alice.messages(bobCarol).get()[0]!.error?.code, 'forbidden');
  assert.deepEqual(errors.map((e) => e.code), ['forbidden']);
  await until(() => confirmed(bob, id).length === 2, 'bob gets the other two');
  assert.deepEqual(texts(bob, id), ['one', 'three']);
  assert.deepEqual(await serverMessages(stack.server.url, 'bob', bobCarol), [], 'nothing reached bob and carol');
});

test('a reload with a pending outbox delivers each message once', LIMIT, async () => {
  const { alice, bob, id } = await setup();
  stack.proxy.setOffline(true);
  await offline(alice);
  const sent = ['before reload 1', 'before reload 2', 'before reload 3'].map((t) => alice.send(id, t));
  await until(() => texts(alice, id).length === 3, 'queued');
  await alice.disconnect(); // the tab is closed with its outbox full

  const reloaded = await wsClient(stack.url, 'alice');
  clients.push(reloaded);
  await reloaded.ready;
  await reloaded.messages(id).loaded;
  assert.deepEqual(texts(reloaded, id), sent.map((m) => m.text), 'the reloaded page shows the queued messages at once');
  stack.proxy.setOffline(false);
  await reloaded.connect();
  await until(() => confirmed(bob, id).length === 3, 'bob receives them');
  await until(() => confirmed(reloaded, id).length === 3, 'acknowledged after reload');
  const onServer = await serverMessages(stack.server.url, 'alice', id);
  assert.deepEqual(onServer.map((m) => m.clientId), sent.map((m) => m.clientId));
});

test('a reload after the server persisted but before the ack arrived leaves one copy', LIMIT, async () => {
  const { alice, bob, id } = await setup();
  stack.proxy.setOffline(true);
  await offline(alice);
  alice.send(id, 'sent just before the crash');
  await until(() => texts(alice, id).length === 1, 'queued');
  stack.proxy.loseNextAcks(1);
  stack.proxy.setOffline(false);
  await until(() => stack.proxy.acksLost === 1, 'the server persisted it and the ack was lost');
  await alice.disconnect();
  const reloaded = await wsClient(stack.url, 'alice');
  clients.push(reloaded);
  await reloaded.connect();
  await until(() => confirmed(reloaded, id).length === 1, 'acked after reload');
  await until(() => confirmed(bob, id).length === 1, 'bob has it');
  await new Promise((r) => setTimeout(r, 50));
  assert.equal((await serverMessages(stack.server.url, 'bob', id)).length, 1);
  assert.deepEqual(texts(reloaded, id), ['sent just before the crash']);
});

test('posts queued offline are published once', LIMIT, async () => {
  const { alice, bob } = await setup();
  await bob.follow('alice');
  stack.proxy.setOffline(true);
  await offline(alice);
  const post = alice.post('Working from the lake today');
  await until(() => alice.timeline.get().some((p) => p.clientId === post.clientId && p.state === 'pending'), 'shown queued');
  stack.proxy.setOffline(false);
  await until(() => alice.timeline.get().some((p) => p.clientId === post.clientId && p.state === 'sent'), 'published');
  await until(() => bob.timeline.get().some((p) => p.clientId === post.clientId), 'bob sees it in his home timeline');
  assert.equal(alice.timeline.get().filter((p) => p.clientId === post.clientId).length, 1);
  assert.equal(bob.timeline.get().filter((p) => p.clientId === post.clientId).length, 1);
});
