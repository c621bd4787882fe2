import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Conversation, Message } from '@perch/protocol';
import type { Change, ConversationRecord } from './changes.js';
import type { CoreContext } from './context.js';
import { Resume } from './resume.js';

const conversation = (lastSeq: number): Conversation => ({ id: 'c1', kind: 'direct', members: ['a', 'b'], lastSeq, readSeq: 0 });
const message = (seq: number, extra: Partial<Message> = {}): Message => ({
  id: `m${seq}`,
  clientId: `k${seq}`,
  conversationId: 'c1',
  seq,
  senderId: 'b',
  text: `#${seq}`,
  createdAt: seq,
  state: 'sent',
  ...extra,
});

function resumeWith(record: ConversationRecord) {
  const records = new Map([['c1', record]]);
  const core = { records, queue: new Map(), me: () => 'a' } as unknown as CoreContext;
  return new Resume(core);
}

function absorb(record: ConversationRecord, seqs: number[], extra: Partial<Message> = {}) {
  const changes: Change[] = [];
  const result = resumeWith(record).absorb(record, seqs.map((s) => message(s, extra)), changes);
  return { ...result, changes };
}

test('an empty conversation is fully held, so the first live message after a gap is parked', () => {
  const { next } = absorb({ conversation: conversation(0), syncedSeq: 0, floorSeq: 1, ahead: [] }, [3]);
  assert.deepEqual([next.floorSeq, next.syncedSeq, next.ahead], [1, 0, [3]]);
});

test('filling the gap advances the contiguous run over parked messages', () => {
  const start = { conversation: conversation(5), syncedSeq: 2, floorSeq: 1, ahead: [4, 5] };
  const { next, fresh } = absorb(start, [3]);
  assert.deepEqual([next.syncedSeq, next.ahead], [5, []]);
  assert.deepEqual(fresh.map((m) => m.seq), [3]);
});

test('a conversation with nothing held starts its run at the first message it sees', () => {
  const { next } = absorb({ conversation: conversation(500), syncedSeq: 0, floorSeq: 0, ahead: [] }, [451, 452, 453]);
  assert.deepEqual([next.floorSeq, next.syncedSeq], [451, 453]);
});

test('older pages extend the floor downward only when contiguous', () => {
  const start = { conversation: conversation(100), syncedSeq: 100, floorSeq: 51, ahead: [] };
  assert.equal(absorb(start, [48, 49, 50]).next.floorSeq, 48);
  assert.equal(absorb(start, [10, 11]).next.floorSeq, 51, 'a page that does not touch the floor leaves it');
});

test('duplicates are not fresh and write nothing; edits of held messages are written', () => {
  const start = { conversation: conversation(10), syncedSeq: 10, floorSeq: 1, ahead: [] };
  const dup = absorb(start, [7]);
  assert.deepEqual(dup.fresh, []);
  assert.ok(!dup.changes.some((c) => c.type === 'messages'));
  const edit = absorb(start, [7], { editedAt: 99, text: 'edited' });
  assert.deepEqual(edit.fresh, []);
  const written = edit.changes.find((c) => c.type === 'messages');
  assert.equal(written?.type === 'messages' && written.messages[0]!.text, 'edited');
});

test('lastSeq and lastActivity only move forward', () => {
  const start = { conversation: { ...conversation(10), lastActivity: 50 }, syncedSeq: 10, floorSeq: 1, ahead: [] };
  const { next } = absorb(start, [12], { createdAt: 40 });
  assert.equal(next.conversation.lastSeq, 12);
  assert.equal(next.conversation.lastActivity, 50);
});
