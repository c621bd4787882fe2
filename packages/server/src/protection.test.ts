/**
 * Network-facing protection, against a real `perch-server` process: origins, frame limits,
 * malformed input, rate limits and slow consumers. The server must keep serving everyone else.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { after, before, test } from 'node:test';
import WebSocket from 'ws';
import { CLOSE, type Presence } from '@perch/protocol';
import { inProcess, SECRET, sleep, spawnServer, TestClient, token, type ChildServer } from './harness.test.util.js';

let server: ChildServer;
let port: string;

before(async () => {
  server = await spawnServer(['--port', '0', '--db', ':memory:', '--secret', SECRET, '--origin', 'https://app.example']);
  port = new URL(server.url).port;
});

after(async () => {
  await server.stop();
});

/** A signed-in client that still answers, proving the server keeps serving. */
async function stillServed(): Promise<void> {
  const bystander = await TestClient.signIn(server.url, await token('bystander'));
  assert.deepEqual(await bystander.request('conversations', {}), []);
  bystander.close();
}

test('browser origins must match the allowlist exactly; clients without an Origin connect but must authenticate', async () => {
  for (const origin of ['http://evil.example', 'http://localhost.evil.example', `http://localhost:${port}.evil.example`, `http://127.0.0.1:${Number(port) + 1}`, 'https://app.example.evil', 'null']) {
    await assert.rejects(TestClient.open(server.url, { Origin: origin }), /HTTP 403/, `${origin} is refused at the handshake`);
  }
  for (const origin of [`http://127.0.0.1:${port}`, `http://localhost:${port}`, 'https://app.example']) {
    const client = await TestClient.open(server.url, { Origin: origin });
    assert.equal((await client.hello({ token: await token('alice') })).type, 'welcome', `${origin} is allowed`);
    client.close();
  }
  const anonymous = await TestClient.open(server.url);
  anonymous.send({ type: 'req', id: '1', cmd: 'directory', args: {} });
  assert.equal((await anonymous.next((f) => f.type === 'error')).code, 'bad_request');
  assert.equal((await anonymous.closed).code, CLOSE.policy, 'no Origin is allowed to connect, not to skip hello');
});

test('a frame over 64 KiB closes that connection with 1009, and the server goes on serving others', async () => {
  const big = await TestClient.signIn(server.url, await token('big'));
  big.ws.send(JSON.stringify({ type: 'req', id: '1', cmd: 'directory', args: { pad: 'x'.repeat(70_000) } }));
  assert.equal((await big.closed).code, CLOSE.tooLarge);
  await stillServed();
});

test('malformed frames get error frames and the connection stays usable; ten of them close it with 1002', async () => {
  const client = await TestClient.signIn(server.url, await token('fuzzer'));
  const answers: Array<Record<string, unknown>> = [];
  const expectError = async (raw: string | Buffer, code = 'bad_request', id?: string) => {
    client.ws.send(raw, { binary: Buffer.isBuffer(raw) });
    const error = await client.next((f) => f.type === 'error');
    assert.equal(error.code, code, `answer to ${String(raw).slice(0, 40)}`);
    assert.equal(error.id, id);
    assert.ok(String(error.message).length > 10, 'with a sentence saying what is wrong');
    answers.push(error);
  };
  await expectError('this is not json');
  await expectError('[1, 2, 3]');
  await expectError(`${'{"a":'.repeat(20)}1${'}'.repeat(20)}`);
  await expectError('['.repeat(60_000));
  await expectError('{"type":"req","id":"n1","cmd":"history","args":{"conversationId":"c","limit":1e999}}', 'bad_request', 'n1');
  await expectError('{"type":"bogus"}');
  await expectError('{"type":"req","id":"n2","cmd":"dropTables","args":{}}', 'bad_request', 'n2');
  await expectError(Buffer.from([1, 2, 3]));
  const long = JSON.stringify({ type: 'req', id: 'n3', cmd: 'sendMessage', args: { conversationId: 'c', clientId: 'k', text: 'x'.repeat(10_001), createdAt: 1 } });
  await expectError(long, 'too_large', 'n3');
  // too_large only when the length of the text is all that is wrong; another mistake is named as such.
  const longAndWrong = JSON.stringify({ type: 'req', id: 'n4', cmd: 'sendMessage', args: { conversationId: 'c 1', clientId: 'k', text: 'x'.repeat(10_001), createdAt: 1 } });
  await expectError(longAndWrong, 'bad_request', 'n4');
  assert.match(String(answers.at(-1)?.message), /"conversationId" must be an id/);
  assert.deepEqual(await client.request('conversations', {}), [], 'the connection still works');
  await stillServed();

  // Seven of those broke the frame format itself (bad arguments do not count): three more close it.
  for (const raw of ['still not json', 'and again']) {
    client.ws.send(raw);
    await client.next((f) => f.type === 'error');
  }
  client.ws.send('the tenth');
  assert.equal((await client.closed).code, CLOSE.protocolError, 'the tenth malformed frame closes it');
  await stillServed();
});

test('a flood is answered with rate_limited and retryAfter, then closed with 4029 if it goes on', async () => {
  const flooder = await TestClient.signIn(server.url, await token('flooder'));
  const answers = await Promise.all(Array.from({ length: 320 }, () => flooder.call('conversations', {})));
  const limited = answers.filter((a) => a.code === 'rate_limited');
  assert.ok(answers.filter((a) => a.type === 'res').length >= 55, 'the burst is served');
  assert.ok(limited.length > 150, `the rest of the flood is throttled (${limited.length})`);
  assert.ok(limited.every((a) => typeof a.retryAfter === 'number' && a.retryAfter > 0 && a.retryAfter <= 1000));
  assert.equal((await flooder.closed).code, CLOSE.rateLimited, 'more than 200 throttled requests in 10 s close the connection');
  assert.ok(answers.some((a) => a.type === 'closed'), 'what came after was not served');
  await stillServed();
});

test('a client that stops reading is cut off, and the server’s memory stays flat', async () => {
  const fast = await spawnServer([
    '--port', '0', '--db', ':memory:', '--secret', SECRET,
    '--rate-per-connection', '100000', '--rate-per-identity', '100000', '--max-buffered-bytes', process.env.PERCH_TEST_CAP ?? '262144',
  ]);
  try {
    const rss = () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${fast.child.pid}/status`, 'utf8'))?.[1]) * 1024;
    const watcher = await TestClient.signIn(fast.url, await token('watcher'));
    const slow = await TestClient.signIn(fast.url, await token('slow'));
    const writer = await TestClient.signIn(fast.url, await token('writer'));
    await watcher.request('addContact', { userId: 'slow', groups: [] });
    const direct = await writer.request('openDirect', { userId: 'slow' });
    const message = await writer.request('sendMessage', { conversationId: direct.id, clientId: 'm1', text: 'hi', createdAt: Date.now() });
    const edit = (i: number) => writer.call('editMessage', { conversationId: direct.id, id: message.id, text: `${i} ${'y'.repeat(9000)}` });
    // Warm up, so that the measurement sees steady state rather than JIT and heap growth.
    for (let i = 0; i < 1000; i += 100) await Promise.all(Array.from({ length: 100 }, (_, j) => edit(i + j)));
    writer.inbox.length = 0;
    await sleep(200);
    const before = rss();

    (slow.ws as unknown as { _socket: Socket })._socket.pause();
    let sent = 0;
    for (let i = 0; i < 4000; i += 100) {
      await Promise.all(Array.from({ length: 100 }, (_, j) => edit(i + j)));
      writer.inbox.length = 0;
      sent += 100 * 9100;
    }
    const gone = await watcher.event<Presence>('presence', (p) => p.userId === 'slow' && p.show === 'offline', 5000);
    assert.ok(gone.lastSeen, 'the slow reader was disconnected');
    const grown = rss() - before;
    // Cut off at the cap, the server grows 14.7–16.6 MiB here (heap churn of 4,000 edits, measured
    // over many runs); a server that kept buffering for the stalled reader would hold all of the
    // ~35 MiB sent, and more with framing. 24 MiB tells the two apart without flaking.
    assert.ok(grown < 24 * 1024 * 1024, `RSS grew ${(grown / 1048576).toFixed(1)} MiB while ${(sent / 1048576).toFixed(0)} MiB was sent to a reader that never read`);
    (slow.ws as unknown as { _socket: Socket })._socket.resume();
    const closed = await slow.closed;
    assert.ok([CLOSE.slowConsumer, 1006].includes(closed.code as 4003), `closed with ${closed.code}`);
    assert.equal((await writer.request('conversations', {})).length, 1, 'the writer is still served');
    for (const client of [watcher, writer]) client.close();
  } finally {
    await fast.stop();
  }
});

test('an answer larger than the send buffer reaches a reader that reads: one member cannot cut the others off', async () => {
  // A member fills a conversation with messages whose JSON is twice their length (quotes are
  // escaped), and another adds you to groups; neither may make your history, conversation list or
  // directory close your connection as a "slow consumer" — you read at once, the answer is just big.
  const local = await inProcess({ maxBufferedBytes: 64 * 1024, connectionRate: { perSecond: 1000, burst: 1000 }, identityRate: { perSecond: 1000, burst: 1000 } });
  try {
    const victim = await TestClient.signIn(local.url, await token('victim'));
    const spammer = await TestClient.signIn(local.url, await token('spammer'));
    const direct = await spammer.request('openDirect', { userId: 'victim' });
    for (let i = 0; i < 10; i++) {
      await spammer.request('sendMessage', { conversationId: direct.id, clientId: `big-${i}`, text: '"'.repeat(10_000), createdAt: Date.now() });
    }
    for (let i = 0; i < 300; i++) await spammer.request('createGroup', { title: `Spam ${i} ${'x'.repeat(90)}`, members: ['victim'] });
    victim.inbox.length = 0;
    assert.equal((await victim.request('conversations', {})).length, 301, 'the whole list (about 90 KB) arrives');
    const page = await victim.request('history', { conversationId: direct.id, limit: 10 });
    assert.equal(page.messages.length, 10, 'the whole page (about 200 KB) arrives');
    assert.equal(victim.ws.readyState, WebSocket.OPEN, 'and the reader stays connected');
    for (const client of [victim, spammer]) client.close();
  } finally {
    await local.close();
  }
});

test('heartbeats drop a socket that stops answering pings, and keep the ones that answer', async () => {
  const local = await inProcess({ heartbeatMs: 100 });
  try {
    const alive = await TestClient.signIn(local.url, await token('alive'));
    const mute = new WebSocket(local.url.replace('http', 'ws'), { autoPong: false });
    await once(mute, 'open');
    mute.send(JSON.stringify({ type: 'hello', v: 1, auth: { token: await token('mute') } }));
    const started = performance.now();
    const [code] = (await once(mute, 'close')) as [number];
    const took = performance.now() - started;
    assert.equal(code, 1006, 'terminated, without a closing handshake');
    assert.ok(took >= 100 && took < 1500, `dropped after ${took.toFixed(0)} ms, within two heartbeats or so`);
    await sleep(250);
    assert.equal(alive.ws.readyState, WebSocket.OPEN, 'a client that answers pings stays connected');
    assert.deepEqual(await alive.request('conversations', {}), []);
    alive.close();
  } finally {
    await local.close();
  }
});
