import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';
import { WebSocket as NodeWebSocket } from 'ws';
import { PerchError, type BackendConnection } from '@perch/core';
import { MAX_FRAME_BYTES } from '@perch/protocol';
import { fakeServer, recordingListener, sleep, type FakeServer } from './fake-server.test.util.js';
import type { SocketConstructor } from './socket.js';
import { ASSUMED_CAPABILITIES, websocketBackend } from './ws-backend.js';

// Both WebSocket classes must fit the option's type (checked by tsc, not at run time).
const browserFits: typeof WebSocket extends SocketConstructor ? true : never = true;
const wsFits: typeof NodeWebSocket extends SocketConstructor ? true : never = true;
void [browserFits, wsFits];

/** No test here needs more than a second; a hang fails fast instead of stalling the run. */
const LIMIT = { timeout: 5_000 };

let server: FakeServer;
const open: BackendConnection[] = [];
beforeEach(async () => {
  server = await fakeServer();
});
afterEach(async () => {
  for (const c of open.splice(0)) c.close();
  await server.close();
});

/** Connects alice through a fresh backend; the fake server welcomes her. */
async function connected(options: { requestTimeout?: number; capabilities?: Record<string, boolean>; maxFrameBytes?: number } = {}) {
  const backend = websocketBackend({ url: server.url, requestTimeout: options.requestTimeout ?? 2_000 });
  const listener = recordingListener();
  const connecting = backend.connect({ token: 'secret-token' }, listener);
  const peer = await server.next();
  await peer.welcome(options.capabilities, { maxFrameBytes: options.maxFrameBytes ?? MAX_FRAME_BYTES, maxTextLength: 10_000 });
  const connection = await connecting;
  open.push(connection);
  return { backend, listener, peer, connection };
}

const codeOf = (code: string, retryAfter?: number) => (error: unknown) => {
  assert.ok(error instanceof PerchError, `expected a PerchError, got ${String(error)}`);
  assert.equal(error.code, code);
  if (retryAfter !== undefined) assert.equal(error.retryAfter, retryAfter);
  return true;
};

test('hello carries the credentials, welcome gives the session and updates the capabilities in place', LIMIT, async () => {
  const backend = websocketBackend({ url: server.url });
  assert.equal(backend.name, `ws:${server.url}`);
  const capabilities = backend.capabilities;
  assert.deepEqual({ ...capabilities }, { ...ASSUMED_CAPABILITIES });
  assert.equal(capabilities.support, false);
  const connecting = backend.connect({ token: 'secret-token' }, recordingListener());
  const peer = await server.next();
  assert.equal(peer.path, '/perch', 'no credentials in the URL');
  assert.deepEqual(await peer.frame(0), { type: 'hello', v: 1, auth: { token: 'secret-token' } });
  await peer.welcome({ feed: false, presence: true, typing: true, receipts: true, groups: true, history: true, directory: false, edits: true, support: true });
  const connection = await connecting;
  open.push(connection);
  assert.deepEqual(connection.session, { user: { id: 'alice', name: 'Alice' } });
  assert.equal(backend.capabilities, capabilities, 'the same object the core holds');
  assert.equal(capabilities.feed, false);
  assert.equal(capabilities.directory, false);
  assert.equal(capabilities.support, true);
});

test('a visitor token in welcome reaches the session', LIMIT, async () => {
  const backend = websocketBackend({ url: server.url });
  const connecting = backend.connect({ visitor: { name: 'Vi' } }, recordingListener());
  const peer = await server.next();
  assert.deepEqual((await peer.frame(0)).auth, { visitor: { name: 'Vi' } });
  peer.send({ type: 'welcome', v: 1, session: { user: { id: 'v1', name: 'Vi', visitor: true }, visitorToken: 'vt' }, server: { name: 'f', version: '0', capabilities: {}, limits: { maxFrameBytes: 65536, maxTextLength: 10000 } } });
  const connection = await connecting;
  open.push(connection);
  assert.equal(connection.session.visitorToken, 'vt');
});

test('an error frame answering hello rejects connect with its code', LIMIT, async () => {
  const backend = websocketBackend({ url: server.url });
  const connecting = backend.connect({ token: 'expired' }, recordingListener());
  const peer = await server.next();
  await peer.frame(0);
  peer.send({ type: 'error', code: 'unauthorized', message: 'The token expired.' });
  peer.socket.close(4001, 'Sign-in refused.');
  await assert.rejects(connecting, (e) => codeOf('unauthorized')(e) && (e as Error).message === 'The token expired.');
});

for (const [closeCode, reason, code, retryAfter] of [
  [4001, '', 'unauthorized', undefined],
  [1008, 'Origin not allowed', 'forbidden', undefined],
  [4029, '{"retryAfter":1500}', 'rate_limited', 1500],
  [1013, 'try again, retry after 700 ms', 'rate_limited', 700],
  [1013, '', 'rate_limited', undefined],
  [1001, 'shutting down', 'unavailable', undefined],
  [1011, '', 'unavailable', undefined],
] as const) {
  test(`a close with ${closeCode} (${JSON.stringify(reason)}) before welcome rejects connect with ${code}`, LIMIT, async () => {
    const backend = websocketBackend({ url: server.url });
    const connecting = backend.connect({ token: 't' }, recordingListener());
    const peer = await server.next();
    await peer.frame(0);
    peer.socket.close(closeCode, reason);
    await assert.rejects(connecting, codeOf(code, retryAfter));
    if (retryAfter === undefined) await connecting.catch((e: PerchError) => assert.equal(e.retryAfter, undefined));
  });
}

test('a rate_limited error frame before the close gives its retryAfter', LIMIT, async () => {
  const backend = websocketBackend({ url: server.url });
  const connecting = backend.connect({ token: 't' }, recordingListener());
  const peer = await server.next();
  await peer.frame(0);
  peer.send({ type: 'error', code: 'rate_limited', message: 'Slow down.', retryAfter: 2500 });
  peer.socket.close(4029, 'Too many sign-ins.');
  await assert.rejects(connecting, codeOf('rate_limited', 2500));
});

test('a refused TCP connection rejects with unavailable', LIMIT, async () => {
  const url = server.url;
  await server.close();
  server = await fakeServer(); // for afterEach
  await assert.rejects(websocketBackend({ url }).connect({ token: 't' }, recordingListener()), codeOf('unavailable'));
});

test('a server that never welcomes makes connect time out', LIMIT, async () => {
  const backend = websocketBackend({ url: server.url, connectTimeout: 80 });
  const connecting = backend.connect({ token: 't' }, recordingListener());
  const peer = await server.next();
  await peer.frame(0);
  await assert.rejects(connecting, codeOf('timeout'));
  assert.equal((await peer.closed).code, 1000, 'the socket is closed');
});

test('concurrent requests are matched to their answers by id', LIMIT, async () => {
  const { peer, connection } = await connected();
  const direct = connection.openDirect('bob');
  const profile = connection.profile('carol');
  const read = connection.markRead({ conversationId: 'c1', seq: 4 });
  const [a, b, c] = [await peer.frame(1), await peer.frame(2), await peer.frame(3)];
  assert.deepEqual(a, { type: 'req', id: a.id, cmd: 'openDirect', args: { userId: 'bob' } });
  assert.deepEqual(b, { type: 'req', id: b.id, cmd: 'profile', args: { userId: 'carol' } });
  assert.deepEqual(c, { type: 'req', id: c.id, cmd: 'markRead', args: { conversationId: 'c1', seq: 4 } });
  assert.equal(new Set([a.id, b.id, c.id]).size, 3, 'every request has its own id');
  // Answered in reverse order.
  peer.send({ type: 'res', id: c.id, result: null });
  peer.send({ type: 'res', id: b.id, result: { id: 'carol', name: 'Carol' } });
  peer.send({ type: 'res', id: a.id, result: { id: 'd:alice:bob', kind: 'direct' } });
  assert.equal(await read, undefined, 'null becomes undefined for void commands');
  assert.deepEqual(await profile, { id: 'carol', name: 'Carol' });
  assert.deepEqual(await direct, { id: 'd:alice:bob', kind: 'direct' });
});

test('every method sends its command with the protocol arguments', LIMIT, async () => {
  const { peer, connection } = await connected();
  const calls: Array<[() => Promise<unknown>, string, unknown]> = [
    [() => connection.sendMessage({ conversationId: 'c', clientId: 'k', text: 'hi', createdAt: 1 }), 'sendMessage', { conversationId: 'c', clientId: 'k', text: 'hi', createdAt: 1 }],
    [() => connection.editMessage({ conversationId: 'c', id: 'm', text: 'x' }), 'editMessage', { conversationId: 'c', id: 'm', text: 'x' }],
    [() => connection.deleteMessage({ conversationId: 'c', id: 'm' }), 'deleteMessage', { conversationId: 'c', id: 'm' }],
    [() => connection.conversations(), 'conversations', {}],
    [() => connection.history({ conversationId: 'c', after: 3, limit: 10 }), 'history', { conversationId: 'c', after: 3, limit: 10 }],
    [() => connection.createGroup({ title: 'T', members: ['bob'], clientId: 'g' }), 'createGroup', { title: 'T', members: ['bob'], clientId: 'g' }],
    [() => connection.markDelivered({ conversationId: 'c', seq: 2 }), 'markDelivered', { conversationId: 'c', seq: 2 }],
    [() => connection.setTyping({ conversationId: 'c', on: true }), 'setTyping', { conversationId: 'c', on: true }],
    [() => connection.roster(), 'roster', {}],
    [() => connection.addContact({ userId: 'bob', groups: ['Team'] }), 'addContact', { userId: 'bob', groups: ['Team'] }],
    [() => connection.removeContact('bob'), 'removeContact', { userId: 'bob' }],
    [() => connection.directory(), 'directory', {}],
    [() => connection.setPresence({ show: 'away', status: 'lunch' }), 'setPresence', { show: 'away', status: 'lunch' }],
    [() => connection.post({ clientId: 'p', text: 'hello', createdAt: 2 }), 'post', { clientId: 'p', text: 'hello', createdAt: 2 }],
    [() => connection.feed({ source: { kind: 'home' }, limit: 20 }), 'feed', { source: { kind: 'home' }, limit: 20 }],
    [() => connection.like({ postId: 'p1', on: true }), 'like', { postId: 'p1', on: true }],
    [() => connection.follow({ userId: 'bob', on: false }), 'follow', { userId: 'bob', on: false }],
  ];
  for (const [i, [call, cmd, args]] of calls.entries()) {
    const result = call();
    const req = await peer.answer(i + 1, { n: i });
    assert.equal(req.cmd, cmd);
    assert.deepEqual(req.args, args, `${cmd} arguments`);
    await result;
  }
});

test('an error frame rejects only its own request, with code, message and retryAfter', LIMIT, async () => {
  const { peer, connection } = await connected();
  const refused = connection.sendMessage({ conversationId: 'c', clientId: 'k', text: 'hi', createdAt: 1 });
  const fine = connection.roster();
  const throttled = connection.directory();
  const [a, b, c] = [await peer.frame(1), await peer.frame(2), await peer.frame(3)];
  peer.send({ type: 'error', id: a.id, code: 'forbidden', message: 'You are not a member of this conversation.' });
  peer.send({ type: 'error', id: c.id, code: 'rate_limited', message: 'Slow down.', retryAfter: 300 });
  peer.send({ type: 'error', id: 'no-such-request', code: 'internal', message: 'ignored' });
  peer.send({ type: 'res', id: b.id, result: { contacts: [], presence: [] } });
  await assert.rejects(refused, (e) => codeOf('forbidden')(e) && (e as Error).message === 'You are not a member of this conversation.');
  await assert.rejects(throttled, codeOf('rate_limited', 300));
  assert.deepEqual(await fine, { contacts: [], presence: [] });
});

test('an error frame with a code this client does not know counts as internal', LIMIT, async () => {
  const { peer, connection } = await connected();
  const call = connection.directory();
  const req = await peer.frame(1);
  peer.send({ type: 'error', id: req.id, code: 'teapot', message: 'I am a teapot.' });
  await assert.rejects(call, codeOf('internal'));
});

test('a request without an answer times out, and the silent connection is closed and reported once', LIMIT, async () => {
  const { peer, connection, listener } = await connected({ requestTimeout: 100 });
  const other = connection.roster();
  await sleep(50);
  const late = connection.directory();
  await peer.frame(2);
  // roster times out first; directory is then failed as unavailable.
  await assert.rejects(other, codeOf('timeout'));
  await assert.rejects(late, codeOf('unavailable'));
  assert.deepEqual(listener.closes.map((r) => r.code), ['timeout']);
  assert.equal((await peer.closed).code, 1000);
  await assert.rejects(connection.conversations(), codeOf('unavailable'));
  await sleep(150);
  assert.equal(listener.closes.length, 1, 'closed is reported once');
});

for (const [closeCode, code] of [
  [1001, 'unavailable'],
  [1006, 'unavailable'],
  [4001, 'unauthorized'],
  [1008, 'forbidden'],
  [4029, 'rate_limited'],
] as const) {
  test(`a close with ${closeCode} after welcome reports ${code} once and fails pending requests`, LIMIT, async () => {
    const { peer, connection, listener } = await connected();
    const pending = connection.roster();
    await peer.frame(1);
    if (closeCode === 1006) peer.socket.terminate();
    else peer.socket.close(closeCode, 'bye');
    await assert.rejects(pending, codeOf('unavailable'));
    await sleep(20);
    assert.deepEqual(listener.closes.map((r) => r.code), [code]);
    await assert.rejects(connection.roster(), codeOf('unavailable'));
  });
}

test('a throttling error frame before a 4029 close gives the close its retryAfter', LIMIT, async () => {
  const { peer, listener } = await connected();
  peer.send({ type: 'error', code: 'rate_limited', message: 'You are sending too fast.', retryAfter: 4000 });
  peer.socket.close(4029, 'Kept flooding after being throttled.');
  await peer.closed;
  await sleep(20);
  assert.deepEqual(listener.closes, [{ code: 'rate_limited', message: 'You are sending too fast.', retryAfter: 4000 }]);
});

test('close() fails pending requests but does not call closed', LIMIT, async () => {
  const { peer, connection, listener } = await connected();
  const pending = connection.roster();
  await peer.frame(1);
  connection.close();
  await assert.rejects(pending, codeOf('unavailable'));
  await peer.closed;
  await sleep(20);
  assert.deepEqual(listener.closes, []);
  await assert.rejects(connection.roster(), codeOf('unavailable'));
});

test('events reach the listener in arrival order', LIMIT, async () => {
  const { peer, listener } = await connected();
  const message = { id: 'm1', conversationId: 'c', seq: 1, senderId: 'bob', clientId: 'k', text: 'hi', createdAt: 1, state: 'sent' };
  const contact = { userId: 'bob', groups: [] };
  const events: Array<[string, Record<string, unknown>]> = [
    ['message', message],
    ['conversation', { id: 'c', kind: 'direct' }],
    ['post', { id: 'p1', authorId: 'bob' }],
    ['presence', { userId: 'bob', show: 'away' }],
    ['typing', { conversationId: 'c', userId: 'bob', on: true }],
    ['receipt', { conversationId: 'c', userId: 'bob', kind: 'read', seq: 1 }],
    ['contact', { contact }],
    ['contact', { contact, removed: true }],
  ];
  for (const [event, data] of events) peer.send({ type: 'event', event, data });
  const deadline = Date.now() + 2000;
  while (listener.calls.length < events.length && Date.now() < deadline) await sleep(5);
  assert.deepEqual(listener.calls, [
    ['message', message],
    ['conversation', { id: 'c', kind: 'direct' }],
    ['post', { id: 'p1', authorId: 'bob' }],
    ['presence', { userId: 'bob', show: 'away' }],
    ['typing', { conversationId: 'c', userId: 'bob', on: true }],
    ['receipt', { conversationId: 'c', userId: 'bob', kind: 'read', seq: 1 }],
    ['contact', contact],
    ['contact', contact, true],
  ]);
});

test('malformed frames are ignored with one warning and the connection keeps working', LIMIT, async (t) => {
  const warn = t.mock.method(console, 'warn', () => {});
  const { peer, connection, listener } = await connected();
  const call = connection.directory();
  const req = await peer.frame(1);
  peer.send('this is not json');
  peer.send('[1,2,3]');
  peer.send({ type: 'gossip' });
  peer.send({ type: 'res' });
  peer.send({ type: 'error', id: req.id, code: 42 });
  peer.send({ type: 'event', event: 'explode', data: {} });
  peer.send({ type: 'event', event: 'message', data: 'not an object' });
  peer.send(JSON.stringify({ type: 'res', id: req.id, result: { a: { b: { c: { d: { e: { f: { g: { h: 1 } } } } } } } } }));
  peer.socket.send(Buffer.from([1, 2, 3]), { binary: true });
  peer.send({ type: 'res', id: req.id, result: [{ id: 'bob', name: 'Bob' }] });
  assert.deepEqual(await call, [{ id: 'bob', name: 'Bob' }]);
  assert.equal(warn.mock.callCount(), 1, 'warned once');
  assert.match(String(warn.mock.calls[0]!.arguments[0]), /ignored/);
  assert.deepEqual(listener.calls, []);
});

test('a listener that throws does not break the connection', LIMIT, async (t) => {
  t.mock.method(console, 'error', () => {});
  const { peer, connection, listener } = await connected();
  listener.presence = () => {
    throw new Error('boom');
  };
  peer.send({ type: 'event', event: 'presence', data: { userId: 'bob', show: 'away' } });
  const call = connection.directory();
  await peer.answer(1, []);
  assert.deepEqual(await call, []);
});

test('a frame over the size limit is refused locally with too_large and never sent', LIMIT, async () => {
  const { peer, connection } = await connected();
  const huge = { conversationId: 'c', clientId: 'k', text: 'x'.repeat(MAX_FRAME_BYTES), createdAt: 1 };
  await assert.rejects(connection.sendMessage(huge), codeOf('too_large'));
  // 30 000 characters, but 90 000 bytes of UTF-8: the limit is in bytes.
  const wide = { conversationId: 'c', clientId: 'k', text: '€'.repeat(30_000), createdAt: 1 };
  await assert.rejects(connection.sendMessage(wide), codeOf('too_large'));
  const fine = connection.sendMessage({ conversationId: 'c', clientId: 'k', text: '€'.repeat(10_000), createdAt: 1 });
  const req = await peer.answer(1, { id: 'm1' });
  assert.equal(req.cmd, 'sendMessage', 'only the one that fits was sent');
  await fine;
  await sleep(20);
  assert.equal(peer.received.length, 2);
});

test('a smaller frame limit announced in welcome is honoured', LIMIT, async () => {
  const { connection } = await connected({ maxFrameBytes: 1_000 });
  await assert.rejects(connection.post({ clientId: 'p', text: 'y'.repeat(2_000), createdAt: 1 }), codeOf('too_large'));
});

test('an injected WebSocket class is used', LIMIT, async () => {
  let made = 0;
  class Counting extends NodeWebSocket {
    constructor(url: string) {
      super(url);
      made++;
    }
  }
  const backend = websocketBackend({ url: server.url, WebSocket: Counting });
  const connecting = backend.connect({ token: 't' }, recordingListener());
  await (await server.next()).welcome();
  open.push(await connecting);
  assert.equal(made, 1);
});

test('bad addresses are refused when the backend is created', LIMIT, () => {
  assert.throws(() => websocketBackend({ url: 'http://example.com/perch' }), /ws:\/\/ or wss:\/\//);
  assert.throws(() => websocketBackend({ url: 'wss://alice:pw@example.com/perch' }), /credentials/);
  assert.throws(() => websocketBackend({ url: 'not a url' }), /not a URL/);
});
