import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Post } from '@perch/protocol';
import { inProcess, TestClient, token } from './harness.test.util.js';
import type { RunningServer } from './server.js';

let server: RunningServer;
const clients: TestClient[] = [];

async function as(userId: string, name?: string): Promise<TestClient> {
  const client = await TestClient.signIn(server.url, await token(userId, name));
  clients.push(client);
  return client;
}

const publish = (client: TestClient, text: string, extra: { clientId?: string; replyTo?: string } = {}) =>
  client.request('post', { clientId: extra.clientId ?? crypto.randomUUID(), text, createdAt: Date.now(), ...(extra.replyTo ? { replyTo: extra.replyTo } : {}) });

before(async () => {
  server = await inProcess({ connectionRate: { perSecond: 1000, burst: 1000 }, identityRate: { perSecond: 1000, burst: 1000 } });
  for (const [id, name] of [['alice', 'Alice'], ['bob', 'Bob'], ['bobby', 'Bobby'], ['carol', 'Carol']] as const) (await as(id, name)).close();
});

after(async () => {
  for (const client of clients) client.close();
  await server.close();
});

test('a post reaches the author and followers only; the home feed holds own and followed posts newest first; a retry answers the original', async () => {
  const alice = await as('alice');
  const bob = await as('bob');
  const carol = await as('carol');
  assert.equal(await bob.request('follow', { userId: 'alice', on: true }), null);
  const clientId = crypto.randomUUID();
  const first = await publish(alice, 'Shipping today', { clientId });
  assert.equal(first.authorId, 'alice');
  assert.equal(first.likes, 0);
  assert.equal(first.liked, false);
  assert.equal((await bob.event<Post>('post', (p) => p.id === first.id)).text, 'Shipping today');
  assert.ok(await alice.event<Post>('post', (p) => p.id === first.id), 'the author’s own connections get it too');
  assert.deepEqual(await carol.eventsAfter('post', 100), [], 'non-followers get nothing');

  const retry = await publish(alice, 'Shipping today (again)', { clientId });
  assert.deepEqual(retry, first, 'a retry with the same clientId answers the original post');
  assert.deepEqual(await bob.eventsAfter('post', 100), [], 'and fans out nothing');

  const own = await publish(bob, 'Bob here');
  const unfollowed = await publish(carol, 'Carol is not followed');
  const home = await bob.request('feed', { source: { kind: 'home' }, limit: 10 });
  assert.deepEqual(home.posts.map((p) => p.id), [own.id, first.id]);
  assert.equal(home.complete, true);
  assert.ok(!home.posts.some((p) => p.id === unfollowed.id));
  const user = await carol.request('feed', { source: { kind: 'user', userId: 'alice' }, limit: 10 });
  assert.deepEqual(user.posts.map((p) => p.id), [first.id]);

  await bob.request('follow', { userId: 'alice', on: false });
  const later = await publish(alice, 'After the unfollow');
  assert.ok(!(await bob.request('feed', { source: { kind: 'home' }, limit: 10 })).posts.some((p) => p.id === later.id));
  await assert.rejects(bob.request('follow', { userId: 'bob', on: true }), { code: 'bad_request' });
  await assert.rejects(bob.request('follow', { userId: 'nobody', on: true }), { code: 'not_found' });
  await assert.rejects(bob.request('feed', { source: { kind: 'user', userId: 'nobody' }, limit: 10 }), { code: 'not_found' });
});

test('the feed pages back with before = the oldest post held, and says when it is complete', async () => {
  const carol = await as('carol');
  const texts = Array.from({ length: 7 }, (_, i) => `page ${i + 1}`);
  for (const text of texts) await publish(carol, text);
  const source = { kind: 'user' as const, userId: 'carol' };
  const first = await carol.request('feed', { source, limit: 3 });
  assert.deepEqual(first.posts.map((p) => p.text), ['page 7', 'page 6', 'page 5']);
  assert.equal(first.complete, false);
  const second = await carol.request('feed', { source, limit: 3, before: first.posts.at(-1)?.id as string });
  assert.deepEqual(second.posts.map((p) => p.text), ['page 4', 'page 3', 'page 2']);
  const third = await carol.request('feed', { source, limit: 3, before: second.posts.at(-1)?.id as string });
  assert.deepEqual(third.posts.map((p) => p.text), ['page 1', 'Carol is not followed']);
  assert.equal(third.complete, true);
  await assert.rejects(carol.request('feed', { source, limit: 3, before: 'no-such-post' }), { code: 'not_found' });

  // Long posts: a page stops at 256 Ki characters of text; the next one starts before its last post.
  for (let i = 1; i <= 30; i++) await publish(carol, `long ${i} `.padEnd(10_000, '"'));
  const long = await carol.request('feed', { source, limit: 100 });
  assert.equal(long.posts.length, 26);
  assert.equal(long.posts[0]?.text.startsWith('long 30 '), true);
  assert.equal(long.complete, false);
  const rest = await carol.request('feed', { source, limit: 100, before: long.posts.at(-1)?.id as string });
  assert.deepEqual(rest.posts.slice(0, 5).map((p) => p.text.split(' ')[1]), ['4', '3', '2', '1', '7']);
  assert.equal(rest.complete, true);
});

test('likes toggle per user, with likes counted and liked per viewer, fanned out to the author, followers and the liker', async () => {
  const alice = await as('alice');
  const bob = await as('bob');
  const carol = await as('carol');
  await carol.request('follow', { userId: 'alice', on: true });
  const post = await publish(alice, 'Like me');
  await carol.event<Post>('post', (p) => p.id === post.id);
  await alice.event<Post>('post', (p) => p.id === post.id && p.likes === 0);

  const liked = await bob.request('like', { postId: post.id as string, on: true });
  assert.equal(liked.likes, 1);
  assert.equal(liked.liked, true);
  const seenByAuthor = await alice.event<Post>('post', (p) => p.id === post.id && p.likes === 1);
  assert.equal(seenByAuthor.liked, false, 'each viewer gets their own liked');
  assert.equal((await carol.event<Post>('post', (p) => p.id === post.id && p.likes === 1)).liked, false);
  assert.equal((await bob.event<Post>('post', (p) => p.id === post.id)).liked, true, 'the liker hears it too');

  const again = await bob.request('like', { postId: post.id as string, on: true });
  assert.equal(again.likes, 1, 'liking twice counts once');
  assert.deepEqual(await alice.eventsAfter('post', 100), [], 'an unchanged like fans out nothing');
  await carol.request('like', { postId: post.id as string, on: true });
  const unliked = await bob.request('like', { postId: post.id as string, on: false });
  assert.equal(unliked.likes, 1);
  assert.equal(unliked.liked, false);
  const [inFeed] = (await carol.request('feed', { source: { kind: 'user', userId: 'alice' }, limit: 1 })).posts;
  assert.equal(inFeed?.liked, true);
  assert.equal(inFeed?.likes, 1);
  await assert.rejects(bob.request('like', { postId: 'missing', on: true }), { code: 'not_found' });
});

test('a reply counts on its parent, which is fanned out again; mentions find @id and @name but not a longer handle', async () => {
  const alice = await as('alice');
  const bob = await as('bob');
  const parent = await publish(alice, 'Question for the team');
  const reply = await publish(bob, 'Answer: yes @alice', { replyTo: parent.id as string });
  assert.equal(reply.replyTo, parent.id);
  const counted = await alice.event<Post>('post', (p) => p.id === parent.id && p.replies === 1);
  assert.equal(counted.text, 'Question for the team');
  await assert.rejects(publish(bob, 'to nowhere', { replyTo: 'missing' }), { code: 'not_found' });

  await publish(alice, 'ping @Bob, are you there?');
  await publish(alice, 'hello @bobby, not Bob');
  const mentions = await bob.request('feed', { source: { kind: 'mentions' }, limit: 10 });
  assert.deepEqual(mentions.posts.map((p) => p.text), ['ping @Bob, are you there?']);
  const aliceMentions = await alice.request('feed', { source: { kind: 'mentions' }, limit: 10 });
  assert.deepEqual(aliceMentions.posts.map((p) => p.id), [reply.id]);
});

test('a reply names its parent’s author (replyToAuthorId) in the answer, a retry’s answer, the live event, the home and user timelines', async () => {
  const alice = await as('alice');
  const carol = await as('carol');
  await carol.request('follow', { userId: 'bob', on: true });
  const bob = await as('bob');
  const parent = await publish(alice, 'Who is in for lunch?');
  const plain = await publish(bob, 'Lunch at noon');
  const clientId = crypto.randomUUID();
  const reply = await publish(bob, 'Me!', { clientId, replyTo: parent.id as string });
  assert.equal(reply.replyToAuthorId, 'alice');
  assert.equal((await publish(bob, 'Me!', { clientId, replyTo: parent.id as string })).replyToAuthorId, 'alice', 'a retry answers the same');
  assert.equal((await carol.event<Post>('post', (p) => p.id === reply.id)).replyToAuthorId, 'alice', 'the live event');
  const home = await carol.request('feed', { source: { kind: 'home' }, limit: 10 });
  assert.equal(home.posts.find((p) => p.id === reply.id)?.replyToAuthorId, 'alice', 'the home timeline');
  const user = await alice.request('feed', { source: { kind: 'user', userId: 'bob' }, limit: 10 });
  assert.equal(user.posts.find((p) => p.id === reply.id)?.replyToAuthorId, 'alice', 'a user timeline');
  assert.ok(!('replyToAuthorId' in (user.posts.find((p) => p.id === plain.id) as Post)), 'not on a post that replies to none');
  await carol.request('follow', { userId: 'bob', on: false });
});
