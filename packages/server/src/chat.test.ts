import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Conversation, Message } from '@perch/protocol';
import { inProcess, RequestFailed, sleep, TestClient, token } from './harness.test.util.js';
import type { RunningServer } from './server.js';

let server: RunningServer;
const clients: TestClient[] = [];

async function as(userId: string): Promise<TestClient> {
  const client = await TestClient.signIn(server.url, await token(userId));
  clients.push(client);
  return client;
}

const send = (client: TestClient, conversationId: string, text: string, clientId = crypto.randomUUID()) =>
  client.request('sendMessage', { conversationId, clientId, text, createdAt: Date.now() });

before(async () => {
  server = await inProcess({ connectionRate: { perSecond: 1000, burst: 1000 }, identityRate: { perSecond: 1000, burst: 1000 } });
  // Sign everyone in once so that they exist.
  for (const id of ['alice', 'bob', 'carol', 'dave']) (await as(id)).close();
});

after(async () => {
  for (const client of clients) client.close();
  await server.close();
});

test('a message gets the next seq, is echoed to every member connection but the one that sent it, and a retry answers the original', async () => {
  const alice1 = await as('alice');
  const alice2 = await as('alice');
  const bob = await as('bob');
  const direct = await alice1.request('openDirect', { userId: 'bob' });
  assert.equal(direct.kind, 'direct');
  assert.deepEqual(direct.members, ['alice', 'bob']);
  assert.equal(direct.title, 'Bob', 'a direct conversation is titled by the other person');
  const announced = await bob.event<Conversation>('conversation', (c) => c.id === direct.id);
  assert.equal(announced.title, 'Alice');
  assert.equal((await bob.request('openDirect', { userId: 'alice' })).id, direct.id, 'the same pair gets the same conversation');

  const clientId = crypto.randomUUID();
  const first = await send(alice1, direct.id, 'Hi Bob', clientId);
  assert.equal(first.seq, 1);
  assert.equal(first.state, 'sent');
  assert.equal(first.senderId, 'alice');
  assert.ok(typeof first.id === 'string' && first.id.length >= 32, 'ids are random UUIDs');
  for (const client of [alice2, bob]) {
    const echo = await client.event<Message>('message', (m) => m.clientId === clientId);
    assert.equal(echo.id, first.id);
  }
  assert.deepEqual(await alice1.eventsAfter('message', 150), [], 'the sending connection has it in its answer, not again as an event');

  const retry = await send(alice2, direct.id, 'Hi Bob (retried)', clientId);
  assert.deepEqual(retry, first, 'a retry with the same clientId answers the original message');
  assert.deepEqual(await bob.eventsAfter('message', 150), [], 'a retry fans out nothing');

  const second = await send(bob, direct.id, 'Hello Alice');
  assert.equal(second.seq, 2);
  const [mine] = (await alice1.request('conversations', {})).filter((c) => c.id === direct.id);
  assert.equal(mine?.lastSeq, 2);
  assert.equal(mine?.readSeq, 1, 'sending moved the sender’s own read marker to the message');
  assert.equal(mine?.readBy?.bob, 2);
});

test('history pages back with before and catches up with after, ascending, with complete', async () => {
  const alice = await as('alice');
  const group = await alice.request('createGroup', { title: 'Paging', members: ['bob'] });
  for (let i = 1; i <= 25; i++) await send(alice, group.id, `m${i}`);
  const seqs = (messages: Message[]) => messages.map((m) => m.seq);
  const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

  let page = await alice.request('history', { conversationId: group.id, limit: 10 });
  assert.deepEqual(seqs(page.messages), range(16, 25));
  assert.equal(page.complete, false);
  page = await alice.request('history', { conversationId: group.id, before: 16, limit: 10 });
  assert.deepEqual(seqs(page.messages), range(6, 15));
  assert.equal(page.complete, false);
  page = await alice.request('history', { conversationId: group.id, before: 6, limit: 10 });
  assert.deepEqual(seqs(page.messages), range(1, 5));
  assert.equal(page.complete, true);
  page = await alice.request('history', { conversationId: group.id, after: 0, limit: 10 });
  assert.deepEqual(seqs(page.messages), range(1, 10));
  assert.equal(page.complete, false);
  page = await alice.request('history', { conversationId: group.id, after: 20, limit: 10 });
  assert.deepEqual(seqs(page.messages), range(21, 25));
  assert.equal(page.complete, true);
  assert.equal(page.messages[0]?.text, 'm21');
  page = await alice.request('history', { conversationId: group.id, after: 25, limit: 10 });
  assert.deepEqual(page, { messages: [], complete: true });

  // Long messages: a page stops at 256 Ki characters of text, and paging goes on from where it ends.
  for (let i = 26; i <= 85; i++) await send(alice, group.id, `${i} `.padEnd(10_000, '"'));
  page = await alice.request('history', { conversationId: group.id, after: 25, limit: 200 });
  assert.deepEqual(seqs(page.messages), range(26, 51), '26 messages of 10,000 characters fit');
  assert.equal(page.complete, false);
  page = await alice.request('history', { conversationId: group.id, after: 51, limit: 200 });
  assert.deepEqual(seqs(page.messages), range(52, 77));
  page = await alice.request('history', { conversationId: group.id, limit: 200 });
  assert.deepEqual(seqs(page.messages), range(60, 85), 'paging back keeps the newest');
  assert.equal(page.complete, false);
  page = await alice.request('history', { conversationId: group.id, before: 60, limit: 200 });
  assert.deepEqual(seqs(page.messages), range(34, 59));
});

test('only members read or write a conversation; unknown ids are not_found', async () => {
  const alice = await as('alice');
  const carol = await as('carol');
  const direct = await alice.request('openDirect', { userId: 'bob' });
  const refused = async (promise: Promise<unknown>, code: string) => {
    await assert.rejects(promise, (error: RequestFailed) => error.code === code && error.message.length > 10);
  };
  await refused(carol.request('history', { conversationId: direct.id, limit: 10 }), 'forbidden');
  await refused(send(carol, direct.id, 'let me in'), 'forbidden');
  await refused(carol.request('markRead', { conversationId: direct.id, seq: 1 }), 'forbidden');
  await refused(carol.request('setTyping', { conversationId: direct.id, on: true }), 'forbidden');
  await refused(send(carol, 'no-such-conversation', 'hello?'), 'not_found');
  await refused(carol.request('openDirect', { userId: 'nobody' }), 'not_found');
  await refused(carol.request('openDirect', { userId: 'carol' }), 'bad_request');
  await refused(carol.request('createGroup', { title: 'Ghosts', members: ['nobody'] }), 'not_found');
  assert.ok(!(await carol.request('conversations', {})).some((c) => c.id === direct.id), 'non-members do not see it listed');
});

test('only the author edits or deletes, and edits and deletes fan out as message events', async () => {
  const alice = await as('alice');
  const bob = await as('bob');
  const direct = await alice.request('openDirect', { userId: 'bob' });
  const original = await send(alice, direct.id, 'Helo');
  const args = { conversationId: direct.id, id: original.id as string };
  await assert.rejects(bob.request('editMessage', { ...args, text: 'hacked' }), { code: 'forbidden' });
  await assert.rejects(bob.request('deleteMessage', args), { code: 'forbidden' });
  await assert.rejects(alice.request('editMessage', { ...args, id: 'missing', text: 'x' }), { code: 'not_found' });

  const edited = await alice.request('editMessage', { ...args, text: 'Hello' });
  assert.equal(edited.text, 'Hello');
  assert.equal(edited.seq, original.seq, 'an edit keeps the seq');
  assert.ok((edited.editedAt ?? 0) >= (original.sentAt ?? 0));
  assert.equal((await bob.event<Message>('message', (m) => m.id === original.id && m.text === 'Hello')).editedAt, edited.editedAt);

  const deleted = await alice.request('deleteMessage', args);
  assert.equal(deleted.deleted, true);
  assert.equal(deleted.text, '');
  assert.ok(await bob.event<Message>('message', (m) => m.id === original.id && m.deleted === true));
  await assert.rejects(alice.request('editMessage', { ...args, text: 'back' }), { code: 'bad_request' });
  const history = await bob.request('history', { conversationId: direct.id, limit: 200 });
  assert.deepEqual(history.messages.find((m) => m.id === original.id), deleted, 'history holds the deletion');
});

test('markers only move forward; reading also delivers; receipts go to the other members and the conversation to the reader’s other tabs', async () => {
  const alice = await as('alice');
  const bob1 = await as('bob');
  const bob2 = await as('bob');
  const group = await alice.request('createGroup', { title: 'Markers', members: ['bob'] });
  for (let i = 1; i <= 3; i++) await send(alice, group.id, `m${i}`);
  await bob1.request('markDelivered', { conversationId: group.id, seq: 2 });
  assert.deepEqual(await alice.event('receipt', (r) => r.conversationId === group.id), { conversationId: group.id, userId: 'bob', kind: 'delivered', seq: 2 });

  await bob1.request('markRead', { conversationId: group.id, seq: 3 });
  const receipts = [await alice.event('receipt'), await alice.event('receipt')];
  assert.deepEqual(receipts.map((r) => [r.kind, r.seq]), [['delivered', 3], ['read', 3]]);
  const tab = await bob2.event<Conversation>('conversation', (c) => c.id === group.id && c.readSeq > 0);
  assert.equal(tab.readSeq, 3, 'the reader’s other connection learns the new marker');
  assert.equal(tab.readBy?.bob, 3);
  const told = (await bob1.eventsAfter('conversation', 100)).filter((c) => c.id === group.id && c.readSeq !== 0);
  assert.deepEqual(told, [], 'the connection that read is not told');
  assert.deepEqual(await bob1.eventsAfter('receipt', 0), [], 'the reader gets no receipt of its own');

  await bob1.request('markRead', { conversationId: group.id, seq: 1 });
  await bob1.request('markRead', { conversationId: group.id, seq: 99 });
  assert.deepEqual(await alice.eventsAfter('receipt', 150), [], 'going back, or past lastSeq once clamped, moves nothing');
  const [seen] = (await alice.request('conversations', {})).filter((c) => c.id === group.id);
  assert.equal(seen?.readBy?.bob, 3);
  assert.equal(seen?.deliveredTo?.bob, 3);
  assert.equal(seen?.readSeq, 3);
});

test('typing goes to the other members only, at most one "on" per second', async () => {
  const alice = await as('alice');
  const bob = await as('bob');
  const group = await alice.request('createGroup', { title: 'Typing', members: ['bob', 'carol'] });
  assert.equal(await bob.request('setTyping', { conversationId: group.id, on: true }), null);
  assert.deepEqual(await alice.event('typing'), { conversationId: group.id, userId: 'bob', on: true });
  assert.equal(await bob.request('setTyping', { conversationId: group.id, on: true }), null, 'an extra "on" is acked');
  assert.deepEqual(await alice.eventsAfter('typing', 100), [], '…but dropped');
  await bob.request('setTyping', { conversationId: group.id, on: false });
  assert.deepEqual(await alice.event('typing'), { conversationId: group.id, userId: 'bob', on: false });
  assert.deepEqual(await bob.eventsAfter('typing', 50), [], 'the typist is not told about itself');
});

test('a group is announced to every member with its title, and messages reach all of them', async () => {
  const alice = await as('alice');
  const bob = await as('bob');
  const carol = await as('carol');
  const group = await alice.request('createGroup', { title: '  Launch crew ', members: ['bob', 'carol', 'bob'] });
  assert.equal(group.title, 'Launch crew');
  assert.deepEqual(group.members, ['alice', 'bob', 'carol'], 'the creator first, duplicates dropped');
  for (const client of [bob, carol]) assert.equal((await client.event<Conversation>('conversation', (c) => c.id === group.id)).title, 'Launch crew');
  const message = await send(carol, group.id, 'Hi all');
  for (const client of [alice, bob]) assert.equal((await client.event<Message>('message', (m) => m.id === message.id)).text, 'Hi all');
  await sleep(0);
});

test('createGroup with a clientId is idempotent per creator: a retry answers the original group and announces nothing; another user\'s same clientId is another group', async () => {
  const alice1 = await as('alice');
  const alice2 = await as('alice');
  const bob = await as('bob');
  const clientId = crypto.randomUUID();
  const first = await alice1.request('createGroup', { title: 'Offsite', members: ['bob', 'carol'], clientId });
  assert.equal((await bob.event<Conversation>('conversation', (c) => c.id === first.id)).title, 'Offsite');
  // The answer was lost with its connection, or another tab asks again: same clientId, another connection.
  const retry = await alice2.request('createGroup', { title: 'Offsite', members: ['bob', 'carol'], clientId });
  assert.deepEqual(retry, first, 'the retry answers the original group: same id, title and members');
  assert.deepEqual(await bob.eventsAfter('conversation', 150), [], 'a retry announces nothing');
  const offsites = (await alice1.request('conversations', {})).filter((c) => c.title === 'Offsite');
  assert.deepEqual(offsites.map((c) => c.id), [first.id], 'one group exists');

  const bobs = await bob.request('createGroup', { title: 'Offsite', members: ['alice'], clientId });
  assert.notEqual(bobs.id, first.id, 'the same clientId from another user is another group');
  assert.deepEqual(bobs.members, ['bob', 'alice']);

  // Old clients send no clientId: every call makes a group, as before.
  const [a, b] = [await alice1.request('createGroup', { title: 'No key', members: ['bob'] }), await alice1.request('createGroup', { title: 'No key', members: ['bob'] })];
  assert.notEqual(a.id, b.id);
});

test('createGroup refuses a clientId that is no id with bad_request, and makes no group', async () => {
  const alice = await as('alice');
  const bob = await as('bob');
  for (const clientId of ['', 'two words', 'k'.repeat(129)]) {
    await assert.rejects(
      alice.request('createGroup', { title: 'Bad key', members: ['bob'], clientId }),
      (error: RequestFailed) => error.code === 'bad_request' && /"clientId" must be an id of 1–128 letters/.test(error.message),
    );
  }
  const wrongType = await alice.call('createGroup', { title: 'Bad key', members: ['bob'], clientId: 42 });
  assert.deepEqual([wrongType.type, wrongType.code], ['error', 'bad_request']);
  assert.deepEqual(await bob.eventsAfter('conversation', 100), [], 'no group was made');
});

test('a group\'s clientId outlives a server restart: the retry after it answers the original group', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'perch-group-'));
  try {
    const file = join(dir, 'perch.db');
    const clientId = crypto.randomUUID();
    let restarted = await inProcess({ db: file });
    let alice = await TestClient.signIn(restarted.url, await token('alice'));
    (await TestClient.signIn(restarted.url, await token('bob'))).close(); // bob exists
    const first = await alice.request('createGroup', { title: 'Survivors', members: ['bob'], clientId });
    alice.close();
    await restarted.close();

    restarted = await inProcess({ db: file });
    try {
      alice = await TestClient.signIn(restarted.url, await token('alice'));
      const retry = await alice.request('createGroup', { title: 'Survivors', members: ['bob'], clientId });
      assert.deepEqual(retry, first, 'the same group after the restart');
      assert.equal((await alice.request('conversations', {})).length, 1, 'and no second one');
      alice.close();
    } finally {
      await restarted.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('sends from one connection are pipelined yet numbered and answered in order, and a later history request sees them all', async () => {
  const carol = await as('carol');
  const dave = await as('dave');
  const direct = await carol.request('openDirect', { userId: 'dave' });
  const answered: string[] = [];
  const sends = Array.from({ length: 30 }, (_, i) =>
    send(carol, direct.id, `m${i}`).then((message) => {
      answered.push(message.text);
      return message;
    }),
  );
  const history = carol.request('history', { conversationId: direct.id, limit: 50 }).then((page) => {
    answered.push('history');
    return page;
  });
  const messages = await Promise.all(sends);
  assert.deepEqual(answered.slice(0, 30), messages.map((_, i) => `m${i}`), 'answers leave in request order');
  assert.deepEqual(messages.map((m) => m.seq), messages.map((_, i) => i + 1), 'seqs follow the order of the requests');
  assert.deepEqual((await history).messages.map((m) => m.text), messages.map((m) => m.text), 'history after the sends sees every one');
  const seen: Array<number | undefined> = [];
  for (let i = 0; i < 30; i++) seen.push((await dave.event<Message>('message', (m) => m.conversationId === direct.id)).seq);
  assert.deepEqual(seen, messages.map((m) => m.seq), 'the partner gets them in seq order');
});

test('control characters: a group title or text holding one is refused with bad_request naming it; tab and line breaks pass in texts; everyone goes on being served', async () => {
  const alice = await as('alice');
  const bob = await as('bob');
  const refused = (promise: Promise<unknown>, message: RegExp) =>
    assert.rejects(promise, (error: RequestFailed) => error.code === 'bad_request' && message.test(error.message));

  await refused(alice.request('createGroup', { title: 'Launch\u0007crew', members: ['bob'] }), /: "title" contains the control character U\+0007; it must be one line/);
  await refused(alice.request('createGroup', { title: 'Launch\u009bcrew', members: ['bob'] }), /: "title" contains the control character U\+009B/);
  await refused(alice.request('createGroup', { title: 'Launch\ncrew', members: ['bob'] }), /: "title" contains the control character U\+000A/);
  await refused(alice.request('createGroup', { title: 'Launch \ud83d', members: ['bob'] }), /: "title" contains half of a surrogate pair \(U\+D83D\)/);
  assert.deepEqual(await bob.eventsAfter('conversation', 100), [], 'no group was made');
  const group = await alice.request('createGroup', { title: 'Launch crew 🚀\n', members: ['bob'] });
  assert.equal(group.title, 'Launch crew 🚀', 'a line break at the end is trimmed away with the spaces');

  const multiLine = 'Line one\n\tindented\r\nand \u200fمرحبا\u200e, 😀';
  const sent = await send(alice, group.id, multiLine);
  assert.equal(sent.text, multiLine, 'tab, line breaks and bidi marks are kept as sent');
  assert.equal((await bob.event<Message>('message', (m) => m.id === sent.id)).text, multiLine);
  await refused(send(alice, group.id, 'nul\u0000'), /: Message contains control characters/);
  await refused(send(alice, group.id, 'bell\u0007'), /: Message contains control characters/);
  await refused(send(alice, group.id, '\u009b31mred'), /: Message contains the control character U\+009B; only tab and line breaks are allowed/);
  await refused(send(alice, group.id, 'cut in half \ud83d'), /: Message contains half of a surrogate pair \(U\+D83D\).*well-formed/);
  await refused(send(alice, group.id, 'stray \ude00 low half'), /U\+DE00/);
  await refused(alice.request('editMessage', { conversationId: group.id, id: sent.id as string, text: 'next\u0085line' }), /: Message contains the control character U\+0085/);
  await refused(alice.request('post', { clientId: crypto.randomUUID(), text: 'esc\u001b[2J', createdAt: Date.now() }), /: Post contains control characters/);
  await refused(alice.request('post', { clientId: crypto.randomUUID(), text: 'c1\u0090', createdAt: Date.now() }), /: Post contains the control character U\+0090/);

  const page = await bob.request('history', { conversationId: group.id, limit: 10 });
  assert.deepEqual(page.messages.map((m) => m.text), [multiLine], 'nothing refused was stored, and the edit did not happen');
  const reply = await send(bob, group.id, 'Still here');
  assert.equal((await alice.event<Message>('message', (m) => m.id === reply.id)).text, 'Still here', 'the refusals closed nothing');
  assert.equal((await send(alice, group.id, 'Me too')).seq, 3);
});
