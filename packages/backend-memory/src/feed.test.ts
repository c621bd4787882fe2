import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BackendConnection } from '@perch/core';
import type { Post } from '@perch/protocol';
import { PerchError } from '@perch/core';
import { mentions } from '@perch/protocol';
import { MemoryHub } from './hub.js';
import { memoryBackend } from './memory-backend.js';
import { tick, world } from './harness.test.util.js';

let counter = 0;
function publish(conn: BackendConnection, text: string, replyTo?: string): Promise<Post> {
  const input = { clientId: `p${++counter}`, text, createdAt: counter };
  return conn.post(replyTo === undefined ? input : { ...input, replyTo });
}

const texts = (posts: Post[]) => posts.map((post) => post.text);

describe('feed', () => {
  it('fans new posts out to the author and followers only', async () => {
    const { hub, connect } = world();
    hub.follow('bob', 'alice');
    const alice = await connect('alice');
    const bob = await connect('bob');
    const carol = await connect('carol');
    const post = await publish(alice.conn, 'Hello world');
    assert.equal(post.state, 'sent');
    assert.equal(post.likes, 0);
    await tick();
    assert.deepEqual(texts(alice.events.of('post')), ['Hello world']);
    assert.deepEqual(texts(bob.events.of('post')), ['Hello world']);
    assert.equal(carol.events.of('post').length, 0);
  });

  it('answers a post retry with the original and fans out nothing', async () => {
    const { connect } = world();
    const alice = await connect('alice');
    const input = { clientId: 'same', text: 'once', createdAt: 1 };
    const first = await alice.conn.post(input);
    const again = await alice.conn.post(input);
    assert.deepEqual(again, first);
    await tick();
    assert.equal(alice.events.of('post').length, 1);
    assert.equal((await alice.conn.feed({ source: { kind: 'home' }, limit: 10 })).posts.length, 1);
  });

  it('refuses C1 controls and half surrogate pairs in post text, but not tabs or line breaks', async () => {
    const { connect } = world();
    const alice = await connect('alice');
    assert.equal((await publish(alice.conn, 'one\ttwo\r\nthree')).text, 'one\ttwo\r\nthree');
    for (const [text, pattern] of [['bad\u0080', /^Post contains the control character U\+0080; only tab and line breaks are allowed\.$/], ['bad\ud800', /^Post contains half of a surrogate pair/]] as const) {
      const error = await publish(alice.conn, text).catch((e: unknown) => e);
      assert.ok(error instanceof PerchError && error.code === 'bad_request', String(error));
      assert.match(error.message, pattern);
    }
  });

  it('pages home, user and mentions timelines newest first', async () => {
    const { hub, connect } = world();
    hub.follow('alice', 'bob');
    const alice = await connect('alice');
    const bob = await connect('bob');
    const carol = await connect('carol');
    await publish(alice.conn, 'a1');
    await publish(bob.conn, 'b1 hi @alice');
    await publish(carol.conn, 'c1 hey @Alice!');
    await publish(alice.conn, 'a2');
    await publish(carol.conn, 'c2 @alicex is not me');
    await publish(bob.conn, 'b2');
    const home1 = await alice.conn.feed({ source: { kind: 'home' }, limit: 3 });
    assert.deepEqual(texts(home1.posts), ['b2', 'a2', 'b1 hi @alice']);
    assert.equal(home1.complete, false);
    const home2 = await alice.conn.feed({ source: { kind: 'home' }, before: home1.posts.at(-1)?.id, limit: 3 });
    assert.deepEqual(texts(home2.posts), ['a1']);
    assert.equal(home2.complete, true);
    const user = await alice.conn.feed({ source: { kind: 'user', userId: 'carol' }, limit: 1 });
    assert.deepEqual(texts(user.posts), ['c2 @alicex is not me']);
    assert.equal(user.complete, false);
    const mentioned = await alice.conn.feed({ source: { kind: 'mentions' }, limit: 10 });
    assert.deepEqual(texts(mentioned.posts), ['c1 hey @Alice!', 'b1 hi @alice']);
    assert.equal(mentioned.complete, true);
    const missing = await alice.conn.feed({ source: { kind: 'user', userId: 'ghost' }, limit: 1 }).catch((e: unknown) => e);
    assert.ok(missing instanceof PerchError && missing.code === 'not_found');
    assert.equal(mentions('ping @Bob Smith.', 'Bob Smith'), true);
    assert.equal(mentions('ping @bobby', 'bob'), false);
  });

  it('toggles likes per user and fans the count out', async () => {
    const { hub, connect } = world();
    hub.follow('bob', 'alice');
    const alice = await connect('alice');
    const bob = await connect('bob');
    const carol = await connect('carol');
    const post = await publish(alice.conn, 'like me');
    const postId = post.id ?? '';
    const liked = await bob.conn.like({ postId, on: true });
    assert.equal(liked.likes, 1);
    assert.equal(liked.liked, true);
    assert.equal((await bob.conn.like({ postId, on: true })).likes, 1, 'liking twice counts once');
    const byCarol = await carol.conn.like({ postId, on: true });
    assert.equal(byCarol.likes, 2);
    const [seenByAlice] = (await alice.conn.feed({ source: { kind: 'home' }, limit: 1 })).posts;
    assert.equal(seenByAlice?.likes, 2);
    assert.equal(seenByAlice?.liked, false);
    assert.equal((await bob.conn.like({ postId, on: false })).likes, 1);
    await tick();
    assert.deepEqual(alice.events.of('post').map((p) => p.likes), [0, 1, 2, 1]);
    assert.deepEqual(bob.events.of('post').map((p) => [p.likes, p.liked]), [[0, false], [1, true], [2, true], [1, false]]);
    assert.deepEqual(carol.events.of('post').map((p) => p.likes), [2]);
    const missing = await bob.conn.like({ postId: 'nope', on: true }).catch((e: unknown) => e);
    assert.ok(missing instanceof PerchError && missing.code === 'not_found');
  });

  it('counts replies on the parent and fans the parent out', async () => {
    const { connect } = world();
    const alice = await connect('alice');
    const bob = await connect('bob');
    await bob.conn.follow({ userId: 'alice', on: true });
    const parent = await publish(alice.conn, 'question?');
    const reply = await publish(bob.conn, 'answer!', parent.id);
    assert.equal(reply.replyTo, parent.id);
    await publish(alice.conn, 'thanks', parent.id);
    const [, top] = (await alice.conn.feed({ source: { kind: 'user', userId: 'alice' }, limit: 5 })).posts;
    assert.equal(top?.text, 'question?');
    assert.equal(top?.replies, 2);
    await tick();
    assert.deepEqual(
      alice.events.of('post').filter((p) => p.id === parent.id).map((p) => p.replies),
      [0, 1, 2],
    );
    const orphan = await publish(bob.conn, 'x', 'missing').catch((e: unknown) => e);
    assert.ok(orphan instanceof PerchError && orphan.code === 'not_found');
    await bob.conn.follow({ userId: 'alice', on: false });
    assert.deepEqual(texts((await bob.conn.feed({ source: { kind: 'home' }, limit: 10 })).posts), ['answer!']);
  });

  it('names a reply’s parent author (replyToAuthorId) in the answer, a retry’s answer, live events and timelines', async () => {
    const { hub, connect } = world();
    hub.follow('carol', 'bob');
    const alice = await connect('alice');
    const bob = await connect('bob');
    const carol = await connect('carol');
    const parent = await publish(alice.conn, 'lunch?');
    const plain = await publish(bob.conn, 'at noon');
    const input = { clientId: 'bob-reply', text: 'me!', createdAt: 1, replyTo: parent.id! };
    const reply = await bob.conn.post(input);
    assert.equal(reply.replyToAuthorId, 'alice');
    assert.equal((await bob.conn.post(input)).replyToAuthorId, 'alice', 'a retry answers the same');
    await tick();
    assert.deepEqual(carol.events.of('post').map((p) => [p.text, p.replyToAuthorId]), [['at noon', undefined], ['me!', 'alice']], 'live events');
    const home = await carol.conn.feed({ source: { kind: 'home' }, limit: 10 });
    assert.deepEqual(home.posts.map((p) => [p.text, p.replyToAuthorId]), [['me!', 'alice'], ['at noon', undefined]], 'the home timeline');
    const user = await alice.conn.feed({ source: { kind: 'user', userId: 'bob' }, limit: 10 });
    assert.equal(user.posts.find((p) => p.id === reply.id)?.replyToAuthorId, 'alice', 'a user timeline');
    assert.ok(!('replyToAuthorId' in user.posts.find((p) => p.id === plain.id)!), 'not on a post that replies to none');
    const seeded = hub.publish('carol', 'seeded reply', parent.id);
    assert.equal(seeded.replyToAuthorId, 'alice', 'the seeding helper too');
  });
});

it('seeding helpers publish, like and open a chat without a connection', async () => {
  const hub = new MemoryHub();
  hub.addUser({ id: 'ann', name: 'Ann' });
  hub.addUser({ id: 'ben', name: 'Ben' });
  const post = hub.publish('ann', 'Seeded status');
  hub.like('ben', post.id!);
  const chat = hub.openDirect('ann', 'ben');
  assert.equal(hub.openDirect('ben', 'ann').id, chat.id, 'the same pair gets the same chat');
  const backend = memoryBackend({ hub });
  const listener = { message() {}, conversation() {}, post() {}, presence() {}, typing() {}, receipt() {}, contact() {}, closed() {} };
  const ben = await backend.connect({ token: hub.token('ben') }, listener);
  const page = await ben.feed({ source: { kind: 'user', userId: 'ann' }, limit: 10 });
  assert.equal(page.posts[0]!.text, 'Seeded status');
  assert.equal(page.posts[0]!.likes, 1);
  assert.equal(page.posts[0]!.liked, true);
  ben.close();
});
