// Message seqs come from memory and a batch's last_seq and own-marker updates are written once, at
// its end (storage/sqlite-chat.ts, storage/write-batch.ts). These tests hold that to what the
// database did before: no gap, no reused seq, no lost update, whatever fails and whoever else writes.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test, type TestContext } from 'node:test';
import Database from 'better-sqlite3';
import { timeOrderedId } from '@perch/protocol';
import type { Id } from '@perch/protocol';
import { migrate } from './storage/migrations.js';
import { sqliteChat } from './storage/sqlite-chat.js';
import { openSqliteStorage } from './storage/sqlite.js';
import type { NewMessage, Storage } from './storage/storage.js';
import { WriteBatch, type DeferredUpdate } from './storage/write-batch.js';

const dir = mkdtempSync(join(tmpdir(), 'perch-storage-seq-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let clock = 0;
/** A new message; `sentAt` grows with every call, so last_activity tells which one was last. */
function message(conversationId: Id, senderId: Id, text = `m${clock + 1}`): NewMessage {
  clock += 1;
  return { id: timeOrderedId(), conversationId, senderId, clientId: timeOrderedId(), text, createdAt: clock, sentAt: clock };
}

/** Opens `file`, to be closed when the test ends, passed or not. */
function open(t: TestContext, file: string): Storage {
  const storage = openSqliteStorage(file);
  t.after(() => storage.close());
  return storage;
}

/** A file database with ann, ben, cat and dan, and the directs c1 (ann, ben) and c2 (ann, cat). */
async function chatFile(t: TestContext, name: string): Promise<{ file: string; storage: Storage }> {
  const file = join(dir, name);
  const storage = open(t, file);
  for (const id of ['ann', 'ben', 'cat', 'dan']) await storage.upsertUser({ id, name: id }, 1);
  await storage.openDirect('ann', 'ben', 'c1', 1);
  await storage.openDirect('ann', 'cat', 'c2', 1);
  return { file, storage };
}

async function seqsOf(storage: Storage, conversationId: Id): Promise<(number | undefined)[]> {
  return (await storage.history(conversationId, { after: 0, limit: 1000 })).messages.map((m) => m.seq);
}

/** Seqs 1..n. */
const upTo = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

async function markers(storage: Storage, conversationId: Id): Promise<Record<Id, [number, number]>> {
  const record = await storage.getConversation(conversationId);
  return Object.fromEntries((record?.members ?? []).map((m) => [m.userId, [m.readSeq, m.deliveredSeq]]));
}

test('a deferred update keeps the last value per key, is applied once before the commit, and forgets what rolled back', async (t) => {
  const db = new Database(':memory:');
  t.after(() => db.close());
  db.pragma('foreign_keys = ON');
  db.exec(`
    CREATE TABLE totals (k TEXT PRIMARY KEY, v INTEGER NOT NULL);
    CREATE TABLE parent (id TEXT PRIMARY KEY);
    CREATE TABLE child (parent_id TEXT REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED);`);
  const upsert = db.prepare('INSERT INTO totals (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v');
  const applied: [string, number][] = [];
  const committed: [string, number][] = [];
  const total: DeferredUpdate<number> = {
    apply: (value, key) => {
      applied.push([key, value]);
      upsert.run(key, value);
    },
    committed: (value, key) => committed.push([key, value]),
  };
  const batch = new WriteBatch(db);
  assert.throws(() => batch.defer(total, 'a', 1), /outside a write/);
  assert.equal(batch.deferred(total, 'a'), undefined);

  const writes = [
    batch.run(() => {
      batch.defer(total, 'a', 1);
      return batch.deferred(total, 'a');
    }),
    batch.run(() => {
      batch.defer(total, 'a', (batch.deferred(total, 'a') ?? 0) + 1);
      batch.defer(total, 'b', 1);
      return batch.deferred(total, 'a');
    }),
    // Defers, then fails: its savepoint rolls back, and what it deferred with it.
    batch.run(() => {
      batch.defer(total, 'a', 100);
      batch.defer(total, 'c', 100);
      throw new Error('this write fails');
    }),
    batch.run(() => [batch.deferred(total, 'a'), batch.deferred(total, 'c')]),
  ];
  const [one, two, failed, seen] = await Promise.allSettled(writes);
  assert.deepEqual([one, two], [{ status: 'fulfilled', value: 1 }, { status: 'fulfilled', value: 2 }]);
  assert.equal(failed?.status, 'rejected');
  assert.deepEqual(seen, { status: 'fulfilled', value: [2, undefined] }, 'the rerun does not see what the failed pass or write deferred');
  assert.deepEqual(applied, [['a', 2], ['b', 1]], 'applied once per key, in the pass that committed');
  assert.deepEqual(committed, [['a', 2], ['b', 1]]);
  assert.deepEqual(db.prepare('SELECT k, v FROM totals ORDER BY k').all(), [{ k: 'a', v: 2 }, { k: 'b', v: 1 }]);

  // A commit that fails (here a deferred foreign key) keeps nothing, in the database or in memory.
  applied.length = 0;
  committed.length = 0;
  const doomed = batch.run(() => {
    batch.defer(total, 'a', 50);
    db.prepare("INSERT INTO child (parent_id) VALUES ('nobody')").run();
  });
  await assert.rejects(doomed, /FOREIGN KEY/);
  assert.deepEqual(applied, [['a', 50]]);
  assert.deepEqual(committed, [], 'no commit, no committed hook');
  assert.equal(await batch.run(() => batch.deferred(total, 'a')), undefined, 'nothing deferred survives into the next batch');
  assert.deepEqual(db.prepare('SELECT k, v FROM totals ORDER BY k').all(), [{ k: 'a', v: 2 }, { k: 'b', v: 1 }]);
});

test('seqs stay gapless across many group commits and conversations, failing writes included, and last_seq, last_activity and own markers follow', async (t) => {
  const { storage } = await chatFile(t, 'continuity.db');
  await storage.openDirect('ann', 'dan', 'c3', 1);
  await storage.openDirect('ben', 'cat', 'c4', 1);
  await storage.openDirect('cat', 'dan', 'c5', 1);
  const pairs: Record<Id, [Id, Id]> = { c1: ['ann', 'ben'], c2: ['ann', 'cat'], c3: ['ann', 'dan'], c4: ['ben', 'cat'], c5: ['cat', 'dan'] };
  const ids = Object.keys(pairs);
  const count = new Map<Id, number>();
  const lastAt = new Map<Id, number>();
  const lastOwn = new Map<string, number>();
  for (let round = 0; round < 30; round++) {
    const inputs: NewMessage[] = [];
    for (let j = 0; j < (round % 7) * 3 + 1; j++) {
      const conversationId = ids[(round * 7 + j * 3) % ids.length] as Id;
      inputs.push(message(conversationId, (pairs[conversationId] as [Id, Id])[(round + j) % 2] as Id));
    }
    // Every fourth commit has a write that fails in the middle, so its batch runs twice.
    const failAt = round % 4 === 0 ? Math.floor(inputs.length / 2) : -1;
    const sends = inputs.map((input) => storage.appendMessage(input));
    if (failAt >= 0) sends.splice(failAt, 0, storage.appendMessage(message('nowhere', 'ann')));
    const results = await Promise.allSettled(sends);
    if (failAt >= 0) assert.equal(results.splice(failAt, 1)[0]?.status, 'rejected');
    results.forEach((result, i) => {
      const input = inputs[i] as NewMessage;
      const seq = (count.get(input.conversationId) ?? 0) + 1;
      count.set(input.conversationId, seq);
      lastAt.set(input.conversationId, input.sentAt);
      lastOwn.set(`${input.conversationId}|${input.senderId}`, seq);
      assert.deepEqual(result.status === 'fulfilled' && [result.value.fresh, result.value.value.seq], [true, seq], `round ${round}, send ${i}`);
    });
  }
  for (const id of ids) {
    const n = count.get(id) ?? 0;
    assert.ok(n > 10);
    assert.deepEqual(await seqsOf(storage, id), upTo(n), `${id} has every seq once`);
    const record = await storage.getConversation(id);
    assert.deepEqual([record?.lastSeq, record?.lastActivity], [n, lastAt.get(id)], `${id}: last_seq and last_activity of its newest message`);
    for (const member of record?.members ?? []) {
      const own = lastOwn.get(`${id}|${member.userId}`) ?? 0;
      assert.deepEqual([member.readSeq, member.deliveredSeq], [own, own], `${id}: ${member.userId}'s markers at their own newest message`);
    }
  }
});

test('two messages to one conversation in one group commit get consecutive seqs, and last_seq and the markers end at the newer', async (t) => {
  const { storage } = await chatFile(t, 'same-batch.db');
  await storage.appendMessage(message('c1', 'ben'));
  const [first, second, third] = await Promise.all([
    storage.appendMessage(message('c1', 'ann')),
    storage.appendMessage(message('c1', 'ann')),
    storage.appendMessage(message('c1', 'ben')),
  ]);
  assert.deepEqual([first.value.seq, second.value.seq, third.value.seq], [2, 3, 4]);
  const record = await storage.getConversation('c1');
  assert.deepEqual([record?.lastSeq, record?.lastActivity], [4, third.value.sentAt]);
  assert.deepEqual(await markers(storage, 'c1'), { ann: [3, 3], ben: [4, 4] });
});

test('a write failing in a group commit leaves no gap and no reused seq: not for the others, not for the next commit', async (t) => {
  const { storage } = await chatFile(t, 'failing.db');
  assert.equal((await storage.appendMessage(message('c1', 'ann'))).value.seq, 1); // Now remembered.
  const results = await Promise.allSettled([
    storage.appendMessage(message('c1', 'ann')),
    storage.appendMessage(message('c2', 'cat')),
    storage.appendMessage(message('nowhere', 'ann')),
    storage.appendMessage(message('c1', 'ben')),
    storage.appendMessage(message('c1', 'ghost')), // No such user: its insert fails on a remembered seq.
    storage.appendMessage(message('c1', 'ann')),
  ]);
  assert.deepEqual(
    results.map((r) => (r.status === 'fulfilled' ? r.value.value.seq : String(r.reason))),
    [2, 1, 'Error: Conversation nowhere does not exist.', 3, 'SqliteError: FOREIGN KEY constraint failed', 4],
  );
  const [c1, c2] = await Promise.all([storage.appendMessage(message('c1', 'ann')), storage.appendMessage(message('c2', 'ann'))]);
  assert.deepEqual([c1.value.seq, c2.value.seq], [5, 2], 'the rerun left the remembered seqs right');
  assert.deepEqual(await seqsOf(storage, 'c1'), upTo(5));
  assert.equal((await storage.getConversation('c1'))?.lastSeq, 5);
  assert.deepEqual(await markers(storage, 'c1'), { ann: [5, 5], ben: [3, 3] });
});

test('a group commit whose COMMIT fails keeps none of its seqs, in the file or in memory', async (t) => {
  const { file, storage } = await chatFile(t, 'commit-fails.db');
  await storage.appendMessage(message('c1', 'ann'));
  // Another connection adds a trap: this text makes the transaction break a deferred foreign key,
  // which SQLite reports at COMMIT.
  const other = new Database(file);
  other.exec(`
    CREATE TABLE trap (conversation_id TEXT REFERENCES conversations (id) DEFERRABLE INITIALLY DEFERRED);
    CREATE TRIGGER trap AFTER INSERT ON messages WHEN NEW.text = 'fail the commit'
      BEGIN INSERT INTO trap VALUES ('no such conversation'); END;`);
  other.close();
  const doomed = await Promise.allSettled([storage.appendMessage(message('c1', 'ann')), storage.appendMessage(message('c1', 'ben', 'fail the commit'))]);
  assert.deepEqual(doomed.map((r) => r.status), ['rejected', 'rejected']);
  assert.equal((await storage.appendMessage(message('c1', 'ben'))).value.seq, 2);
  assert.deepEqual(await seqsOf(storage, 'c1'), [1, 2]);
  assert.deepEqual(await markers(storage, 'c1'), { ann: [1, 1], ben: [2, 2] });
});

test('a marker moved, or a direct opened, in the group commit of the message it refers to sees that message', async (t) => {
  const { storage } = await chatFile(t, 'markers.db');
  const [sent, benReads, annReads, benDelivered, direct] = await Promise.all([
    storage.appendMessage(message('c1', 'ann')),
    storage.advanceMarker('c1', 'ben', 'read', 5), // Clamped to the message just sent.
    storage.advanceMarker('c1', 'ann', 'read', 1), // Her own message moved her markers already.
    storage.advanceMarker('c1', 'ben', 'delivered', 1),
    storage.openDirect('ben', 'ann', 'unused', 2),
  ]);
  assert.equal(sent.value.seq, 1);
  assert.deepEqual(benReads, { delivered: 1, read: 1 });
  assert.deepEqual(annReads, {});
  assert.deepEqual(benDelivered, {});
  assert.equal(direct.fresh, false);
  assert.deepEqual([direct.value.lastSeq, direct.value.lastActivity], [1, sent.value.sentAt]);
  assert.deepEqual(
    direct.value.members.map((m) => [m.userId, m.readSeq, m.deliveredSeq]),
    [['ann', 1, 1], ['ben', 1, 1]],
  );
  assert.deepEqual(await markers(storage, 'c1'), { ann: [1, 1], ben: [1, 1] });

  // And a marker moved before the message in the same commit stays where it was allowed to go.
  const [early, next] = await Promise.all([storage.advanceMarker('c1', 'ben', 'read', 2), storage.appendMessage(message('c1', 'ann'))]);
  assert.deepEqual([early, next.value.seq], [{}, 2]);
  assert.deepEqual(await markers(storage, 'c1'), { ann: [2, 2], ben: [1, 1] });
});

test('a message another process stored in the file meanwhile does not break appends: the seq is read again', async (t) => {
  const { file, storage } = await chatFile(t, 'second-writer.db');
  await storage.appendMessage(message('c1', 'ann'));
  await storage.appendMessage(message('c1', 'ben'));
  const other = new Database(file);
  const insert = other.prepare(`
    INSERT INTO messages (conversation_id, seq, id, sender_id, client_id, text, created_at, sent_at)
    VALUES ('c1', ?, ?, 'ben', ?, ?, 100, 100)`);
  // A second server does what this one does: the message and last_seq in one transaction.
  other.transaction(() => {
    insert.run(3, timeOrderedId(), timeOrderedId(), 'from the other server');
    other.prepare("UPDATE conversations SET last_seq = 3, last_activity = 100 WHERE id = 'c1'").run();
  })();
  const [four, five] = await Promise.all([storage.appendMessage(message('c1', 'ann')), storage.appendMessage(message('c1', 'ben'))]);
  assert.deepEqual([four.value.seq, five.value.seq], [4, 5]);
  // A writer that stored a message without moving last_seq (a repair by hand, a half restore).
  insert.run(6, timeOrderedId(), timeOrderedId(), 'by hand');
  other.close();
  assert.equal((await storage.appendMessage(message('c1', 'ann'))).value.seq, 7);
  const { messages } = await storage.history('c1', { after: 0, limit: 10 });
  assert.deepEqual(messages.map((m) => m.seq), upTo(7));
  assert.deepEqual([messages[2]?.text, messages[5]?.text], ['from the other server', 'by hand']);
  assert.equal((await storage.getConversation('c1'))?.lastSeq, 7);
});

test('a retried clientId answers the original and takes no seq, in the same group commit and in a later one', async (t) => {
  const { storage } = await chatFile(t, 'dedupe.db');
  const k1 = message('c1', 'ann');
  const k2 = message('c1', 'ann');
  const [one, two, retry, three] = await Promise.all([
    storage.appendMessage(k1),
    storage.appendMessage(k2),
    storage.appendMessage({ ...k1, id: timeOrderedId(), text: 'again' }),
    storage.appendMessage(message('c1', 'ben')),
  ]);
  assert.deepEqual([one.value.seq, two.value.seq, three.value.seq], [1, 2, 3]);
  assert.deepEqual([retry.fresh, retry.value], [false, one.value]);
  const [again, four] = await Promise.all([storage.appendMessage({ ...k2, id: timeOrderedId() }), storage.appendMessage(message('c1', 'ann'))]);
  assert.deepEqual([again.fresh, again.value.seq, four.value.seq], [false, 2, 4]);
  assert.deepEqual(await seqsOf(storage, 'c1'), upTo(4));
  assert.equal((await storage.getConversation('c1'))?.lastSeq, 4);
});

test('after a restart the seqs continue where the file left them', async (t) => {
  const { file, storage } = await chatFile(t, 'restart.db');
  await Promise.all([storage.appendMessage(message('c1', 'ann')), storage.appendMessage(message('c1', 'ben')), storage.appendMessage(message('c2', 'cat'))]);
  await storage.appendMessage(message('c1', 'ann'));
  await storage.close();
  const reopened = open(t, file);
  const [c1, c2] = await Promise.all([reopened.appendMessage(message('c1', 'ben')), reopened.appendMessage(message('c2', 'ann'))]);
  assert.deepEqual([c1.value.seq, c2.value.seq], [4, 2]);
  assert.deepEqual(await seqsOf(reopened, 'c1'), upTo(4));
  assert.deepEqual(await markers(reopened, 'c1'), { ann: [3, 3], ben: [4, 4] });
});

test('with more conversations than remembered seqs, a forgotten one is read again and continues', async (t) => {
  const db = new Database(':memory:');
  t.after(() => db.close());
  db.pragma('foreign_keys = ON');
  migrate(db);
  const people = ['p0', 'p1', 'p2', 'p3', 'p4', 'p5'];
  for (const id of people) db.prepare("INSERT INTO users (id, name, created_at, updated_at) VALUES (?, ?, 1, 1)").run(id, id);
  const batch = new WriteBatch(db);
  const chat = sqliteChat(db, batch, 2);
  const ids: Id[] = [];
  for (let i = 1; i < people.length; i++) ids.push((await chat.openDirect('p0', people[i] as Id, `d${i}`, 1)).value.id);
  for (let round = 1; round <= 4; round++) {
    const sent = await Promise.all(ids.map((id) => chat.appendMessage(message(id, 'p0'))));
    assert.deepEqual(sent.map((s) => s.value.seq), ids.map(() => round));
  }
  for (const id of ids) assert.equal(db.prepare('SELECT last_seq FROM conversations WHERE id = ?').pluck().get(id), 4);
});
