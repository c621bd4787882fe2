/**
 * Cold start: from `createClient` over a cache holding 200 messages in one conversation to
 * those messages being readable from the store (no network: the hub is offline).
 */
import { MemoryHub, memoryBackend } from '@perch/backend-memory';
import { createClient } from '@perch/core';
import { median, percentile, until, type BenchResult } from './util.js';

export async function run(): Promise<BenchResult> {
  const hub = new MemoryHub();
  hub.addUser({ id: 'alice', name: 'Alice' });
  hub.addUser({ id: 'bob', name: 'Bob' });
  const options = { backend: memoryBackend({ hub }), auth: { token: hub.token('alice') }, user: 'alice', tabs: 'single' as const };
  const seed = createClient(options);
  await seed.connect();
  const { id } = await seed.openDirect('bob');
  for (let i = 0; i < 200; i++) hub.injectMessage(id, i % 3 ? 'bob' : 'alice', `cached message ${i}`);
  await until(() => seed.messages(id).get().length === 200);
  await seed.disconnect();
  hub.setOffline(true);

  const times: number[] = [];
  for (let i = 0; i < 15; i++) {
    const start = performance.now();
    const client = createClient(options);
    await client.messages(id).loaded;
    const elapsed = performance.now() - start;
    if (client.messages(id).get().length !== 200) throw new Error(`cold start read ${client.messages(id).get().length} messages, expected 200`);
    times.push(elapsed);
    await client.disconnect();
  }
  return {
    name: 'cold start: createClient → 200 cached messages readable from the store (Chromium, IndexedDB)',
    figures: {
      'first run (ms)': times[0]!,
      'median of 15 (ms)': median(times),
      'p95 (ms)': percentile(times, 95),
    },
    target: 'median ≤ 30 ms',
    met: median(times) <= 30,
  };
}
