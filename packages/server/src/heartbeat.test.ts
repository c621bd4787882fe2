/**
 * The client's heartbeat as the server sees it: `ping` is answered with `pong` at once, is no
 * malformed frame, and is throttled like any other frame when it floods.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { CLOSE } from '@perch/protocol';
import { inProcess, TestClient, token } from './harness.test.util.js';
import type { RunningServer } from './server.js';
import { MAX_PROTOCOL_ERRORS } from './session.js';

/** Each test takes well under a second; a server that never closes a flood fails instead of hanging. */
const LIMIT = { timeout: 10_000 };

let server: RunningServer;

before(async () => {
  server = await inProcess();
});

after(async () => {
  await server.close();
});

test('ping after welcome is answered with pong, again and again, and is not a malformed frame', LIMIT, async () => {
  const client = await TestClient.signIn(server.url, await token('pinger'));
  // More pings than the malformed frames that close a connection: none of them counts as one.
  for (let i = 0; i < MAX_PROTOCOL_ERRORS + 2; i++) {
    client.send(i % 2 ? { type: 'ping', at: i } : { type: 'ping' });
    assert.deepEqual(await client.next(() => true), { type: 'pong' }, `ping ${i} gets exactly a pong`);
  }
  assert.deepEqual(await client.request('conversations', {}), [], 'the connection still works');
  client.close();
});

test('a ping flood is throttled with rate_limited, then closed with 4029, like any flood', LIMIT, async () => {
  const flooder = await TestClient.signIn(server.url, await token('ping-flooder'));
  for (let i = 0; i < 320; i++) flooder.send({ type: 'ping' });
  assert.equal((await flooder.closed).code, CLOSE.rateLimited, 'more than 200 throttled frames in 10 s close the connection');
  const pongs = flooder.inbox.filter((f) => f.type === 'pong').length;
  const limited = flooder.inbox.filter((f) => f.code === 'rate_limited');
  assert.ok(pongs >= 55 && pongs < 120, `the burst is answered (${pongs} pongs), the rest is not`);
  assert.ok(limited.length > 150, `the rest is throttled (${limited.length})`);
  assert.ok(limited.every((f) => typeof f.retryAfter === 'number' && f.retryAfter > 0));
  const bystander = await TestClient.signIn(server.url, await token('bystander'));
  bystander.send({ type: 'ping' });
  assert.equal((await bystander.next(() => true)).type, 'pong', 'others are still answered');
  bystander.close();
});

test('ping as the first frame is refused like any frame that is not hello', LIMIT, async () => {
  const client = await TestClient.open(server.url);
  client.send({ type: 'ping' });
  const error = await client.next(() => true);
  assert.equal(error.code, 'bad_request');
  assert.match(String(error.message), /first frame must be hello/);
  assert.equal((await client.closed).code, CLOSE.policy);
});

test('ping right after hello is answered too, welcome or not yet', LIMIT, async () => {
  const client = await TestClient.open(server.url);
  client.send({ type: 'hello', v: 1, auth: { token: await token('eager') } });
  client.send({ type: 'ping' });
  assert.equal((await client.next((f) => f.type === 'welcome')).type, 'welcome');
  assert.deepEqual(await client.next((f) => f.type === 'pong'), { type: 'pong' });
  client.close();
});
