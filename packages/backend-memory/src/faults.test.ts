import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PerchError } from '@perch/core';
import { seededRandom } from './faults.js';
import { recorder, say, tick, world } from './harness.test.util.js';

async function codeOf(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => assert.fail('expected a rejection'),
    (caught: unknown) => caught,
  );
  assert.ok(error instanceof PerchError, `expected a PerchError, got ${String(error)}`);
  return error.code;
}

describe('seededRandom', () => {
  it('is reproducible and stays within [0, 1)', () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    const xs = Array.from({ length: 1000 }, () => a());
    assert.deepEqual(xs, Array.from({ length: 1000 }, () => b()));
    assert.ok(xs.every((x) => x >= 0 && x < 1));
    assert.notDeepEqual(xs.slice(0, 5), Array.from({ length: 5 }, seededRandom(43)));
    assert.ok(new Set(xs).size > 990);
  });
});

describe('faults', () => {
  it('applies latency to answers and keeps per-connection order with random latency', async () => {
    const { hub, connect } = world({ random: seededRandom(7) });
    const alice = await connect('alice');
    const bob = await connect('bob');
    const { id } = await alice.conn.openDirect('bob');
    hub.faults.latency = 15;
    const started = performance.now();
    await alice.conn.conversations();
    assert.ok(performance.now() - started >= 14, 'the answer waited for the latency');
    hub.injectMessage(id, 'bob', 'slow event');
    await tick(2);
    assert.equal(alice.events.of('message').length, 0, 'the event waits for the latency too');
    await tick(20);
    assert.equal(alice.events.of('message').length, 1);
    hub.faults.latency = [0, 20];
    for (let i = 0; i < 30; i++) hub.injectMessage(id, 'alice', `m${i}`);
    const answers = await Promise.all([1, 2, 3].map((n) => bob.conn.history({ conversationId: id, after: 0, limit: n })));
    assert.deepEqual(answers.map((page) => page.messages.length), [1, 2, 3]);
    await tick(30);
    const seqs = bob.events.of('message').map((m) => m.seq);
    assert.deepEqual(seqs, Array.from({ length: 31 }, (_, i) => i + 1));
  });

  it('goes offline: drops connections with closed(unavailable) and refuses connects until back', async () => {
    const { hub, backend, connect } = world();
    const alice = await connect('alice');
    const pending = alice.conn.conversations();
    hub.setOffline(true);
    assert.equal(await codeOf(pending), 'unavailable');
    await tick();
    assert.deepEqual(alice.events.of('closed').map((reason) => reason.code), ['unavailable']);
    assert.equal(await codeOf(alice.conn.conversations()), 'unavailable');
    const refused = await backend.connect({ token: hub.token('alice') }, recorder()).catch((e: unknown) => e);
    assert.ok(refused instanceof PerchError);
    assert.equal(refused.code, 'unavailable');
    assert.equal(refused.message, 'hub offline');
    hub.setOffline(false);
    const again = await connect('alice');
    assert.deepEqual(await again.conn.conversations(), []);
  });

  it('drops only the connections the filter picks', async () => {
    const { hub, connect } = world();
    const alice = await connect('alice');
    const bob = await connect('bob');
    const { id } = await alice.conn.openDirect('bob');
    const pending = bob.conn.history({ conversationId: id, limit: 5 });
    hub.dropConnections((userId) => userId === 'bob');
    assert.equal(await codeOf(pending), 'unavailable');
    hub.injectMessage(id, 'alice', 'after the drop');
    await tick();
    assert.equal(bob.events.of('closed').length, 1);
    assert.equal(bob.events.of('message').length, 0);
    assert.equal(alice.events.of('closed').length, 0);
    assert.equal(alice.events.of('message').length, 1);
    assert.equal(hub.connectionCount(), 1);
  });

  it('rejects the next connects with the chosen code and retryAfter', async () => {
    const { hub, backend, connect } = world();
    hub.rejectConnect('rate_limited', 250, 2);
    for (let i = 0; i < 2; i++) {
      const error = await backend.connect({ token: hub.token('alice') }, recorder()).catch((e: unknown) => e);
      assert.ok(error instanceof PerchError);
      assert.equal(error.code, 'rate_limited');
      assert.equal(error.retryAfter, 250);
      assert.equal(error.transient, true);
    }
    const { conn } = await connect('alice');
    assert.equal(conn.session.user.id, 'alice');
  });

  it('persists exactly once when the ack is lost, and the retry gets the original', async () => {
    const { hub, connect } = world();
    const alice = await connect('alice');
    const bob = await connect('bob');
    const { id } = await alice.conn.openDirect('bob');
    hub.loseNextAcks(1);
    const input = { conversationId: id, clientId: 'lost-ack', text: 'did it arrive?', createdAt: 1 };
    assert.equal(await codeOf(alice.conn.sendMessage(input)), 'unavailable');
    await tick();
    assert.deepEqual(alice.events.of('closed').map((reason) => reason.code), ['unavailable']);
    assert.equal(hub.messages(id).length, 1);
    assert.equal(bob.events.of('message').length, 1);
    const again = await connect('alice');
    const retry = await again.conn.sendMessage(input);
    assert.equal(retry.id, hub.messages(id)[0]?.id);
    assert.equal(retry.seq, 1);
    await tick();
    assert.equal(hub.messages(id).length, 1);
    assert.equal(bob.events.of('message').length, 1);

    hub.faults.ackLoss = 1;
    assert.equal(await codeOf(again.conn.post({ clientId: 'p', text: 'post', createdAt: 1 })), 'unavailable');
    hub.faults.ackLoss = 0;
    const third = await connect('alice');
    const post = await third.conn.post({ clientId: 'p', text: 'post', createdAt: 1 });
    const feed = await third.conn.feed({ source: { kind: 'home' }, limit: 10 });
    assert.deepEqual(feed.posts.map((p) => p.id), [post.id]);
  });

  it('duplicates message, post, receipt and presence events but not typing', async () => {
    const { hub, connect } = world();
    hub.addContact('bob', 'alice');
    const alice = await connect('alice');
    const bob = await connect('bob');
    const { id } = await alice.conn.openDirect('bob');
    await tick();
    hub.faults.duplicate = 1;
    const message = await say(alice.conn, id, 'twice');
    await alice.conn.setTyping({ conversationId: id, on: true });
    await alice.conn.setPresence({ show: 'away' });
    await alice.conn.markRead({ conversationId: id, seq: 1 });
    await bob.conn.markRead({ conversationId: id, seq: 1 });
    await tick();
    assert.deepEqual(bob.events.of('message').map((m) => m.id), [message.id, message.id]);
    assert.notEqual(bob.events.of('message')[0], bob.events.of('message')[1], 'distinct copies');
    assert.equal(bob.events.of('typing').length, 1);
    assert.deepEqual(bob.events.of('presence').map((p) => p.show), ['away', 'away']);
    assert.equal(alice.events.of('receipt').length, 4, 'delivered and read receipts, each twice');
  });

  it('reorders events: one may arrive after the next', async () => {
    const { hub, connect } = world();
    const bob = await connect('bob');
    const alice = await connect('alice');
    const { id } = await alice.conn.openDirect('bob');
    await tick();
    hub.faults.reorder = 1;
    hub.injectMessage(id, 'alice', 'first');
    hub.injectMessage(id, 'alice', 'second');
    await tick(10);
    assert.deepEqual(bob.events.of('message').map((m) => m.text), ['second', 'first']);
    hub.faults.reorder = 0;
    hub.injectMessage(id, 'alice', 'third');
    hub.injectMessage(id, 'alice', 'fourth');
    await tick();
    assert.deepEqual(bob.events.of('message').map((m) => m.text).slice(2), ['third', 'fourth']);
    hub.faults.reorder = 1;
    hub.injectMessage(id, 'alice', 'alone');
    await tick(10);
    assert.equal(bob.events.of('message').at(-1)?.text, 'alone', 'a held event is released when nothing follows');
  });

  it('rejects chosen messages and posts permanently until cleared', async () => {
    const { hub, connect } = world();
    const alice = await connect('alice');
    const bob = await connect('bob');
    const { id } = await alice.conn.openDirect('bob');
    const seen: string[] = [];
    hub.rejectMessages((input) => {
      seen.push(`${input.kind}:${input.senderId}:${input.conversationId ?? '-'}:${input.clientId}`);
      return input.text.includes('spam') ? 'forbidden' : undefined;
    });
    assert.equal(await codeOf(say(alice.conn, id, 'buy spam', 'm1')), 'forbidden');
    assert.equal(await codeOf(say(alice.conn, id, 'buy spam', 'm1')), 'forbidden', 'still rejected on retry');
    assert.equal(await codeOf(alice.conn.post({ clientId: 'p1', text: 'spam post', createdAt: 1 })), 'forbidden');
    const ok = await say(alice.conn, id, 'fine', 'm2');
    assert.equal(ok.seq, 1, 'rejections use no seq');
    assert.deepEqual(seen, [`message:alice:${id}:m1`, `message:alice:${id}:m1`, 'post:alice:-:p1', `message:alice:${id}:m2`]);
    hub.rejectMessages(undefined);
    assert.equal((await say(alice.conn, id, 'spam now allowed', 'm1')).seq, 2);
    await tick();
    assert.deepEqual(bob.events.of('message').map((m) => m.text), ['fine', 'spam now allowed']);
    assert.equal(alice.events.of('closed').length, 0, 'a rejection does not close the connection');
  });
});
