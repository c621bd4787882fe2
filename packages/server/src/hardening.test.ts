/**
 * Exposure to the internet: what an anonymous client can do to the server over HTTP and with
 * bare sockets (static files, redirects, request lines, idle connections, visitor floods), and a
 * stop signal delivered twice. Against real servers on 127.0.0.1.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CLOSE } from '@perch/protocol';
import { Authenticator } from './auth.js';
import { inProcess, SECRET, sleep, spawnServer, TestClient, token } from './harness.test.util.js';
import type { RunningServer } from './server.js';
import { openSqliteStorage } from './storage/sqlite.js';
import type { Storage } from './storage/storage.js';

/** A raw request that sends `path` exactly as given (fetch would normalise it). */
function get(url: string, path: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, path, agent: false }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Resolves once `check` returns true, polling; rejects with `what` if it never does within 10 s. */
async function eventually(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await sleep(50);
  }
  assert.fail(what);
}

let dir: string;
let site: string;
let server: RunningServer;
const logged: string[] = [];
/** Big enough that the kernel's socket buffers cannot take it all: the server is still sending when the client leaves. */
const BIG = 24 * 1024 * 1024;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'perch-hardening-'));
  site = join(dir, 'site');
  mkdirSync(join(site, 'app'), { recursive: true });
  mkdirSync(join(site, '.git'));
  mkdirSync(join(site, '.well-known'));
  writeFileSync(join(site, 'index.html'), '<!doctype html><title>home</title>');
  writeFileSync(join(site, 'app', 'index.html'), '<!doctype html><title>app</title>');
  writeFileSync(join(site, '.env'), 'SECRET=hunter2');
  writeFileSync(join(site, '.git', 'config'), '[remote "origin"] url = https://token@git.example/secret');
  writeFileSync(join(site, '.well-known', 'security.txt'), 'Contact: mailto:security@example.com');
  writeFileSync(join(site, 'big.bin'), Buffer.alloc(BIG, 7));
  symlinkSync(join(site, '.env'), join(site, 'env.txt'));
  symlinkSync(join(site, 'app'), join(site, '.app'));
  server = await inProcess({ staticDir: site, log: (line) => logged.push(line) });
});

after(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

test('--static serves no dotfile (.env, .git/), not through a link either, but .well-known/', async () => {
  for (const path of ['/.env', '/%2eenv', '/.git/config', '/%2Egit/config', '/app/../.env', '/env.txt', '/.app/index.html', '/.git/', '/.git']) {
    const answer = await get(server.url, path);
    assert.equal(answer.status, 404, path);
    assert.ok(!answer.body.includes('hunter2') && !answer.body.includes('token@'), path);
  }
  const wellKnown = await get(server.url, '/.well-known/security.txt');
  assert.equal(wellKnown.status, 200);
  assert.equal(wellKnown.body, 'Contact: mailto:security@example.com');
  assert.equal((await get(server.url, '/app/')).status, 200, 'other files are still served');
});

test('the trailing-slash redirect of a folder never points at another host', async () => {
  for (const path of ['/.//evil.example/..%2fapp', '/.///evil.example/..%2fapp', '/./\\evil.example/..%2fapp', '/app']) {
    const answer = await get(server.url, path);
    assert.equal(answer.status, 301, path);
    const location = String(answer.headers.location);
    assert.match(location, /^\/(?![/\\])/, `${path} → ${location} is a path on this server`);
    assert.equal(new URL(location, server.url).host, new URL(server.url).host, path);
  }
});

test('a request line no URL parser takes is a 400, not a 500 with a log line', async () => {
  const before = logged.length;
  for (const path of ['//', '//[']) {
    const answer = await get(server.url, path);
    assert.equal(answer.status, 400, path);
    assert.match(answer.body, /Bad request/);
  }
  assert.deepEqual(logged.slice(before), [], 'nothing to log: the client was wrong');
});

test('a client that leaves in the middle of a large file does not leave the file open', async () => {
  const openCopies = () => readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`).endsWith(`${join('site', 'big.bin')}`);
    } catch {
      return false; // closed meanwhile
    }
  }).length;
  const { port } = new URL(server.url);
  for (let i = 0; i < 20; i++) {
    await new Promise<void>((resolve, reject) => {
      const socket = connect(Number(port), '127.0.0.1', () => socket.write('GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n'));
      socket.once('data', () => {
        socket.destroy();
        resolve();
      });
      socket.once('error', reject);
    });
  }
  await eventually(`the server still holds big.bin open ${openCopies()} times after its readers left`, () => openCopies() === 0);
  const whole = await get(server.url, '/big.bin');
  assert.equal(whole.body.length, BIG, 'a reader that stays gets all of it');
});

test('one address holds at most maxAnonymousPerAddress connections without a signed-in user; users with a token do not count', async () => {
  const capped = await inProcess({ maxAnonymousPerAddress: 3 });
  const held: Array<TestClient | Socket> = [];
  try {
    // Five users signed in with tokens from this address: none of them counts.
    const users: TestClient[] = [];
    for (const id of ['u1', 'u2', 'u3', 'u4', 'u5']) users.push(await TestClient.signIn(capped.url, await token(id)));
    // Three anonymous ones: a half-sent HTTP request (slowloris), a socket that never says hello, a visitor.
    const slow = connect(Number(new URL(capped.url).port), '127.0.0.1');
    slow.on('error', () => undefined);
    await new Promise((resolve) => slow.once('connect', resolve));
    slow.write('GET / HTTP/1.1\r\nHost: x\r\n');
    held.push(slow);
    held.push(await TestClient.open(capped.url));
    held.push(await TestClient.signIn(capped.url, { visitor: { name: 'V' } }));

    await assert.rejects(TestClient.open(capped.url), 'a fourth WebSocket is refused');
    await assert.rejects(get(capped.url, '/healthz'), 'so is a fourth HTTP request');
    await assert.rejects(async () => TestClient.signIn(capped.url, await token('u6')), 'a new sign-in from this address must wait too');
    for (const user of users) assert.deepEqual(await user.request('conversations', {}), [], 'signed-in users are still served');

    // Once one of them leaves, the address may connect again.
    (held.shift() as Socket).destroy();
    await eventually('a connection is accepted again after one left', async () => {
      try {
        (await TestClient.signIn(capped.url, await token('u6'))).close();
        return true;
      } catch {
        return false;
      }
    });
    for (const user of users) user.close();
  } finally {
    for (const item of held) if (item instanceof TestClient) item.close();
    else item.destroy();
    await capped.close();
  }
});

test('one user holds at most maxConnectionsPerUser connections; one more is refused rate_limited with 4029, others are not affected', async () => {
  const capped = await inProcess({ maxConnectionsPerUser: 2 });
  const open: TestClient[] = [];
  try {
    for (let i = 0; i < 2; i++) open.push(await TestClient.signIn(capped.url, await token('alice')));
    const third = await TestClient.open(capped.url);
    const refused = await third.hello({ token: await token('alice') });
    assert.equal(refused.code, 'rate_limited');
    assert.match(String(refused.message), /already has 2 connections open/);
    assert.equal(refused.retryAfter, 30_000);
    assert.equal((await third.closed).code, CLOSE.rateLimited);
    open.push(await TestClient.signIn(capped.url, await token('bob')));
    for (const client of open) assert.deepEqual(await client.request('conversations', {}), [], 'the connections held are still served');
    // Once one of alice's closes, she may connect again.
    (open.shift() as TestClient).close();
    await eventually('alice is admitted again after one of hers left', async () => {
      try {
        open.push(await TestClient.signIn(capped.url, await token('alice')));
        return true;
      } catch {
        return false;
      }
    });
  } finally {
    for (const client of open) client.close();
    await capped.close();
  }
});

test('new visitors are limited per IPv6 /64, not per address: one host picks any address of its /64', async () => {
  const storage = openSqliteStorage(':memory:');
  try {
    const authenticator = new Authenticator(
      { secret: SECRET, audience: 'perch', issuer: 'perch', clockToleranceSeconds: 5, visitorRate: { perSecond: 0.001, burst: 2 } },
      storage,
      Date.now,
    );
    const visit = (address: string) => authenticator.authenticate({ visitor: {} }, address);
    await visit('2001:db8:1:2::1');
    await visit('2001:db8:1:2:ffff:ffff:ffff:ffff');
    await assert.rejects(visit('2001:0db8:0001:0002::7'), (error: Error & { code?: string }) => error.code === 'rate_limited', 'the third from the same /64');
    await visit('2001:db8:1:3::1'); // another /64 is another network
    await visit('192.0.2.1');
    await visit('::ffff:192.0.2.1');
    await assert.rejects(visit('192.0.2.1'), (error: Error & { code?: string }) => error.code === 'rate_limited', 'an IPv4 address also seen through an IPv6 socket');
  } finally {
    await storage.close();
  }
});

test('when the storage refuses writes (disk full), known users still sign in and read; writes get a clear error; nothing is lost', async () => {
  const sqlite = openSqliteStorage(':memory:');
  let full = false;
  const diskFull = () => Object.assign(new Error('database or disk is full'), { name: 'SqliteError' });
  const storage: Storage = { ...sqlite };
  for (const method of ['upsertUser', 'appendMessage', 'setLastSeen', 'setPresence', 'createVisitor'] as const) {
    const write = sqlite[method] as (...args: unknown[]) => Promise<unknown>;
    (storage as unknown as Record<string, unknown>)[method] = (...args: unknown[]) => (full ? Promise.reject(diskFull()) : write(...args));
  }
  const lines: string[] = [];
  const degraded = await inProcess({ storage, log: (line) => lines.push(line) });
  try {
    const alice = await TestClient.signIn(degraded.url, await token('alice'));
    await TestClient.signIn(degraded.url, await token('bob')).then((bob) => bob.close());
    const direct = await alice.request('openDirect', { userId: 'bob' });
    await alice.request('sendMessage', { conversationId: direct.id, clientId: 'm1', text: 'before the disk filled', createdAt: Date.now() });
    alice.close();

    full = true;
    const again = await TestClient.signIn(degraded.url, await token('alice', 'Alice Renamed'));
    const page = await again.request('history', { conversationId: direct.id, limit: 10 });
    assert.deepEqual(page.messages.map((m) => m.text), ['before the disk filled'], 'what was stored is still read');
    const refused = await again.call('sendMessage', { conversationId: direct.id, clientId: 'm2', text: 'while full', createdAt: Date.now() });
    assert.equal(refused.code, 'internal', 'a write that cannot be stored is an error frame');
    assert.doesNotMatch(String(refused.message), /disk|Sqlite|at /, 'without the internals');
    const newcomer = await TestClient.open(degraded.url);
    const answer = await newcomer.hello({ token: await token('zed') });
    assert.equal(answer.code, 'internal', 'a user the storage has never seen cannot be added');
    assert.equal((await newcomer.closed).code, 1011);

    full = false;
    await again.request('sendMessage', { conversationId: direct.id, clientId: 'm2', text: 'once there is room', createdAt: Date.now() });
    assert.deepEqual((await again.request('history', { conversationId: direct.id, limit: 10 })).messages.map((m) => m.text), ['before the disk filled', 'once there is room']);
    again.close();
    assert.ok(lines.some((line) => line.includes('SqliteError: database or disk is full')), lines.join('\n'));
    assert.deepEqual(lines.filter((line) => line.includes('\n')), [], 'each refusal of the database is one line, without a stack');
  } finally {
    await degraded.close();
    await sqlite.close();
  }
});

test('SIGINT and SIGTERM together (Ctrl+C under npm start) still shut down gracefully: 1001 for clients, exit 0', async () => {
  const child = await spawnServer(['--port', '0', '--db', ':memory:', '--secret', SECRET]);
  const client = await TestClient.signIn(child.url, await token('alice'));
  child.child.kill('SIGINT');
  child.child.kill('SIGTERM');
  assert.equal((await client.closed).code, CLOSE.goingAway, 'the client was told the server is going away');
  assert.deepEqual(await child.exited, { code: 0, signal: null }, child.output());
  assert.ok(!child.output().includes('without waiting'), child.output());
});
