import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PerchError } from '@perch/core';
import { recorder, say, tick, world } from './harness.test.util.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Asserts that `promise` rejects with a PerchError of `code`. */
async function rejectsWith(promise: Promise<unknown>, code: string): Promise<PerchError> {
  let caught: unknown;
  await promise.then(
    () => assert.fail(`expected a ${code} rejection`),
    (error: unknown) => {
      caught = error;
    },
  );
  assert.ok(caught instanceof PerchError, `expected a PerchError, got ${String(caught)}`);
  assert.equal(caught.code, code);
  return caught;
}

describe('authentication', () => {
  it('accepts hub tokens and rejects unknown or revoked ones', async () => {
    const { hub, backend, connect } = world();
    const { conn } = await connect('alice');
    assert.equal(backend.name, 'memory');
    assert.ok(Object.values(backend.capabilities).every((value) => value === true));
    assert.deepEqual(conn.session.user, { id: 'alice', name: 'Alice', title: 'Engineer' });
    await rejectsWith(backend.connect({ token: 'nope' }, recorder()), 'unauthorized');
    const token = hub.token('bob');
    assert.equal(hub.token('bob'), token);
    hub.revokeToken('bob');
    await rejectsWith(backend.connect({ token }, recorder()), 'unauthorized');
  });

  it('creates visitors and resumes them by visitor token', async () => {
    const { backend, connect } = world();
    const first = await backend.connect({ visitor: { name: 'Dana', email: 'd@example.com' } }, recorder());
    assert.equal(first.session.user.visitor, true);
    assert.equal(first.session.user.name, 'Dana');
    const visitorToken = first.session.visitorToken;
    assert.ok(visitorToken);
    const again = await backend.connect({ visitor: { token: visitorToken } }, recorder());
    assert.equal(again.session.user.id, first.session.user.id);
    const other = await backend.connect({ visitor: {} }, recorder());
    assert.notEqual(other.session.user.id, first.session.user.id);
    // An unknown token is refused, as perch-server refuses it: no new visit starts behind the caller's back.
    await rejectsWith(backend.connect({ visitor: { token: 'visitor-unknown', name: 'Dana' } }, recorder()), 'unauthorized');
    const { conn } = await connect('alice');
    const directory = await conn.directory();
    assert.deepEqual(directory.map((user) => user.id), ['alice', 'bob', 'carol']);
  });

  it('cleans a visitor’s name and email as the server does', async () => {
    const { backend } = world();
    const dana = await backend.connect({ visitor: { name: ' Dana\n\u0085Smith\t', email: 'd@example.com\r\n' } }, recorder());
    assert.equal(dana.session.user.name, 'Dana Smith');
    assert.equal(dana.session.user.email, 'd@example.com');
    // Cut to 100 code units, never inside a surrogate pair.
    const long = await backend.connect({ visitor: { name: `${'a'.repeat(99)}😀tail` } }, recorder());
    assert.equal(long.session.user.name, 'a'.repeat(99));
    const blank = await backend.connect({ visitor: { name: '\u0000\n', email: '\t' } }, recorder());
    assert.equal(blank.session.user.name, 'Visitor');
    assert.equal(blank.session.user.email, undefined);
    const half = await backend.connect({ visitor: { name: 'Dana\ud83d' } }, recorder());
    assert.equal(half.session.user.name, 'Dana\ufffd');
  });
});

describe('conversations and messages', () => {
  it('opens the same direct conversation for a pair, with random ids', async () => {
    const { connect } = world();
    const alice = await connect('alice');
    const bob = await connect('bob');
    const a = await alice.conn.openDirect('bob');
    const b = await bob.conn.openDirect('alice');
    assert.equal(a.id, b.id);
    assert.match(a.id, UUID);
    assert.equal(a.title, 'Bob');
    assert.equal(b.title, 'Alice');
    const group = await alice.conn.createGroup({ title: 'Team', members: ['bob', 'carol'] });
    assert.notEqual(group.id, a.id);
    assert.deepEqual([...group.members].sort(), ['alice', 'bob', 'carol']);
    await rejectsWith(alice.conn.openDirect('nobody'), 'not_found');
    await rejectsWith(alice.conn.createGroup({ title: 'X', members: ['ghost'] }), 'not_found');
    await tick();
    assert.deepEqual(bob.events.of('conversation').map((c) => c.id), [a.id, group.id]);
  });

  it('assigns seq from 1 without holes and echoes to every member connection, sender included', async () => {
    const { connect } = world();
    const alice = await connect('alice');
    const alice2 = await connect('alice');
    const bob = await connect('bob');
    const { id } = await alice.conn.openDirect('bob');
    const seqs: number[] = [];
    for (let i = 0; i < 5; i++) {
      const sender = i % 2 === 0 ? alice.conn : bob.conn;
      seqs.push((await say(sender, id, `hello ${i}`)).seq ?? -1);
    }
    await tick();
    assert.deepEqual(seqs, [1, 2, 3, 4, 5]);
    for (const client of [alice, alice2, bob]) {
      assert.deepEqual(client.events.of('message').map((m) => m.seq), [1, 2, 3, 4, 5]);
    }
    const first = alice.events.of('message')[0];
    assert.equal(first?.state, 'sent');
    assert.equal(first?.senderId, 'alice');
    assert.equal(typeof first?.sentAt, 'number');
  });

  it('answers a retry with the original message and fans out nothing', async () => {
    const { hub, connect } = world();
    const alice = await connect('alice');
    const bob = await connect('bob');
    const { id } = await alice.conn.openDirect('bob');
    const input = { conversationId: id, clientId: 'client-1', text: 'once', createdAt: 5 };
    const first = await alice.conn.sendMessage(input);
    const retry = await alice.conn.sendMessage(input);
    assert.deepEqual(retry, first);
    // The same clientId from another sender is a different message.
    const bobs = await bob.conn.sendMessage(input);
    assert.notEqual(bobs.id, first.id);
    await tick();
    assert.equal(hub.messages(id).length, 2);
    assert.deepEqual(bob.events.of('message').map((m) => m.seq), [1, 2]);
    assert.deepEqual(alice.events.of('message').map((m) => m.seq), [1, 2]);
  });

  it('refuses group titles the server refuses, in its words', async () => {
    const { connect } = world();
    const alice = await connect('alice');
    const titled = await alice.conn.createGroup({ title: '  Team\n', members: ['bob'] });
    assert.equal(titled.title, 'Team');
    assert.equal((await alice.conn.createGroup({ title: 'x'.repeat(100), members: [] })).title, 'x'.repeat(100));
    let error = await rejectsWith(alice.conn.createGroup({ title: 'x'.repeat(101), members: [] }), 'bad_request');
    assert.equal(error.message, '"title" must be 1–100 characters.');
    error = await rejectsWith(alice.conn.createGroup({ title: 'Te\tam', members: [] }), 'bad_request');
    assert.match(error.message, /^"title" contains the control character U\+0009; it must be one line/);
    error = await rejectsWith(alice.conn.createGroup({ title: 'Team\u0085', members: [] }), 'bad_request');
    assert.match(error.message, /U\+0085/);
    error = await rejectsWith(alice.conn.createGroup({ title: 'Team\udc00', members: [] }), 'bad_request');
    assert.match(error.message, /half of a surrogate pair \(U\+DC00\)/);
  });

  it('makes a group once per (creator, clientId): a retry answers the original and announces nothing', async () => {
    const { connect } = world();
    const alice = await connect('alice');
    const alice2 = await connect('alice');
    const bob = await connect('bob');
    const first = await alice.conn.createGroup({ title: 'Offsite', members: ['bob'], clientId: 'g-1' });
    const retry = await alice2.conn.createGroup({ title: 'Offsite', members: ['bob'], clientId: 'g-1' });
    assert.deepEqual(retry, first, 'same id, title and members');
    const bobs = await bob.conn.createGroup({ title: 'Offsite', members: ['alice'], clientId: 'g-1' });
    assert.notEqual(bobs.id, first.id, "another user's clientId is theirs");
    const keyless = [await alice.conn.createGroup({ title: 'No key', members: [] }), await alice.conn.createGroup({ title: 'No key', members: [] })];
    assert.notEqual(keyless[0]!.id, keyless[1]!.id, 'without a clientId every call makes a group');
    await tick();
    assert.deepEqual(bob.events.of('conversation').map((c) => c.id), [first.id, bobs.id], 'the retry announced nothing');
    assert.deepEqual((await alice.conn.conversations()).filter((c) => c.title === 'Offsite').map((c) => c.id).sort(), [first.id, bobs.id].sort());
    for (const clientId of ['', 'two words', 'k'.repeat(129), 42 as unknown as string]) {
      const error = await rejectsWith(alice.conn.createGroup({ title: 'Bad key', members: [], clientId }), 'bad_request');
      assert.equal(error.message, '"clientId" must be an id of 1–128 letters, digits or _ . : @ -.');
    }
  });

  it('validates text, moves the sender read marker and reports conversations', async () => {
    const { hub, connect } = world({ now: () => 1_000 });
    const alice = await connect('alice');
    const bob = await connect('bob');
    const { id } = await alice.conn.openDirect('bob');
    const error = await rejectsWith(say(alice.conn, id, '   '), 'bad_request');
    assert.match(error.message, /empty/);
    await say(alice.conn, id, 'one');
    await say(alice.conn, id, 'two');
    const [mine] = await alice.conn.conversations();
    assert.equal(mine?.lastSeq, 2);
    assert.equal(mine?.readSeq, 2);
    assert.deepEqual(mine?.readBy, { alice: 2, bob: 0 });
    assert.deepEqual(mine?.deliveredTo, { alice: 2, bob: 0 });
    assert.equal(mine?.lastActivity, 1_000);
    const [theirs] = await bob.conn.conversations();
    assert.equal(theirs?.readSeq, 0);
    assert.deepEqual(hub.conversationsOf('bob'), [theirs]);
  });

  it('refuses C1 controls and half surrogate pairs in sent and edited text, but not tabs or line breaks', async () => {
    const { connect } = world();
    const alice = await connect('alice');
    const { id } = await alice.conn.openDirect('bob');
    const sent = await say(alice.conn, id, 'a\tb\r\nc');
    assert.equal(sent.text, 'a\tb\r\nc');
    const edit = (text: string) => alice.conn.editMessage({ conversationId: id, id: sent.id ?? '', text });
    let error = await rejectsWith(say(alice.conn, id, 'bad\u0085'), 'bad_request');
    assert.equal(error.message, 'Message contains the control character U+0085; only tab and line breaks are allowed.');
    error = await rejectsWith(say(alice.conn, id, 'bad\ud83d'), 'bad_request');
    assert.match(error.message, /^Message contains half of a surrogate pair \(U\+D83D\)/);
    error = await rejectsWith(edit('x\u009b'), 'bad_request');
    assert.match(error.message, /U\+009B/);
    await rejectsWith(edit('\udfff'), 'bad_request');
    assert.equal((await edit('ok 😀\n')).text, 'ok 😀\n');
  });

  it('pages history backwards and forwards, and expires cursors below the floor', async () => {
    const { hub, connect } = world();
    const alice = await connect('alice');
    const { id } = await alice.conn.openDirect('bob');
    for (let i = 1; i <= 10; i++) hub.injectMessage(id, i % 2 ? 'alice' : 'bob', `m${i}`);
    const seqs = (page: { messages: { seq?: number }[] }) => page.messages.map((m) => m.seq);
    const newest = await alice.conn.history({ conversationId: id, limit: 4 });
    assert.deepEqual(seqs(newest), [7, 8, 9, 10]);
    assert.equal(newest.complete, false);
    const older = await alice.conn.history({ conversationId: id, before: 7, limit: 4 });
    assert.deepEqual(seqs(older), [3, 4, 5, 6]);
    const oldest = await alice.conn.history({ conversationId: id, before: 3, limit: 4 });
    assert.deepEqual(seqs(oldest), [1, 2]);
    assert.equal(oldest.complete, true);
    const after = await alice.conn.history({ conversationId: id, after: 2, limit: 3 });
    assert.deepEqual(seqs(after), [3, 4, 5]);
    assert.equal(after.complete, false);
    const rest = await alice.conn.history({ conversationId: id, after: 5, limit: 50 });
    assert.deepEqual(seqs(rest), [6, 7, 8, 9, 10]);
    assert.equal(rest.complete, true);
    assert.equal(rest.messages[0]?.text, 'm6');

    hub.compact(id, 3);
    assert.deepEqual(hub.messages(id).map((m) => m.seq), [8, 9, 10]);
    await rejectsWith(alice.conn.history({ conversationId: id, after: 5, limit: 10 }), 'cursor_expired');
    const caughtUp = await alice.conn.history({ conversationId: id, after: 7, limit: 10 });
    assert.deepEqual(seqs(caughtUp), [8, 9, 10]);
    const resync = await alice.conn.history({ conversationId: id, limit: 10 });
    assert.deepEqual(seqs(resync), [8, 9, 10]);
    assert.equal(resync.complete, true);
    assert.equal((await say(alice.conn, id, 'after compaction')).seq, 11);
  });

  it('lets only members read or write, and only authors edit or delete', async () => {
    const { connect } = world();
    const alice = await connect('alice');
    const bob = await connect('bob');
    const carol = await connect('carol');
    const { id } = await alice.conn.openDirect('bob');
    const message = await say(alice.conn, id, 'private');
    await rejectsWith(say(carol.conn, id, 'let me in'), 'forbidden');
    await rejectsWith(carol.conn.history({ conversationId: id, limit: 10 }), 'forbidden');
    await rejectsWith(carol.conn.markRead({ conversationId: id, seq: 1 }), 'forbidden');
    await rejectsWith(carol.conn.setTyping({ conversationId: id, on: true }), 'forbidden');
    await rejectsWith(say(carol.conn, 'no-such-conversation', 'hi'), 'not_found');
    assert.deepEqual(await carol.conn.conversations(), []);
    const messageId = message.id ?? '';
    await rejectsWith(bob.conn.editMessage({ conversationId: id, id: messageId, text: 'hijack' }), 'forbidden');
    await rejectsWith(bob.conn.deleteMessage({ conversationId: id, id: messageId }), 'forbidden');
    const edited = await alice.conn.editMessage({ conversationId: id, id: messageId, text: 'edited' });
    assert.equal(edited.text, 'edited');
    assert.equal(typeof edited.editedAt, 'number');
    const deleted = await alice.conn.deleteMessage({ conversationId: id, id: messageId });
    assert.equal(deleted.deleted, true);
    assert.equal(deleted.text, '');
    assert.equal(deleted.seq, 1);
    await tick();
    assert.deepEqual(
      bob.events.of('message').map((m) => [m.seq, m.text, m.deleted === true]),
      [[1, 'private', false], [1, 'edited', false], [1, '', true]],
    );
  });

  it('moves markers monotonically with receipts to others and the conversation to own connections', async () => {
    const { hub, connect } = world();
    const alice = await connect('alice');
    const bob = await connect('bob');
    const bob2 = await connect('bob');
    const { id } = await alice.conn.openDirect('bob');
    for (let i = 0; i < 4; i++) hub.injectMessage(id, 'alice', `m${i}`);
    await bob.conn.markDelivered({ conversationId: id, seq: 4 });
    await bob.conn.markRead({ conversationId: id, seq: 3 });
    await bob.conn.markRead({ conversationId: id, seq: 1 });
    await bob.conn.markDelivered({ conversationId: id, seq: 2 });
    await bob.conn.markRead({ conversationId: id, seq: 99 });
    await tick();
    const [conversation] = await bob.conn.conversations();
    assert.equal(conversation?.readSeq, 4);
    assert.equal(conversation?.readBy?.bob, 4);
    assert.equal(conversation?.deliveredTo?.bob, 4);
    assert.deepEqual(
      alice.events.of('receipt').map((r) => [r.userId, r.kind, r.seq]),
      [['bob', 'delivered', 4], ['bob', 'read', 3], ['bob', 'read', 4]],
    );
    assert.equal(bob.events.of('receipt').length, 0);
    assert.deepEqual(bob2.events.of('conversation').map((c) => c.readSeq), [0, 3, 4]);
    assert.deepEqual(bob.events.of('conversation').map((c) => c.readSeq), [0]);
  });

  it('moves no delivered marker of an invisible user (its receipt would show them online); a read still counts', async () => {
    const { hub, connect } = world();
    const alice = await connect('alice');
    const bob = await connect('bob');
    const { id } = await alice.conn.openDirect('bob');
    await bob.conn.setPresence({ show: 'invisible' });
    hub.injectMessage(id, 'alice', 'there?');
    await bob.conn.markDelivered({ conversationId: id, seq: 1 });
    await tick();
    assert.deepEqual(alice.events.of('receipt'), []);
    assert.equal((await alice.conn.conversations())[0]?.deliveredTo?.bob, 0);
    hub.injectMessage(id, 'alice', 'still there?');
    await bob.conn.markRead({ conversationId: id, seq: 1 });
    await bob.conn.setPresence({ show: 'online' });
    await bob.conn.markDelivered({ conversationId: id, seq: 2 });
    await tick();
    assert.deepEqual(alice.events.of('receipt').map((r) => [r.kind, r.seq]), [['delivered', 1], ['read', 1], ['delivered', 2]]);
  });

  it('sends typing to the other members only', async () => {
    const { connect } = world();
    const alice = await connect('alice');
    const alice2 = await connect('alice');
    const bob = await connect('bob');
    const { id } = await alice.conn.createGroup({ title: 'T', members: ['bob'] });
    await alice.conn.setTyping({ conversationId: id, on: true });
    await tick();
    assert.deepEqual(bob.events.of('typing'), [{ conversationId: id, userId: 'alice', on: true }]);
    assert.equal(alice.events.of('typing').length + alice2.events.of('typing').length, 0);
  });

  it('delivers asynchronously, in order, and nothing after close', async () => {
    const { hub, connect } = world();
    const alice = await connect('alice');
    const { id } = await alice.conn.openDirect('bob');
    await tick();
    const before = alice.events.log.length;
    const promise = say(alice.conn, id, 'async');
    assert.equal(alice.events.log.length, before, 'no listener call inside the command');
    const message = await promise;
    assert.equal(alice.events.of('message').at(-1)?.id, message.id, 'the echo precedes the answer');
    alice.conn.close();
    hub.injectMessage(id, 'bob', 'too late');
    await tick();
    assert.equal(alice.events.of('message').length, 1);
    assert.equal(alice.events.of('closed').length, 0);
    await rejectsWith(alice.conn.conversations(), 'unavailable');
  });
});
