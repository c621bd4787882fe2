/**
 * Abandoned visitors expire: a visitor who belongs to no conversation, has no connection open and
 * has not signed in for longer than the retention is removed with its tokens, in bounded batches,
 * at start and then hourly. The server's clock is injected (`now`), so nothing here waits for time
 * to pass.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test, type TestContext } from 'node:test';
import Database from 'better-sqlite3';
import { CLOSE, type User } from '@perch/protocol';
import { hashVisitorToken } from './auth.js';
import { inProcess, SECRET, sleep, spawnServer, TestClient, token } from './harness.test.util.js';
import { VISITOR_PURGE_BATCH, type RunningServer } from './server.js';
import { migrate, MIGRATIONS } from './storage/migrations.js';
import { SELECT_UNUSED_VISITORS } from './storage/sqlite-users.js';
import { openSqliteStorage } from './storage/sqlite.js';
import type { Storage, VisitorPurge, VisitorPurgeBatch } from './storage/storage.js';

const HOUR = 3_600_000;
const dir = mkdtempSync(join(tmpdir(), 'perch-visitors-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Waits until `check` holds, polling; fails the test with `what` if it does not within 10 s. */
async function until(check: () => boolean | Promise<boolean>, what = 'the condition never held'): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (await check()) return;
    await sleep(10);
  }
  assert.fail(what);
}

interface Setup {
  server: RunningServer;
  storage: Storage;
  file: string;
  /** The server's clock; move it with `clock.at = …`. */
  clock: { at: number };
  logged: string[];
  /** Signs a new visitor in; `stay` keeps the connection open, else it is closed and the server has let it go. */
  visit(name: string, stay?: boolean): Promise<{ id: string; visitorToken: string; client: TestClient }>;
  /** Closes `client` and waits until the server has let it go. */
  leave(client: TestClient): Promise<void>;
  /** Rows the database file holds for this user: [users, visitor_tokens]. */
  rows(id: string): [number, number];
}

/** A server over a SQLite file of the test's, with an injected clock and captured logs. */
async function setup(t: TestContext, name: string, extra: Parameters<typeof inProcess>[0] = {}): Promise<Setup> {
  const file = join(dir, `${name}.db`);
  const storage = openSqliteStorage(file, { log: () => undefined });
  const clock = { at: Date.UTC(2030, 0, 1) };
  const logged: string[] = [];
  const server = await inProcess({ storage, now: () => clock.at, log: (line) => logged.push(line), ...extra });
  // The run at start has nothing to do yet: let it finish before the test moves the clock.
  await server.purgeVisitors();
  const reader = new Database(file, { readonly: true });
  const clients: TestClient[] = [];
  t.after(async () => {
    for (const client of clients) client.close();
    reader.close();
    await server.close();
    await storage.close();
  });
  const leave = async (client: TestClient) => {
    const before = server.connections;
    client.close();
    await until(() => server.connections < before);
  };
  return {
    server,
    storage,
    file,
    clock,
    logged,
    async visit(visitorName, stay = false) {
      const client = await TestClient.signIn(server.url, { visitor: { name: visitorName } });
      clients.push(client);
      const session = client.welcome.session as { user: User; visitorToken: string };
      if (!stay) await leave(client);
      return { id: session.user.id, visitorToken: session.visitorToken, client };
    },
    leave,
    rows: (id) => [
      reader.prepare('SELECT count(*) FROM users WHERE id = ?').pluck().get(id) as number,
      reader.prepare('SELECT count(*) FROM visitor_tokens WHERE user_id = ?').pluck().get(id) as number,
    ],
  };
}

/** Signs in with a visitor token; resolves with the answer to hello and, when refused, the close code. */
async function comeBack(url: string, visitorToken: string): Promise<{ type: string; code?: unknown; message?: unknown; close?: number }> {
  const client = await TestClient.open(url);
  const answer = await client.hello({ visitor: { token: visitorToken } });
  if (answer.type === 'welcome') {
    client.close();
    return { type: 'welcome' };
  }
  return { type: answer.type, code: answer.code, message: answer.message, close: (await client.closed).code };
}

test('a visitor with no conversation unused for longer than the retention is removed with its token, which is then refused like an unknown one', async (t) => {
  const s = await setup(t, 'abandoned');
  const t0 = s.clock.at;
  const gone = await s.visit('Gone');
  s.clock.at = t0 + HOUR;
  const younger = await s.visit('Younger');

  s.clock.at = t0 + 24 * HOUR; // exactly the retention: not longer
  assert.equal(await s.server.purgeVisitors(), 0);
  assert.deepEqual(s.logged, [], 'a run that removed nothing logs nothing');

  s.clock.at = t0 + 24 * HOUR + 1;
  assert.equal(await s.server.purgeVisitors(), 1);
  assert.deepEqual(s.rows(gone.id), [0, 0], 'the visitor and its token are gone');
  assert.deepEqual(s.rows(younger.id), [1, 1], 'a visitor unused for 23 h stays');
  assert.equal(await s.storage.getUser(gone.id), undefined);
  assert.equal(s.logged.length, 1, 'one line for the run');
  assert.match(s.logged[0] as string, /removed 1 abandoned visitor \(no conversation, unused for 24 h\)/);

  const refused = await comeBack(s.server.url, gone.visitorToken);
  const unknown = await comeBack(s.server.url, 'never-issued-token');
  assert.deepEqual(refused, { type: 'error', code: 'unauthorized', message: unknown.message, close: CLOSE.unauthorized });
  assert.equal(unknown.code, 'unauthorized');
  assert.equal((await comeBack(s.server.url, younger.visitorToken)).type, 'welcome', 'the younger visitor still signs in');

  // A new visit starts as usual after a refusal.
  await s.visit('Gone again');
  assert.equal(await s.server.purgeVisitors(), 0);
  assert.equal(s.logged.length, 1);
});

test('a visitor who chatted (a member of a conversation) is kept for good, with its transcript and token', async (t) => {
  const s = await setup(t, 'chatted');
  const t0 = s.clock.at;
  const chatted = await s.visit('Customer');
  const idle = await s.visit('Browser');
  await s.storage.upsertUser({ id: 'agent', name: 'Agent' }, t0);
  const { value: support } = await s.storage.createGroup({ id: 'support-1', title: 'Support', members: ['agent', chatted.id] }, t0);
  await s.storage.appendMessage({ id: 'm1', conversationId: support.id, senderId: chatted.id, clientId: 'k1', text: 'My order is late', createdAt: t0, sentAt: t0 });

  s.clock.at = t0 + 365 * 24 * HOUR;
  assert.equal(await s.server.purgeVisitors(), 1);
  assert.deepEqual(s.rows(idle.id), [0, 0], 'the visitor who never chatted went');
  assert.deepEqual(s.rows(chatted.id), [1, 1], 'the one who chatted stays, token included');
  const back = await TestClient.signIn(s.server.url, { visitor: { token: chatted.visitorToken } });
  const page = await back.request('history', { conversationId: support.id, limit: 10 });
  assert.deepEqual(page.messages.map((m) => [m.senderId, m.text]), [[chatted.id, 'My order is late']]);
  back.close();
});

test('a visitor who signed in again with its token within the retention is kept, and goes once unused for the retention since', async (t) => {
  const s = await setup(t, 'returned');
  const t0 = s.clock.at;
  const returning = await s.visit('Returning');
  const idle = await s.visit('Idle');
  s.clock.at = t0 + 23 * HOUR;
  assert.equal((await comeBack(s.server.url, returning.visitorToken)).type, 'welcome');
  await until(() => s.server.connections === 0);

  s.clock.at = t0 + 24 * HOUR + 1;
  assert.equal(await s.server.purgeVisitors(), 1);
  assert.deepEqual(s.rows(idle.id), [0, 0]);
  assert.deepEqual(s.rows(returning.id), [1, 1], 'its sign-in 1 h ago counts, not its creation 24 h ago');

  s.clock.at = t0 + 23 * HOUR + 24 * HOUR + 1;
  assert.equal(await s.server.purgeVisitors(), 1);
  assert.deepEqual(s.rows(returning.id), [0, 0], 'unused for 24 h since that sign-in');
});

test('a visitor with a connection open is never removed, however old; its visit counts from the last run that found it connected', async (t) => {
  const s = await setup(t, 'connected');
  const t0 = s.clock.at;
  const here = await s.visit('Still here', true);
  const idle = await s.visit('Idle');

  s.clock.at = t0 + 48 * HOUR;
  assert.equal(await s.server.purgeVisitors(), 1);
  assert.deepEqual(s.rows(idle.id), [0, 0]);
  assert.deepEqual(s.rows(here.id), [1, 1], 'the connected visitor stays');
  assert.deepEqual(await here.client.request('conversations', {}), [], 'and its connection goes on');

  await s.leave(here.client);
  s.clock.at = t0 + 48 * HOUR + 24 * HOUR;
  assert.equal(await s.server.purgeVisitors(), 0, 'left now, it has the whole retention to come back');
  assert.equal((await comeBack(s.server.url, here.visitorToken)).type, 'welcome');
});

test('a visitor who leaves after a long visit that no purge saw has the whole retention from when it left', async (t) => {
  const s = await setup(t, 'long-visit');
  const t0 = s.clock.at;
  const long = await s.visit('Long visit', true);
  s.clock.at = t0 + 23 * HOUR; // Under the retention since it signed in: no run looked at it.
  await s.leave(long.client);
  s.clock.at = t0 + 25 * HOUR;
  // (Its close was recorded before the server let the connection go, so before this run.)
  assert.equal(await s.server.purgeVisitors(), 0, 'kept an hour after the retention since signing in ran out');
  assert.deepEqual(s.rows(long.id), [1, 1]);
  s.clock.at = t0 + 23 * HOUR + 24 * HOUR + 1;
  assert.equal(await s.server.purgeVisitors(), 1, 'gone once unused for the retention since it left');
  assert.deepEqual(s.rows(long.id), [0, 0]);
});

test('the purge works in batches of VISITOR_PURGE_BATCH visitors looked at, goes past the ones it keeps, and stops between batches at close', async () => {
  const sqlite = openSqliteStorage(':memory:', { log: () => undefined });
  const calls: Array<{ query: VisitorPurge; result?: VisitorPurgeBatch }> = [];
  let hold: Promise<void> | undefined;
  const storage: Storage = {
    ...sqlite,
    purgeVisitors: async (query) => {
      const call: { query: VisitorPurge; result?: VisitorPurgeBatch } = { query };
      calls.push(call);
      await hold;
      call.result = await sqlite.purgeVisitors(query);
      return call.result;
    },
  };
  const clock = { at: Date.UTC(2030, 0, 1) };
  const server = await inProcess({ storage, now: () => clock.at });
  try {
    await server.purgeVisitors();
    const t0 = clock.at;
    await sqlite.upsertUser({ id: 'agent', name: 'Agent' }, t0);
    const total = 2 * VISITOR_PURGE_BATCH + 3;
    const visitors = Array.from({ length: total }, (_, i) => `visitor-${String(i).padStart(5, '0')}`);
    await Promise.all(visitors.map((id) => sqlite.createVisitor({ id, name: 'V', visitor: true }, hashVisitorToken(id), t0)));
    // The first batch is all visitors who chatted: the purge must go past them, not stop.
    const chatted = visitors.slice(0, VISITOR_PURGE_BATCH);
    for (let i = 0; i < chatted.length; i += 50) {
      await sqlite.createGroup({ id: `g${i}`, title: 'Support', members: ['agent', ...chatted.slice(i, i + 50)] }, t0);
    }

    clock.at = t0 + 25 * HOUR;
    calls.length = 0;
    assert.equal(await server.purgeVisitors(), total - chatted.length);
    assert.equal(calls.length, 3, `${total} visitors in batches of ${VISITOR_PURGE_BATCH}`);
    for (const { query, result } of calls) {
      assert.equal(query.limit, VISITOR_PURGE_BATCH);
      assert.ok(result !== undefined && result.examined <= VISITOR_PURGE_BATCH, 'no batch looks at more than its limit');
    }
    assert.deepEqual(calls.map((c) => c.result?.deleted), [0, VISITOR_PURGE_BATCH, 3]);
    assert.equal((await sqlite.getUser(chatted[0] as string))?.visitor, true);
    assert.equal(await sqlite.getUser(visitors.at(-1) as string), undefined);

    // At close, a run in progress stops after its batch, and the close waits for that batch.
    // Older than the visitors who chatted, so that the first batch removes some.
    await Promise.all(visitors.slice(chatted.length).map((id) => sqlite.createVisitor({ id, name: 'V', visitor: true }, hashVisitorToken(id), t0 - 1)));
    let release = () => undefined as void;
    hold = new Promise<void>((resolve) => (release = resolve));
    calls.length = 0;
    const run = server.purgeVisitors();
    await until(() => calls.length === 1);
    const closed = server.close();
    release();
    await closed;
    assert.equal(await run, VISITOR_PURGE_BATCH, 'the batch in progress finished');
    assert.equal(calls.length, 1, 'and no other batch started');
  } finally {
    await server.close();
    await sqlite.close();
  }
});

test('migration 4 keeps the visitors of an existing database and gives them a last use: created or last seen, whichever is later', async () => {
  const file = join(dir, 'v3.db');
  const v3 = new Database(file);
  v3.pragma('journal_mode = WAL');
  migrate(v3, MIGRATIONS.slice(0, 3));
  v3.exec(`
    INSERT INTO users (id, name, visitor, last_seen, created_at, updated_at) VALUES
      ('alice', 'Alice', 0, 500, 1, 1),
      ('seen', 'Seen', 1, 5000, 1000, 1000),
      ('never-left', 'Never left', 1, NULL, 9000, 9000),
      ('customer', 'Customer', 1, 2000, 1000, 1000);
    INSERT INTO visitor_tokens (token_hash, user_id, created_at) VALUES
      ('${hashVisitorToken('seen-token')}', 'seen', 1000),
      ('${hashVisitorToken('never-left-token')}', 'never-left', 9000),
      ('${hashVisitorToken('customer-token')}', 'customer', 1000);
    INSERT INTO conversations (id, kind, title, created_at) VALUES ('support', 'group', 'Support', 1000);
    INSERT INTO members (conversation_id, user_id, position) VALUES ('support', 'alice', 0), ('support', 'customer', 1);`);
  v3.close();

  const storage = openSqliteStorage(file, { log: () => undefined });
  for (const id of ['seen', 'never-left', 'customer']) {
    assert.equal((await storage.findVisitor(hashVisitorToken(`${id}-token`)))?.id, id, `${id} still signs in`);
  }
  const reader = new Database(file, { readonly: true });
  assert.equal(reader.pragma('user_version', { simple: true }), MIGRATIONS.length);
  assert.deepEqual(reader.prepare('SELECT id, last_used FROM users ORDER BY id').all(), [
    { id: 'alice', last_used: null },
    { id: 'customer', last_used: 2000 },
    { id: 'never-left', last_used: 9000 },
    { id: 'seen', last_used: 5000 },
  ], 'visitors get their last activity, users of the site none');

  const purge = (usedBefore: number) => storage.purgeVisitors({ usedBefore, keep: [], now: 20_000, limit: 10 });
  assert.deepEqual(await purge(5000), { examined: 1, deleted: 0 }, 'the customer is looked at and kept');
  assert.deepEqual(await purge(6000), { examined: 2, deleted: 1 });
  assert.equal(await storage.findVisitor(hashVisitorToken('seen-token')), undefined);
  assert.deepEqual(await purge(1e15), { examined: 2, deleted: 1 });
  assert.deepEqual(reader.prepare('SELECT id FROM users ORDER BY id').pluck().all(), ['alice', 'customer'], 'the site user and the customer stay');
  const plan = reader.prepare(`EXPLAIN QUERY PLAN ${SELECT_UNUSED_VISITORS}`).all(1, 0, '', 5) as Array<{ detail: string }>;
  assert.equal(plan.length, 1, 'no sort step');
  assert.match(plan[0]?.detail ?? '', /^SEARCH users USING (COVERING )?INDEX users_visitors_by_use \(\(last_used,id\)>\(\?,\?\) AND last_used<\?\)$/, 'a batch reads only the visitors it looks at, from the cursor on');
  reader.close();
  await storage.close();
});

test('a visitor found by a sign-in but purged before its use was recorded is refused, not welcomed as a ghost', async () => {
  // The purge comes between the token lookup and touchVisitor: the sign-in must see it.
  const sqlite = openSqliteStorage(':memory:', { log: () => undefined });
  let purgeFirst = false;
  const storage: Storage = {
    ...sqlite,
    touchVisitor: async (userId, now) => {
      if (purgeFirst) await sqlite.purgeVisitors({ usedBefore: now, keep: [], now, limit: 10 });
      return sqlite.touchVisitor(userId, now);
    },
  };
  const clock = { at: Date.UTC(2030, 0, 1) };
  const server = await inProcess({ storage, now: () => clock.at });
  try {
    const first = await TestClient.signIn(server.url, { visitor: { name: 'Guest' } });
    const { visitorToken, user } = first.welcome.session as { user: User; visitorToken: string };
    first.close();
    await until(() => server.connections === 0);
    clock.at += 25 * HOUR;
    purgeFirst = true;
    const answer = await comeBack(server.url, visitorToken);
    assert.deepEqual([answer.code, answer.close], ['unauthorized', CLOSE.unauthorized]);
    assert.match(String(answer.message), /unknown or was revoked/);
    assert.equal(await sqlite.getUser(user.id), undefined);
  } finally {
    await server.close();
    await sqlite.close();
  }
});

test('perch-server purges at start, documents --visitor-retention-hours, refuses a bad one, and stops cleanly on SIGTERM', async () => {
  const file = join(dir, 'cli.db');
  const seeded = openSqliteStorage(file, { log: () => undefined });
  const longAgo = Date.now() - 30 * HOUR;
  for (const id of ['visitor-a', 'visitor-b']) await seeded.createVisitor({ id, name: 'Old', visitor: true }, hashVisitorToken(id), longAgo);
  await seeded.createVisitor({ id: 'visitor-recent', name: 'Recent', visitor: true }, hashVisitorToken('visitor-recent'), Date.now() - HOUR);
  await seeded.close();

  const child = await spawnServer(['--port', '0', '--db', file, '--secret', SECRET, '--visitor-retention-hours', '12']);
  await until(() => child.output().includes('abandoned'), `no purge at start:\n${child.output()}`);
  assert.match(child.output(), /removed 2 abandoned visitors \(no conversation, unused for 12 h\)/);
  const alice = await TestClient.signIn(child.url, await token('alice'));
  child.child.kill('SIGTERM');
  assert.equal((await alice.closed).code, CLOSE.goingAway);
  assert.deepEqual(await child.exited, { code: 0, signal: null }, child.output());

  const reader = new Database(file, { readonly: true });
  assert.deepEqual(reader.prepare('SELECT id FROM users WHERE visitor = 1').pluck().all(), ['visitor-recent']);
  reader.close();

  /** What perch-server printed when it exited without listening. */
  const exitOf = (args: string[]) =>
    spawnServer(args).then(
      async (started) => {
        await started.stop();
        return assert.fail(`perch-server ${args.join(' ')} started`);
      },
      (error: Error) => error.message,
    );
  const help = await exitOf(['--help']);
  assert.match(help, /--visitor-retention-hours N[\s\S]*default 24/);
  const bad = await exitOf(['--port', '0', '--db', ':memory:', '--secret', SECRET, '--visitor-retention-hours', '0']);
  assert.match(bad, /exited with 1[\s\S]*visitorRetentionHours must be a positive number; got 0/);
  const notNumber = await exitOf(['--port', '0', '--db', ':memory:', '--secret', SECRET, '--visitor-retention-hours', 'a day']);
  assert.match(notNumber, /exited with 2[\s\S]*--visitor-retention-hours must be a non-negative number/);
});
