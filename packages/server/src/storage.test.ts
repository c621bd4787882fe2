import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import Database from 'better-sqlite3';
import { DEMO_PEOPLE, seedDemo } from './demo.js';
import { migrate, MIGRATIONS } from './storage/migrations.js';
import { openSqliteStorage } from './storage/sqlite.js';

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
