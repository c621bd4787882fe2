// Renewing the token on an open connection (`reauth`), against a fake server that says when the
// token expires. A renewal is made a minute before the expiry (halfway to a short one), never less
// than a second away.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';
import type { Auth, AuthSource, BackendConnection } from '@perch/core';
import { fakeServer, recordingListener, sleep, type FakePeer, type FakeServer } from './fake-server.test.util.js';
import { websocketBackend } from './ws-backend.js';

const LIMIT = { timeout: 8_000 };
let server: FakeServer;
const open: BackendConnection[] = [];
beforeEach(async () => {
  server = await fakeServer();
});
afterEach(async () => {
  for (const c of open.splice(0)) c.close();
  await server.close();
});

/** Connects with `source` as the app's auth; the fake server welcomes alice, whose token expires in `expiresIn` ms. */
async function connected(source: AuthSource, expiresIn?: number): Promise<{ peer: FakePeer; connection: BackendConnection }> {
  const auth = typeof source === 'function' ? await source() : source;
  const connecting = websocketBackend({ url: server.url }).connect(auth, recordingListener(), source);
  const peer = await server.next();
  await peer.welcome({}, undefined, expiresIn === undefined ? {} : { expiresIn });
  const connection = await connecting;
  open.push(connection);
  return { peer, connection };
}

/** A token function that counts its calls and answers token-1, token-2, … */
function tokens(): { source: () => Promise<Auth>; calls: () => number } {
  let n = 0;
  return { source: async () => ({ token: `token-${++n}` }), calls: () => n };
}

test('halfway to a short expiry the app’s token function is asked and its token sent as reauth; the answer schedules the next', LIMIT, async () => {
  const { source, calls } = tokens();
  const { peer } = await connected(source, 2_200);
  const started = Date.now();
  const first = await peer.frame(1);
  assert.ok(Date.now() - started >= 1_000, 'not before halfway');
  assert.equal(first.type, 'req');
  assert.equal(first.cmd, 'reauth');
  assert.deepEqual(first.args, { token: 'token-2' });
  peer.send({ type: 'res', id: first.id, result: { expiresIn: 2_200 } });
  const second = await peer.frame(2);
  assert.deepEqual(second.args, { token: 'token-3' });
  assert.equal(calls(), 3);
});

test('a refused reauth is left alone: no retry, no crash, the connection keeps working until the server ends it', LIMIT, async () => {
  const { source, calls } = tokens();
  const { peer, connection } = await connected(source, 2_200);
  const reauth = await peer.frame(1);
  peer.send({ type: 'error', id: reauth.id, code: 'forbidden', message: 'The token is for mallory.' });
  await sleep(1_300);
  assert.equal(peer.received.length, 2, 'nothing more was sent');
  assert.equal(calls(), 2);
  const listing = connection.conversations();
  await peer.answer(2, []);
  assert.deepEqual(await listing, []);
});

test('no renewal with a fixed token, without an expiry, less than a second or more than 2e9 ms ahead, or after close', LIMIT, async () => {
  const fixed = await connected({ token: 'fixed' }, 2_200);
  const noExpiry = tokens();
  const unbounded = await connected(noExpiry.source);
  const soon = tokens();
  const nearlyOver = await connected(soon.source, 1_900); // halfway is 950 ms: too close to bother
  const distant = tokens();
  const farOff = await connected(distant.source, 5e9); // ~58 days: past what a timer can wait (it would fire at once)
  const closing = tokens();
  const closed = await connected(closing.source, 2_200);
  closed.connection.close();
  await sleep(1_400);
  for (const { peer } of [fixed, unbounded, nearlyOver, farOff, closed]) assert.equal(peer.received.length, 1, 'only hello');
  assert.deepEqual([noExpiry.calls(), soon.calls(), distant.calls(), closing.calls()], [1, 1, 1, 1], 'asked for the sign-in only');
});
