import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import Database from 'better-sqlite3';
import { SignJWT } from 'jose';
import { CLOSE, MAX_FRAME_BYTES, MAX_TEXT_LENGTH, type User } from '@perch/protocol';
import { mintToken } from './auth.js';
import { inProcess, SECRET, sleep, TestClient, token, type Frame } from './harness.test.util.js';
import type { RunningServer } from './server.js';
import { openSqliteStorage } from './storage/sqlite.js';
import type { Storage } from './storage/storage.js';

let server: RunningServer;
const clients: TestClient[] = [];
const key = new TextEncoder().encode(SECRET);
const now = () => Math.floor(Date.now() / 1000);
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

before(async () => {
  server = await inProcess({ helloTimeoutMs: 300 });
});

after(async () => {
  for (const client of clients) client.close();
  await server.close();
});

async function open(): Promise<TestClient> {
  const client = await TestClient.open(server.url);
  clients.push(client);
  return client;
}

/** Sends hello with `auth` and expects an `unauthorized` error whose message matches, then close 4001. */
async function refused(auth: { token: string } | { visitor: { token: string } }, message: RegExp): Promise<void> {
  const client = await open();
  const answer = await client.hello(auth);
  assert.equal(answer.type, 'error');
  assert.equal(answer.code, 'unauthorized');
  assert.match(String(answer.message), message);
  assert.equal((await client.closed).code, CLOSE.unauthorized);
}

test('a valid token signs in: welcome carries the user and what the server can do', async () => {
  const client = await TestClient.signIn(server.url, await token('alice', 'Alice Liddell', { title: 'Engineer' }));
  clients.push(client);
  const welcome = client.welcome as Frame & { session: { user: User; expiresIn: number }; server: Record<string, unknown> };
  assert.equal(welcome.v, 1);
  const { expiresIn, ...session } = welcome.session;
  assert.deepEqual(session, { user: { id: 'alice', name: 'Alice Liddell', title: 'Engineer' } });
  // mintToken's default lifetime is an hour; `exp` has whole seconds.
  assert.ok(expiresIn > 3_590_000 && expiresIn <= 3_600_000, `expiresIn ${expiresIn}`);
  assert.equal(welcome.server.name, 'perch-server');
  assert.match(String(welcome.server.version), /^\d+\.\d+\.\d+/);
  assert.deepEqual(welcome.server.capabilities, {
    feed: true, presence: true, typing: true, receipts: true, groups: true, history: true, directory: true, edits: true, support: false,
  });
  assert.deepEqual(welcome.server.limits, { maxFrameBytes: MAX_FRAME_BYTES, maxTextLength: MAX_TEXT_LENGTH });
});

test('refused tokens: alg none, expired, wrong audience, wrong issuer, wrong signature, no exp, bad sub, garbage', async () => {
  const unsigned = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'mallory', name: 'M', aud: 'perch', iss: 'perch', exp: now() + 600 })}.`;
  await refused({ token: unsigned }, /HS256/);
  const hs512 = await new SignJWT({ name: 'M' }).setProtectedHeader({ alg: 'HS512' }).setSubject('mallory').setAudience('perch').setIssuer('perch').setExpirationTime(now() + 600).sign(new Uint8Array(64).fill(1));
  await refused({ token: hs512 }, /HS256/);
  const expired = await new SignJWT({ name: 'A' }).setProtectedHeader({ alg: 'HS256' }).setSubject('alice').setAudience('perch').setIssuer('perch').setExpirationTime(now() - 60).sign(key);
  await refused({ token: expired }, /expired/);
  await refused({ token: await mintToken({ secret: SECRET, sub: 'alice', name: 'A', audience: 'someone-else' }) }, /audience.*"perch"/);
  await refused({ token: await mintToken({ secret: SECRET, sub: 'alice', name: 'A', issuer: 'evil' }) }, /issuer.*"perch"/);
  await refused({ token: await mintToken({ secret: 'not-the-secret', sub: 'alice', name: 'A' }) }, /signature/);
  const forever = await new SignJWT({ name: 'A' }).setProtectedHeader({ alg: 'HS256' }).setSubject('alice').setAudience('perch').setIssuer('perch').sign(key);
  await refused({ token: forever }, /"exp"/);
  await refused({ token: await mintToken({ secret: SECRET, sub: 'has spaces', name: 'A' }) }, /"sub"/);
  await refused({ token: 'not.a.jwt' }, /well-formed/);
});

test('no hello in time closes with 4002; a request before hello closes with 1008; a malformed first frame with 1002', async () => {
  const silent = await open();
  const started = Date.now();
  const closed = await silent.closed;
  assert.equal(closed.code, CLOSE.helloTimeout);
  assert.ok(Date.now() - started >= 250, 'not before the hello timeout');
  assert.equal((await silent.next((f) => f.type === 'error')).code, 'timeout');

  const eager = await open();
  eager.send({ type: 'req', id: '1', cmd: 'conversations', args: {} });
  assert.equal((await eager.next((f) => f.type === 'error')).code, 'bad_request');
  assert.equal((await eager.closed).code, CLOSE.policy);

  // A first frame that is no well-formed hello is refused at once, not left to the hello timeout.
  for (const [frame, message] of [
    [Buffer.from([1, 2, 3]), /JSON text, not binary/],
    ['{"type":"hello","v":2,"auth":{"token":"t"}}', /Unsupported protocol version 2; this server speaks 1/],
  ] as const) {
    const client = await open();
    const started = Date.now();
    client.ws.send(frame, { binary: typeof frame !== 'string' });
    const error = await client.next((f) => f.type === 'error');
    assert.equal(error.code, 'bad_request');
    assert.match(String(error.message), message);
    assert.equal((await client.closed).code, CLOSE.protocolError);
    assert.ok(Date.now() - started < 250, 'closed before the hello timeout');
  }
});

test('a visitor gets an opaque token, comes back with it, and is refused once it is revoked', async () => {
  const first = await TestClient.signIn(server.url, { visitor: { name: ' Guest ', email: 'guest@example.com' } });
  clients.push(first);
  const session = first.welcome.session as { user: User; visitorToken: string };
  assert.match(session.visitorToken, /^[A-Za-z0-9_-]{43}$/, '32 random bytes, base64url');
  assert.match(session.user.id, /^visitor-[0-9a-f-]{36}$/);
  assert.deepEqual({ ...session.user, id: 'x' }, { id: 'x', name: 'Guest', email: 'guest@example.com', visitor: true });

  const again = await TestClient.signIn(server.url, { visitor: { token: session.visitorToken } });
  clients.push(again);
  assert.deepEqual(again.welcome.session, session, 'the same visitor again');
  await refused({ visitor: { token: 'made-up-token' } }, /unknown or was revoked/);

  assert.equal(await server.revokeVisitor(session.user.id), 1);
  assert.equal((await first.closed).code, CLOSE.unauthorized, 'open connections of a revoked visitor are closed');
  assert.equal((await again.closed).code, CLOSE.unauthorized);
  await refused({ visitor: { token: session.visitorToken } }, /revoked/);
});

test('a visit ended while that visitor is signing in again closes the new connection too, and serves it nothing', async () => {
  // The token lookup of the sign-in is held back until the revocation is done: the lookup found a
  // valid token, but the connection it opens must not outlive the revocation.
  const storage = openSqliteStorage(':memory:', { log: () => undefined });
  let hold: Promise<void> | undefined;
  const held: Storage = {
    ...storage,
    findVisitor: async (hash) => {
      const found = await storage.findVisitor(hash);
      await hold;
      return found;
    },
  };
  const local = await inProcess({ storage: held });
  try {
    const first = await TestClient.signIn(local.url, { visitor: { name: 'Guest' } });
    const session = first.welcome.session as { user: User; visitorToken: string };
    let release = () => undefined as void;
    hold = new Promise<void>((resolve) => (release = resolve));
    const second = await TestClient.open(local.url);
    second.send({ type: 'hello', v: 1, auth: { visitor: { token: session.visitorToken } } });
    const queued = second.call('setPresence', { show: 'away', status: 'Still here' });
    await sleep(50);
    assert.equal(await local.revokeVisitor(session.user.id), 1);
    release();
    const closed = await Promise.race([second.closed, sleep(2000).then(() => ({ code: 'still open' }))]);
    assert.equal(closed.code, CLOSE.unauthorized, 'the connection that was signing in is closed too');
    assert.notEqual((await queued).type, 'res');
    await sleep(50);
    assert.equal((await storage.getPresence([session.user.id])).get(session.user.id)?.status, undefined, 'the request that waited for its sign-in did not run');
    assert.equal((await first.closed).code, CLOSE.unauthorized);
  } finally {
    await local.close();
    await storage.close();
  }
});

test('a visitor only reaches its own conversations: someone else’s is forbidden, and so are directs, groups, the directory and the feed', async () => {
  const alice = await TestClient.signIn(server.url, await token('alice'));
  await TestClient.signIn(server.url, await token('bob')).then((bob) => bob.close());
  const visitor = await TestClient.signIn(server.url, { visitor: {} });
  clients.push(alice, visitor);
  const direct = await alice.request('openDirect', { userId: 'bob' });
  await alice.request('sendMessage', { conversationId: direct.id, clientId: 'c1', text: 'private', createdAt: Date.now() });
  const forbidden = { code: 'forbidden' };
  await assert.rejects(visitor.request('history', { conversationId: direct.id, limit: 10 }), forbidden);
  await assert.rejects(visitor.request('sendMessage', { conversationId: direct.id, clientId: 'v1', text: 'hi', createdAt: Date.now() }), forbidden);
  await assert.rejects(visitor.request('openDirect', { userId: 'alice' }), forbidden);
  await assert.rejects(visitor.request('createGroup', { title: 'Mine', members: ['alice'] }), forbidden);
  await assert.rejects(visitor.request('directory', {}), forbidden);
  await assert.rejects(visitor.request('feed', { source: { kind: 'home' }, limit: 10 }), forbidden);
  await assert.rejects(visitor.request('profile', { userId: 'alice' }), { code: 'not_found' });
  assert.deepEqual(await visitor.request('conversations', {}), []);
  const visitorId = (visitor.welcome.session as { user: User }).user.id;
  assert.deepEqual(await visitor.request('roster', {}), { contacts: [], presence: [{ userId: visitorId, show: 'online' }] });
  await assert.rejects(alice.request('openDirect', { userId: visitorId }), { code: 'not_found' }, 'visitors cannot be reached until support chat exists');
});

test('visitor tokens are stored only as SHA-256 hashes, and new visitors per address are rate limited', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'perch-auth-'));
  const db = join(dir, 'perch.db');
  const limited = await inProcess({ db, visitorRate: { perSecond: 0.001, burst: 2 } });
  try {
    const visitors = [await TestClient.signIn(limited.url, { visitor: {} }), await TestClient.signIn(limited.url, { visitor: {} })];
    const third = await TestClient.open(limited.url);
    const answer = await third.hello({ visitor: { name: 'one too many' } });
    assert.equal(answer.code, 'rate_limited');
    assert.ok(Number(answer.retryAfter) > 0);
    assert.equal((await third.closed).code, CLOSE.rateLimited);

    const tokens = visitors.map((v) => (v.welcome.session as { visitorToken: string }).visitorToken);
    const reader = new Database(db, { readonly: true });
    const rows = reader.prepare('SELECT token_hash FROM visitor_tokens ORDER BY created_at').pluck().all() as string[];
    const dump = JSON.stringify(reader.prepare('SELECT * FROM visitor_tokens JOIN users ON users.id = visitor_tokens.user_id').all());
    reader.close();
    assert.deepEqual(new Set(rows), new Set(tokens.map((t) => createHash('sha256').update(t).digest('hex'))));
    for (const t of tokens) assert.ok(!dump.includes(t), 'the token itself is stored nowhere');
    for (const v of visitors) v.close();
  } finally {
    await limited.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('control characters in a signed token’s name and claims, or a visitor’s name, are cleaned away: the person still signs in', async () => {
  const ada = await TestClient.signIn(server.url, await token('ada', '\tAda\u0007\nLovelace\u0000', {
    title: 'Engineer\u001b[1m',
    department: 'R&D\u0085',
    location: 'Zürich \ud83d',
    avatar: '/\t/evil.example/ada.png',
  }));
  clients.push(ada);
  const user = (ada.welcome.session as { user: User }).user;
  assert.deepEqual(user, {
    id: 'ada',
    name: 'Ada Lovelace',
    title: 'Engineer [1m',
    department: 'R&D',
    location: 'Zürich \ufffd',
    avatar: '/ /evil.example/ada.png',
  }, 'each run of control characters is one space, trimmed at the ends; half a surrogate pair is U+FFFD');
  assert.equal(new URL(user.avatar as string, 'https://site.example/').host, 'site.example', 'a tab can no longer turn an avatar path into another host');
  const other = await TestClient.signIn(server.url, await token('grace'));
  clients.push(other);
  assert.deepEqual(await other.request('profile', { userId: 'ada' }), user, 'stored as cleaned');

  const nameless = await TestClient.signIn(server.url, await token('hopper', '\u0007\u0008'));
  clients.push(nameless);
  assert.equal((nameless.welcome.session as { user: User }).user.name, 'hopper', 'nothing left of the name: the user id stands in, as without one');

  const visitor = await TestClient.signIn(server.url, { visitor: { name: ' Guest\u0000\r\n', email: 'guest@example.com\r\n' } });
  clients.push(visitor);
  const guest = (visitor.welcome.session as { user: User }).user;
  assert.deepEqual({ name: guest.name, email: guest.email }, { name: 'Guest', email: 'guest@example.com' });
  const long = await TestClient.signIn(server.url, { visitor: { name: `${'x'.repeat(99)}😀`, email: '\u0007' } });
  clients.push(long);
  const cut = (long.welcome.session as { user: User }).user;
  assert.equal(cut.name, 'x'.repeat(99), 'cut to 100 without splitting the emoji in half');
  assert.equal(cut.email, undefined, 'an email of nothing but control characters is none');
  const blank = await TestClient.signIn(server.url, { visitor: { name: '\u001b' } });
  clients.push(blank);
  assert.equal((blank.welcome.session as { user: User }).user.name, 'Visitor');
});

/** A token for `sub` that expires `seconds` from now (JWT `exp` has whole seconds, so a little more). */
const shortToken = (sub: string, seconds: number, name = sub) =>
  new SignJWT({ name }).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setAudience('perch').setIssuer('perch').setExpirationTime(now() + seconds).sign(key);

test('a connection whose token expires is closed with 4004 within a heartbeat (and the clock tolerance), and serves nothing after', { timeout: 10_000 }, async () => {
  const fast = await inProcess({ heartbeatMs: 100, clockToleranceSeconds: 0 });
  try {
    const client = await TestClient.signIn(fast.url, await shortToken('erin', 2));
    const expiresIn = (client.welcome.session as { expiresIn: number }).expiresIn;
    assert.ok(expiresIn > 500 && expiresIn <= 2000, `expiresIn ${expiresIn}`);
    const started = Date.now();
    const closed = await client.closed;
    assert.equal(closed.code, CLOSE.expired);
    assert.match(closed.reason, /expired/);
    assert.ok(Date.now() - started >= expiresIn - 50, 'not before the expiry');
    assert.deepEqual(await client.call('conversations'), { type: 'closed' });
    // The tolerance for clock skew (5 s by default) applies to the expiry too: a token 4 s past its
    // exp is taken, and its connection lasts about a second more.
    const lenientServer = await inProcess({ heartbeatMs: 100 });
    try {
      const lenient = await TestClient.signIn(lenientServer.url, await shortToken('erin', -4));
      assert.equal((lenient.welcome.session as { expiresIn: number }).expiresIn, 0, 'past exp, within the tolerance');
      assert.equal((await lenient.call('conversations')).type, 'res');
      assert.equal((await lenient.closed).code, CLOSE.expired);
    } finally {
      await lenientServer.close();
    }
    // A visitor's sign-in has no expiry: still open after the same wait.
    const visitor = await TestClient.signIn(fast.url, { visitor: { name: 'Guest' } });
    assert.equal((visitor.welcome.session as { expiresIn?: number }).expiresIn, undefined);
    await sleep(400);
    assert.equal((await visitor.call('conversations')).type, 'res');
    visitor.close();
  } finally {
    await fast.close();
  }
});

test('reauth with a fresh token for the same user keeps the connection past the first expiry and updates the profile', { timeout: 10_000 }, async () => {
  const fast = await inProcess({ heartbeatMs: 100, clockToleranceSeconds: 0 });
  try {
    const client = await TestClient.signIn(fast.url, await shortToken('fern', 1, 'Fern'));
    const renewed = await client.call('reauth', { token: await shortToken('fern', 60, 'Fern Gully') });
    assert.equal(renewed.type, 'res');
    const { expiresIn } = renewed.result as { expiresIn: number };
    assert.ok(expiresIn > 59_000 && expiresIn <= 60_000, `expiresIn ${expiresIn}`);
    await sleep(1100); // past the first token's exp, and many heartbeats
    const answer = await client.call('profile', { userId: 'fern' });
    assert.equal(answer.type, 'res');
    assert.equal((answer.result as User).name, 'Fern Gully');
    client.close();
  } finally {
    await fast.close();
  }
});

test('reauth refuses another user’s token (forbidden), a bad one (unauthorized) and a visitor (bad_request); the old expiry still holds', { timeout: 10_000 }, async () => {
  const fast = await inProcess({ heartbeatMs: 100, clockToleranceSeconds: 0 });
  try {
    const client = await TestClient.signIn(fast.url, await shortToken('gwen', 1));
    const other = await client.call('reauth', { token: await shortToken('mallory', 60) });
    assert.equal(other.type, 'error');
    assert.equal(other.code, 'forbidden');
    assert.match(String(other.message), /mallory.*gwen/);
    const expired = await client.call('reauth', { token: await shortToken('gwen', -10) });
    assert.equal(expired.code, 'unauthorized');
    assert.match(String(expired.message), /expired/);
    const forged = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('gwen').setAudience('perch').setIssuer('perch')
      .setExpirationTime(now() + 60).sign(new TextEncoder().encode('another-secret'));
    assert.equal((await client.call('reauth', { token: forged })).code, 'unauthorized');
    assert.equal((await client.call('reauth', { token: '' })).code, 'bad_request');
    // Nothing above moved the expiry.
    assert.equal((await client.closed).code, CLOSE.expired);

    const visitor = await TestClient.signIn(fast.url, { visitor: { name: 'Guest' } });
    const refusedVisitor = await visitor.call('reauth', { token: await shortToken('gwen', 60) });
    assert.equal(refusedVisitor.code, 'bad_request');
    visitor.close();
  } finally {
    await fast.close();
  }
});
