/**
 * Outbox flush: 1,000 messages queued offline; time from the network coming back until the
 * server has acknowledged all of them (reconnect, resume and flush included). Runs with IndexedDB
 * (the real thing) and, as a baseline in the same run, with `storage: 'memory'` to show what the
 * cache writes cost.
 */
import { MemoryHub, memoryBackend } from '@perch/backend-memory';
import { createClient } from '@perch/core';
import { median, until, type BenchResult } from './util.js';

const COUNT = 1000;

async function once(storage: 'persistent' | 'memory', round: number): Promise<number> {
  const hub = new MemoryHub();
  hub.addUser({ id: 'alice', name: 'Alice' });
  hub.addUser({ id: 'bob', name: 'Bob' });
  const client = createClient({
    backend: memoryBackend({ hub }),
    auth: { token: hub.token('alice') },
    user: `alice`,
    storage,
    tabs: 'single',
    reconnect: { baseDelay: 1, maxDelay: 1 },
  });
  await client.connect();
  const { id } = await client.openDirect('bob');
  hub.setOffline(true);
  await until(() => client.status.get().state !== 'online');
  for (let i = 0; i < COUNT; i++) client.send(id, `message ${i} of round ${round}`);
  await until(() => client.messages(id).get().length === COUNT);
  // The clock starts when the network is back; reconnecting, resuming and flushing all count.
  const start = performance.now();
  hub.setOffline(false);
  client.reconnectNow();
  await until(() => client.messages(id).get().every((m) => m.state !== 'pending'), 60_000);
  const elapsed = performance.now() - start;
  if (hub.messages(id).length !== COUNT) throw new Error(`expected ${COUNT} on the server, got ${hub.messages(id).length}`);
  await client.disconnect();
  return elapsed;
}

export async function run(): Promise<BenchResult> {
  const idb: number[] = [];
  const memory: number[] = [];
  for (let round = 0; round < 3; round++) {
    idb.push(await once('persistent', round));
    memory.push(await once('memory', round));
  }
  return {
    name: `outbox flush: ${COUNT} messages queued offline → all acked after reconnect (Chromium, memory hub)`,
    figures: {
      'IndexedDB, median of 3 (ms)': median(idb),
      'IndexedDB, runs (ms)': idb.map((n) => n.toFixed(0)).join(' / '),
      'baseline storage=memory, median (ms)': median(memory),
      'IndexedDB cost per message (ms)': (median(idb) - median(memory)) / COUNT,
    },
    target: 'IndexedDB median ≤ 2000 ms',
    met: median(idb) <= 2000,
  };
}
