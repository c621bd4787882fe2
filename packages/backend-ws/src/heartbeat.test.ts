/**
 * The client's heartbeat against a scripted server: a `ping` after a silence, a dead connection
 * found without any request, and servers that answer `pong`, something else, or (older servers)
 * an error.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';
import type { BackendConnection } from '@perch/core';
import { fakeServer, recordingListener, sleep, type FakePeer, type FakeServer } from './fake-server.test.util.js';
import { websocketBackend } from './ws-backend.js';

/** No test here needs more than a second; a hang fails fast instead of stalling the run. */
const LIMIT = { timeout: 5_000 };
/** What a server from before the heartbeat answers to `ping` (its validator's own words). */
const OLD_SERVER_REFUSAL = { type: 'error', code: 'bad_request', message: 'Unknown frame type "ping"; expected "hello" or "req".' };

let server: FakeServer;
const open: BackendConnection[] = [];
beforeEach(async () => {
  server = await fakeServer();
});
afterEach(async () => {
  for (const c of open.splice(0)) c.close();
  await server.close();
});

/** Connects alice with the given heartbeat; resolves once welcomed, with the time of the welcome. */
async function connected(heartbeatInterval: number, heartbeatTimeout: number) {
  const backend = websocketBackend({ url: server.url, heartbeatInterval, heartbeatTimeout });
  const listener = recordingListener();
  const connecting = backend.connect({ token: 't' }, listener);
  const peer = await server.next();
  await peer.welcome();
  const connection = await connecting;
  open.push(connection);
  return { listener, peer, connection, welcomed: performance.now() };
}

/** Makes `peer` answer every `ping` with `answer`. */
function answerPings(peer: FakePeer, answer: object): void {
  peer.socket.on('message', (data) => {
    if (String(data) === '{"type":"ping"}') peer.send(answer);
  });
}

const pings = (peer: FakePeer) => peer.received.filter((f) => f.type === 'ping').length;

test('a silent server is pinged after the interval, then closed and reported once as a timeout', LIMIT, async () => {
  const { listener, peer, connection, welcomed } = await connected(100, 100);
  assert.deepEqual(await peer.frame(1), { type: 'ping' }, 'exactly this frame');
  const pinged = performance.now() - welcomed;
  assert.ok(pinged >= 90, `pinged after ${pinged.toFixed(0)} ms of silence, not before the interval`);
  assert.equal((await peer.closed).code, 1000, 'the client closes the dead socket');
  const took = performance.now() - welcomed;
  assert.ok(took >= 190 && took < 1_000, `given up after ${took.toFixed(0)} ms, about interval + timeout`);
  assert.equal(listener.closes.length, 1);
  assert.equal(listener.closes[0]!.code, 'timeout', 'a transient code: the core reconnects and resumes');
  assert.match(listener.closes[0]!.message, /did not answer "ping" within 100 ms/);
  await assert.rejects(connection.roster(), (e: Error & { code?: string }) => e.code === 'unavailable');
  await sleep(300);
  assert.equal(listener.closes.length, 1, 'closed is reported once');
  assert.equal(pings(peer), 1, 'no ping after the close');
});

test('a server that answers pong keeps the connection, pinged once per silence', LIMIT, async () => {
  const { listener, peer, connection } = await connected(60, 60);
  answerPings(peer, { type: 'pong' });
  await sleep(500);
  assert.ok(pings(peer) >= 3, `pinged ${pings(peer)} times in 500 ms`);
  assert.ok(pings(peer) <= 9, `but only after each silence of 60 ms (${pings(peer)} pings)`);
  assert.deepEqual(listener.closes, []);
  const roster = connection.roster();
  const req = await peer.frame(peer.received.length);
  peer.send({ type: 'res', id: req.id, result: { contacts: [], presence: [] } });
  assert.deepEqual(await roster, { contacts: [], presence: [] });
});

test('any frame from the server counts as life: no ping while events flow', LIMIT, async (t) => {
  t.mock.method(console, 'warn', () => {});
  const { listener, peer } = await connected(200, 100);
  const presence = { type: 'event', event: 'presence', data: { userId: 'bob', show: 'away' } };
  for (let i = 0; i < 10; i++) {
    await sleep(40);
    peer.send(presence);
  }
  assert.equal(pings(peer), 0, 'events kept the connection alive for 400 ms without a ping');
  // Not even a malformed frame is silence: 120 + 120 ms without a valid frame, and no ping.
  await sleep(120);
  peer.send('not json');
  await sleep(120);
  assert.equal(pings(peer), 0);
  assert.deepEqual(await peer.frame(1), { type: 'ping' }, 'once the frames stop, the silence is noticed');
  assert.equal(listener.closes.length, 0);
});

test('a rate_limited answer to a ping counts as life, and pinging goes on', LIMIT, async () => {
  const { listener, peer } = await connected(60, 60);
  answerPings(peer, { type: 'error', code: 'rate_limited', message: 'Too many requests; wait 50 ms before sending more.', retryAfter: 50 });
  await sleep(400);
  assert.ok(pings(peer) >= 2, `pinged ${pings(peer)} times`);
  assert.deepEqual(listener.closes, []);
});

test('an old server that refuses ping keeps the connection and is not pinged again', LIMIT, async () => {
  const { listener, peer, connection } = await connected(60, 60);
  answerPings(peer, OLD_SERVER_REFUSAL);
  await sleep(500);
  // Each refusal would use one of the old server's ten malformed frames per connection.
  assert.equal(pings(peer), 1, 'one ping, then none: the refusal showed the server does not know it');
  assert.equal(listener.closes.length, 0, 'the refusal proved the connection alive');
  const directory = connection.directory();
  const req = await peer.answer(2, []);
  assert.equal(req.cmd, 'directory');
  assert.deepEqual(await directory, [], 'requests go on as before');
  peer.socket.terminate();
  await peer.closed;
  await sleep(50);
  assert.deepEqual(listener.closes.map((r) => r.code), ['unavailable'], 'the refusal does not explain a later close');
});

test('heartbeatInterval 0 turns the heartbeat off', LIMIT, async () => {
  const { listener, peer } = await connected(0, 50);
  await sleep(300);
  assert.equal(pings(peer), 0);
  assert.deepEqual(listener.closes, []);
});

test('the heartbeat does not hold a Node process open, and close() clears it', LIMIT, async (t) => {
  // The heartbeat's timers are the only ones of 4 321 ms here.
  const timers: NodeJS.Timeout[] = [];
  const cleared = new Set<unknown>();
  const { setTimeout: set, clearTimeout: clear } = globalThis;
  t.mock.method(globalThis, 'setTimeout', (run: () => void, ms: number) => {
    const timer = set(run, ms);
    if (ms === 4_321) timers.push(timer);
    return timer;
  });
  t.mock.method(globalThis, 'clearTimeout', (timer: NodeJS.Timeout | undefined) => {
    cleared.add(timer);
    clear(timer);
  });
  const { listener, peer, connection } = await connected(4_321, 60);
  assert.equal(timers.length, 1, 'welcome started the heartbeat');
  assert.equal(timers[0]!.hasRef(), false, 'unref: an idle connection alone does not keep Node running');
  connection.close();
  assert.ok(cleared.has(timers[0]), 'close() cleared it');
  await peer.closed;
  assert.equal(pings(peer), 0);
  assert.deepEqual(listener.closes, []);
});
