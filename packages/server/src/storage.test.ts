import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import Database from 'better-sqlite3';
import { timeOrderedId } from '@perch/protocol';
import { DEMO_PEOPLE, seedDemo } from './demo.js';
import { migrate, MIGRATIONS } from './storage/migrations.js';
import { openSqliteStorage } from './storage/sqlite.js';
import { openStorageThread } from './storage/storage-thread.js';
import { WriteBatch } from './storage/write-batch.js';

const dir = mkdtempSync(join(tmpdir(), 'perch-storage-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('a new database gets every migration recorded in user_version, WAL and foreign keys; reopening keeps the data', async () => {
  const file = join(dir, 'fresh.db');
  const storage = openSqliteStorage(file);
  await storage.upsertUser({ id: 'alice', name: 'Alice' }, 1);
  await storage.close();
  const reader = new Database(file, { readonly: true });
  assert.equal(reader.pragma('user_version', { simple: true }), MIGRATIONS.length);
  assert.equal(reader.pragma('journal_mode', { simple: true }), 'wal');
  reader.close();

  const reopened = openSqliteStorage(file);
  assert.deepEqual(await reopened.getUser('alice'), { id: 'alice', name: 'Alice' });
  await assert.rejects(reopened.putContact('alice', 'ghost', [], 1), /FOREIGN KEY/, 'foreign keys are enforced');
  await reopened.close();
});

test('migrations run in order, each once, and a database from a newer server is refused with a clear message', () => {
  const db = new Database(':memory:');
  const steps = [
    { name: 'one', sql: 'CREATE TABLE t (a INTEGER);' },
    { name: 'two', sql: 'ALTER TABLE t ADD COLUMN b TEXT;' },
  ];
  assert.equal(migrate(db, steps), 2);
  assert.equal(migrate(db, steps), 2, 'a second run changes nothing');
  migrate(db, [...steps, { name: 'three', sql: "INSERT INTO t (a, b) VALUES (1, 'x');" }]);
  assert.equal(db.pragma('user_version', { simple: true }), 3);
  assert.deepEqual(db.prepare('SELECT a, b FROM t').all(), [{ a: 1, b: 'x' }]);
  db.close();

  const file = join(dir, 'future.db');
  const future = new Database(file);
  future.pragma(`user_version = ${MIGRATIONS.length + 5}`);
  future.close();
  assert.throws(() => openSqliteStorage(file), /schema version .* upgrade perch-server/);
});

test('the demo company is seeded into an empty database only, so restarts keep what people did', async () => {
  const storage = openSqliteStorage(join(dir, 'demo.db'));
  assert.equal(await seedDemo(storage), true);
  const people = await storage.listDirectory();
  assert.equal(people.length, DEMO_PEOPLE.length);
  assert.ok(new Set(people.map((p) => p.department)).size >= 4, 'several departments');
  assert.ok(people.every((p) => p.title && p.phone && p.email && p.location && p.timeZone));
  // Photos are served with the examples: a path on the page's own site, never another scheme.
  assert.ok(people.every((p) => p.avatar === undefined || /^\/avatars\/[a-z]+\.svg$/.test(p.avatar)));
  const alice = await storage.listConversations('alice');
  assert.ok(alice.length >= 2 && alice.every((c) => c.lastSeq > 0), 'conversations with messages');
  const contacts = await storage.listContacts('alice');
  assert.equal(contacts.length, DEMO_PEOPLE.length - 1, 'everyone is a contact of everyone');
  assert.ok(contacts.every((c) => c.groups[0] === c.user.department), 'grouped by department');
  const posts = await storage.feed({ kind: 'home', viewerId: 'bob' }, 'bob', { limit: 50 });
  assert.ok(posts !== undefined && posts.posts.length >= 3);

  assert.equal(await seedDemo(storage), false, 'a second start does not seed again');
  assert.equal((await storage.listDirectory()).length, DEMO_PEOPLE.length);
  assert.equal((await storage.listConversations('alice')).length, alice.length);
  await storage.close();
});

test('a group commit keeps the writes around a failing one: only the failing write fails, and none of it is kept', async () => {
  const db = new Database(':memory:');
  db.exec('CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER NOT NULL)');
  const batch = new WriteBatch(db);
  const insert = db.prepare('INSERT INTO t (k, v) VALUES (?, ?)');
  const writes = [
    batch.run(() => insert.run('a', 1).changes),
    // Writes one row, then fails: the row must not survive.
    batch.run(() => {
      insert.run('half', 2);
      return insert.run('a', 3).changes; // Duplicate key.
    }),
    batch.run(() => insert.run('b', 4).changes),
  ];
  const [first, failed, last] = await Promise.allSettled(writes);
  assert.deepEqual(first, { status: 'fulfilled', value: 1 });
  assert.equal(failed?.status, 'rejected');
  assert.match(String((failed as PromiseRejectedResult).reason), /UNIQUE/);
  assert.deepEqual(last, { status: 'fulfilled', value: 1 });
  assert.deepEqual(db.prepare('SELECT k, v FROM t ORDER BY k').all(), [{ k: 'a', v: 1 }, { k: 'b', v: 4 }]);
  db.close();
});

test('messages get UUIDv7 ids through the service, seqs in send order, and a retried clientId answers the original', async () => {
  const storage = openSqliteStorage(':memory:');
  for (const id of ['ann', 'ben']) await storage.upsertUser({ id, name: id }, 1);
  const { value: direct } = await storage.openDirect('ann', 'ben', 'c1', 1);
  const message = (clientId: string, id: string) => ({ id, conversationId: direct.id, senderId: 'ann', clientId, text: clientId, createdAt: 1, sentAt: 2 });
  // Three appends in one group commit, the third a retry of the first.
  const [one, two, again] = await Promise.all([
    storage.appendMessage(message('m1', 'id-1')),
    storage.appendMessage(message('m2', 'id-2')),
    storage.appendMessage(message('m1', 'id-3')),
  ]);
  assert.deepEqual([one.value.seq, two.value.seq], [1, 2]);
  assert.equal(again.fresh, false);
  assert.deepEqual(again.value, one.value);
  const conversation = await storage.getConversation(direct.id);
  assert.equal(conversation?.lastSeq, 2);
  assert.equal(conversation?.lastActivity, 2);
  assert.deepEqual(conversation?.members.find((m) => m.userId === 'ann'), { userId: 'ann', name: 'ann', readSeq: 2, deliveredSeq: 2 });
  await assert.rejects(storage.appendMessage({ ...message('m9', 'id-9'), conversationId: 'nope' }), /does not exist/);
  await storage.close();
  assert.match(timeOrderedId(), /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  const [earlier, later] = [timeOrderedId(1_000_000), timeOrderedId(2_000_000)];
  assert.ok(earlier < later, 'later ids sort after earlier ones');
  assert.notEqual(timeOrderedId(5), timeOrderedId(5), 'random within a millisecond');
});

test('the storage thread answers like the storage itself: calls in order, a failing call fails alone, close commits what was asked', async () => {
  const file = join(dir, 'thread.db');
  const storage = await openStorageThread(file);
  await storage.upsertUser({ id: 'alice', name: 'Alice' }, 1);
  await storage.upsertUser({ id: 'bob', name: 'Bob' }, 1);
  const { value: direct } = await storage.openDirect('alice', 'bob', 'c1', 1);
  const message = (i: number) => ({ id: timeOrderedId(), conversationId: direct.id, senderId: 'alice', clientId: `k${i}`, text: `m${i}`, createdAt: i, sentAt: i });
  // Made in one turn: they cross together, keep their order and share one group commit, where
  // the failing one fails alone; a read made in that same turn runs before the commit, as in one thread.
  const sends = [1, 2, 3].map((i) => storage.appendMessage(message(i)));
  const orphan = storage.appendMessage({ ...message(4), conversationId: 'nowhere' });
  const early = storage.history(direct.id, { after: 0, limit: 10 });
  assert.deepEqual((await Promise.all(sends)).map((m) => m.value.seq), [1, 2, 3]);
  await assert.rejects(orphan, (error: Error) => error instanceof Error && /Conversation nowhere does not exist/.test(error.message));
  assert.deepEqual((await early).messages, []);
  assert.deepEqual((await storage.history(direct.id, { after: 0, limit: 10 })).messages.map((m) => m.text), ['m1', 'm2', 'm3']);
  assert.deepEqual(await storage.getPresence(['alice']), new Map([['alice', { show: 'online' }]]), 'Maps (and Sets) cross the thread as they are');
  // Asked for, not awaited, then closed: still committed.
  const last = storage.appendMessage(message(5));
  await storage.close();
  assert.equal((await last).value.seq, 4);
  await assert.rejects(storage.getUser('alice'), /closed/, 'a closed storage refuses calls');

  const reopened = openSqliteStorage(file);
  assert.deepEqual((await reopened.history(direct.id, { after: 0, limit: 10 })).messages.map((m) => m.text), ['m1', 'm2', 'm3', 'm5']);
  await reopened.close();

  const future = new Database(join(dir, 'future-thread.db'));
  future.pragma(`user_version = ${MIGRATIONS.length + 5}`);
  future.close();
  await assert.rejects(openStorageThread(join(dir, 'future-thread.db')), /schema version .* upgrade perch-server/);
});

test('migration 2 keeps every message of a version-1 database, and retries are still recognised', async () => {
  const file = join(dir, 'v1.db');
  const v1 = new Database(file);
  v1.pragma('journal_mode = WAL');
  migrate(v1, MIGRATIONS.slice(0, 1));
  v1.exec(`
    INSERT INTO users (id, name, created_at, updated_at) VALUES ('alice', 'Alice', 1, 1), ('bob', 'Bob', 1, 1);
    INSERT INTO conversations (id, kind, direct_key, last_seq, created_at) VALUES ('c1', 'direct', 'alice|bob', 2, 1);
    INSERT INTO members (conversation_id, user_id, position) VALUES ('c1', 'alice', 0), ('c1', 'bob', 1);
    INSERT INTO messages (conversation_id, seq, id, sender_id, client_id, text, created_at, sent_at, edited_at, deleted)
      VALUES ('c1', 1, 'm1', 'alice', 'k1', 'first', 1, 1, NULL, 0), ('c1', 2, 'm2', 'bob', 'k1', '', 2, 2, 3, 1);`);
  v1.close();

  const storage = openSqliteStorage(file);
  const { messages } = await storage.history('c1', { after: 0, limit: 10 });
  assert.deepEqual(messages.map((m) => [m.seq, m.id, m.senderId, m.clientId, m.text, m.deleted ?? false]), [
    [1, 'm1', 'alice', 'k1', 'first', false],
    [2, 'm2', 'bob', 'k1', '', true],
  ]);
  const retry = await storage.appendMessage({ id: timeOrderedId(), conversationId: 'c1', senderId: 'alice', clientId: 'k1', text: 'again', createdAt: 5, sentAt: 5 });
  assert.deepEqual([retry.fresh, retry.value.id], [false, 'm1'], 'a retry after the migration answers the original');
  const next = await storage.appendMessage({ id: timeOrderedId(), conversationId: 'c1', senderId: 'alice', clientId: 'k2', text: 'new', createdAt: 6, sentAt: 6 });
  assert.deepEqual([next.fresh, next.value.seq], [true, 3]);
  await storage.close();
});

test('a group made with a clientId is made once per (creator, clientId): in one group commit, after reopening the file, and after migration 3', async () => {
  const file = join(dir, 'groups.db');
  const v2 = new Database(file);
  v2.pragma('journal_mode = WAL');
  migrate(v2, MIGRATIONS.slice(0, 2));
  v2.exec(`
    INSERT INTO users (id, name, created_at, updated_at) VALUES ('ann', 'Ann', 1, 1), ('ben', 'Ben', 1, 1);
    INSERT INTO conversations (id, kind, title, created_at) VALUES ('old', 'group', 'Old', 1);
    INSERT INTO members (conversation_id, user_id, position) VALUES ('old', 'ben', 0), ('old', 'ann', 1);`);
  v2.close();

  let storage = openSqliteStorage(file);
  const group = (id: string, members: string[], clientId?: string) => ({ id, title: `Group ${id}`, members, clientId });
  // Three creations in one group commit, the second a retry of the first.
  const [one, again, other] = await Promise.all([
    storage.createGroup(group('g1', ['ann', 'ben'], 'k1'), 2),
    storage.createGroup(group('g2', ['ann', 'ben'], 'k1'), 3),
    storage.createGroup(group('g3', ['ben', 'ann'], 'k1'), 4),
  ]);
  assert.deepEqual([one.fresh, again.fresh, other.fresh], [true, false, true]);
  assert.deepEqual(again.value, one.value, 'the retry answers the original');
  assert.equal(other.value.id, 'g3', "another creator's clientId is theirs");
  assert.equal(await storage.getConversation('g2'), undefined, 'the retry made nothing');
  const keyless = await Promise.all([storage.createGroup(group('g4', ['ann']), 5), storage.createGroup(group('g5', ['ann']), 5)]);
  assert.deepEqual(keyless.map((g) => [g.fresh, g.value.id]), [[true, 'g4'], [true, 'g5']], 'without a clientId every call makes a group');
  await storage.close();

  storage = openSqliteStorage(file);
  const afterRestart = await storage.createGroup(group('g6', ['ann', 'ben'], 'k1'), 6);
  assert.deepEqual([afterRestart.fresh, afterRestart.value], [false, one.value], 'still recognised after reopening');
  assert.deepEqual((await storage.listConversations('ann')).map((c) => c.id).sort(), ['g1', 'g3', 'g4', 'g5', 'old']);
  await storage.close();

  const reader = new Database(file, { readonly: true });
  assert.deepEqual(reader.prepare("SELECT id, created_by, client_id FROM conversations WHERE id IN ('old', 'g1', 'g4') ORDER BY id").all(), [
    { id: 'g1', created_by: 'ann', client_id: 'k1' },
    { id: 'g4', created_by: 'ann', client_id: null },
    { id: 'old', created_by: 'ben', client_id: null },
  ], 'migration 3 gave the older group its creator, its first member');
  const plan = reader.prepare("EXPLAIN QUERY PLAN SELECT id FROM conversations WHERE client_id = 'k1' AND created_by = 'ann'").all() as Array<{ detail: string }>;
  assert.match(plan.map((p) => p.detail).join('; '), /conversations_dedupe/, 'the retry lookup uses the index');
  reader.close();
});
