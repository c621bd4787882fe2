import assert from 'node:assert/strict';
import { test } from 'node:test';
import { keys } from './keys.js';
import { memoryStore } from './memory-store.js';
import { migrate, type Migration } from './migrations.js';

test('migrations run in order, once each, and record the version after each step', async () => {
  const store = memoryStore();
  const ran: number[] = [];
  const steps: Migration[] = [async () => void ran.push(1), async () => void ran.push(2)];
  assert.equal(await migrate(store, steps), 2);
  assert.deepEqual(ran, [1, 2]);
  assert.equal(await store.get(keys.schema), 2);

  // A newer Perch adds a step that rewrites old records: only that step runs.
  await store.write([['c|x', { title: 'old shape' }]], []);
  const upgraded: Migration[] = [
    ...steps,
    async (s) => {
      const rows = await s.range<{ title: string }>('c|');
      await s.write(rows.map(([k, v]) => [k, { name: v.title }]), []);
    },
  ];
  assert.equal(await migrate(store, upgraded), 3);
  assert.deepEqual(ran, [1, 2]);
  assert.deepEqual(await store.get('c|x'), { name: 'old shape' });
});

test('a cache written by a newer schema is cleared rather than misread', async () => {
  const store = memoryStore();
  await store.write([[keys.schema, 9], ['c|x', { from: 'the future' }]], []);
  assert.equal(await migrate(store, [async () => {}]), 1);
  assert.equal(await store.get('c|x'), undefined);
});

test('a failing migration leaves the version where it was, so it runs again next time', async () => {
  const store = memoryStore();
  const boom: Migration[] = [async () => {}, async () => Promise.reject(new Error('disk full'))];
  await assert.rejects(migrate(store, boom), /disk full/);
  assert.equal(await store.get(keys.schema), 1);
});
