import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Id, ServerFrame } from '@perch/protocol';
import type { Fanout } from '../fanout.js';
import { PresenceTracker } from '../presence.js';
import { openSqliteStorage } from '../storage/sqlite.js';
import type { Storage } from '../storage/storage.js';
import { ChatService } from './chat.js';
import { MemberCache } from './member-cache.js';

const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

/** A loader over fixed member lists that counts its reads. */
function loader(groups: Record<Id, Id[]>) {
  const reads: Id[] = [];
  const load = async (conversationId: Id) => {
    reads.push(conversationId);
    return groups[conversationId];
  };
  return { load, reads };
}

test('the cache is bounded by the member ids it holds: huge groups push each other out, and an evicted list is read again, right', async () => {
  const groups: Record<Id, Id[]> = {};
  for (let g = 0; g < 8; g++) groups[`big${g}`] = ids(`g${g}-u`, 10_000);
  for (let d = 0; d < 50; d++) groups[`direct${d}`] = [`a${d}`, `b${d}`];
  const { load, reads } = loader(groups);
  const cache = new MemberCache(load, 25_000);

  for (let g = 0; g < 8; g++) {
    assert.deepEqual(await cache.members(`big${g}`), groups[`big${g}`]);
    assert.ok(cache.heldIds <= 25_000, `held ${cache.heldIds} ids after group ${g}`);
  }
  assert.equal(cache.lists, 2, 'two lists of 10,000 fit in 25,000 ids; a count bound of 50,000 lists would have kept all 8');
  assert.equal(cache.heldIds, 20_002);

  for (let d = 0; d < 50; d++) await cache.members(`direct${d}`);
  assert.ok(cache.heldIds <= 25_000);
  assert.equal(cache.lists, 52, 'the small lists fit beside the big ones');

  reads.length = 0;
  assert.deepEqual(await cache.members('big0'), groups.big0, 'an evicted list is read again, and is the right one');
  assert.deepEqual(reads, ['big0']);
  assert.ok(cache.heldIds <= 25_000);
  assert.deepEqual(await cache.members('big7'), groups.big7);
  assert.deepEqual(await cache.members('direct0'), groups.direct0);
  assert.deepEqual(reads, ['big0'], 'what is held is served without a read');
});

test('the least recently used lists go first, a list larger than the bound is served but not kept, and neither absence nor failure is cached', async () => {
  const groups: Record<Id, Id[]> = { a: ids('a', 99), b: ids('b', 99), c: ids('c', 99), huge: ids('h', 1000) };
  const { load, reads } = loader(groups);
  const cache = new MemberCache(load, 250);
  await cache.members('a');
  await cache.members('b');
  await cache.members('a'); // a is now the most recently used
  await cache.members('c'); // 300 > 250: b goes, not a
  assert.equal(cache.heldIds, 200);
  reads.length = 0;
  await cache.members('a');
  await cache.members('c');
  assert.deepEqual(reads, []);
  await cache.members('b');
  assert.deepEqual(reads, ['b']);

  assert.deepEqual(await cache.members('huge'), groups.huge);
  assert.ok(cache.heldIds <= 250);
  assert.deepEqual(await cache.members('huge'), groups.huge, 'still served correctly');
  assert.equal(reads.filter((id) => id === 'huge').length, 2, 'read each time, never held');

  assert.equal(await cache.members('nope'), undefined);
  assert.equal(await cache.members('nope'), undefined);
  assert.equal(reads.filter((id) => id === 'nope').length, 2, 'an unknown conversation is asked again (it may be created)');

  let fail = true;
  const flaky = new MemberCache(async () => {
    if (fail) throw new Error('disk on fire');
    return ['x', 'y'];
  });
  await assert.rejects(flaky.members('c1'), /disk on fire/);
  fail = false;
  assert.deepEqual(await flaky.members('c1'), ['x', 'y'], 'a failed read is not kept');
  assert.equal(flaky.lists, 1);
});

test('concurrent callers share one read and go on in the order they called', async () => {
  let release = (_members: Id[]) => undefined as void;
  let reads = 0;
  const cache = new MemberCache(() => {
    reads++;
    return new Promise<Id[]>((resolve) => (release = resolve));
  });
  const order: number[] = [];
  const calls = [1, 2, 3].map((n) => cache.members('c').then(() => order.push(n)));
  assert.equal(reads, 1);
  assert.equal(cache.heldIds, 0, 'a read still running weighs nothing yet');
  release(['x', 'y']);
  await Promise.all(calls);
  assert.deepEqual(order, [1, 2, 3]);
  assert.equal(cache.heldIds, 3);
});

test('the chat service keeps serving groups of thousands whose lists were evicted: sends reach every member, outsiders stay out', async () => {
  const storage = openSqliteStorage(':memory:', { log: () => undefined });
  const reads: Id[] = [];
  const counting: Storage = {
    ...storage,
    getMembers: (conversationId) => {
      reads.push(conversationId);
      return storage.getMembers(conversationId);
    },
  };
  const published: Array<{ to: Id[]; frame: ServerFrame }> = [];
  const fanout: Fanout = {
    publish: (userIds, frame) => void published.push({ to: [...userIds], frame }),
    subscribe: () => () => undefined,
    close: async () => undefined,
  };
  try {
    const people = ids('user-', 3000);
    for (const id of [...people, 'outsider']) await storage.upsertUser({ id, name: id }, 1);
    // Groups this large cannot be made with createGroup (100 members at most), but a storage may
    // hold them (an import, another server writing to the same database).
    const groups = [];
    for (let g = 0; g < 3; g++) {
      groups.push((await storage.createGroup({ id: `huge-${g}`, title: `Huge ${g}`, members: people.slice(g * 1000, g * 1000 + 2000) }, 1)).value);
    }
    const chat = new ChatService({ storage: counting, fanout, presence: new PresenceTracker(), now: Date.now }, 3000);
    for (let round = 0; round < 2; round++) {
      for (const [g, group] of groups.entries()) {
        const sender = people[g * 1000] as Id;
        const caller = { user: { id: sender, name: sender }, connectionId: 'conn' };
        const message = await chat.send(caller, { conversationId: group.id, clientId: `m${round}-${g}`, text: 'hi', createdAt: 1 });
        assert.equal(message.conversationId, group.id);
        const event = published.pop();
        assert.deepEqual(event?.to.toSorted(), group.members.map((m) => m.userId).toSorted(), 'the event goes to exactly that group’s members');
        const outsider = { user: { id: 'outsider', name: 'Outsider' }, connectionId: 'other' };
        await assert.rejects(chat.send(outsider, { conversationId: group.id, clientId: `x${round}-${g}`, text: 'let me in', createdAt: 1 }), { code: 'forbidden' });
      }
    }
    // 2,001 ids per list and 3,000 allowed: one list is held at a time, so each is read again in
    // the second round, while the outsider's check right after a send finds it held.
    assert.deepEqual(reads, ['huge-0', 'huge-1', 'huge-2', 'huge-0', 'huge-1', 'huge-2']);
  } finally {
    await storage.close();
  }
});
