/**
 * Crash and shutdown behaviour of a real `perch-server` process on a database file: what was
 * acknowledged survives SIGKILL, and SIGTERM closes clients with 1001 and exits 0.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { Message } from '@perch/protocol';
import { CLOSE } from '@perch/protocol';
import { SECRET, spawnServer, TestClient, token, type Frame } from './harness.test.util.js';

const dir = mkdtempSync(join(tmpdir(), 'perch-durability-'));
const db = join(dir, 'perch.db');
const args = ['--port', '0', '--db', db, '--secret', SECRET, '--rate-per-connection', '10000', '--rate-per-identity', '10000'];

after(() => rmSync(dir, { recursive: true, force: true }));

/** Every message of a conversation, paging with `after`. */
async function everything(client: TestClient, conversationId: string): Promise<Message[]> {
  const all: Message[] = [];
  for (;;) {
    const page = await client.request('history', { conversationId, after: all.length, limit: 200 });
    all.push(...page.messages);
    if (page.complete) return all;
  }
}

let conversationId = '';
const acked = new Map<string, Message>();

test('SIGKILL in the middle of traffic loses no acknowledged message, and a retry after the restart answers the original', async () => {
  const first = await spawnServer(args);
  const alice = await TestClient.signIn(first.url, await token('alice'));
  const bob = await TestClient.signIn(first.url, await token('bob'));
  conversationId = (await alice.request('openDirect', { userId: 'bob' })).id;
  const sent: string[] = [];
  let killed = false;
  // Eight senders pipelining; the process is killed while their requests are in flight.
  const sender = async () => {
    while (!killed) {
      const clientId = crypto.randomUUID();
      sent.push(clientId);
      const answer: Frame = await alice.call('sendMessage', { conversationId, clientId, text: `message ${sent.length}`, createdAt: Date.now() });
      if (answer.type === 'closed') return;
      if (answer.type === 'res') acked.set(clientId, answer.result as Message);
    }
  };
  const senders = Array.from({ length: 8 }, sender);
  while (acked.size < 300) {
    assert.equal(first.child.exitCode, null, 'the server is running');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  const { signal } = await first.stop('SIGKILL');
  killed = true;
  await Promise.all(senders);
  assert.equal(signal, 'SIGKILL');
  bob.close();
  alice.close();

  const second = await spawnServer(args);
  try {
    const again = await TestClient.signIn(second.url, await token('alice'));
    const kept = await everything(again, conversationId);
    assert.deepEqual(kept.map((m) => m.seq), kept.map((_, i) => i + 1), 'seqs from 1 without holes');
    const byClientId = new Map(kept.map((m) => [m.clientId, m]));
    for (const [clientId, message] of acked) assert.deepEqual(byClientId.get(clientId), message, `acked ${clientId} survived intact`);
    assert.ok(kept.length >= acked.size && kept.length <= sent.length, 'nothing invented');

    const [someClientId, original] = [...acked][17] as [string, Message];
    const retry = await again.request('sendMessage', { conversationId, clientId: someClientId, text: 'retried after the crash', createdAt: Date.now() });
    assert.deepEqual(retry, original, 'a retry of an acknowledged message answers the original');
    const fresh = await again.request('sendMessage', { conversationId, clientId: 'after-restart', text: 'new', createdAt: Date.now() });
    assert.equal(fresh.seq, kept.length + 1, 'numbering goes on where it stopped');
    acked.set('after-restart', fresh);
    again.close();
  } finally {
    await second.stop();
  }
});

test('SIGTERM closes every client with 1001, exits 0, and leaves the data complete', async () => {
  const server = await spawnServer(args);
  const alice = await TestClient.signIn(server.url, await token('alice'));
  const bob = await TestClient.signIn(server.url, await token('bob'));
  const last = await alice.request('sendMessage', { conversationId, clientId: 'before-sigterm', text: 'bye', createdAt: Date.now() });
  acked.set('before-sigterm', last);
  const exit = server.stop('SIGTERM');
  const [aliceClosed, bobClosed] = await Promise.all([alice.closed, bob.closed]);
  assert.equal(aliceClosed.code, CLOSE.goingAway);
  assert.equal(bobClosed.code, CLOSE.goingAway);
  assert.match(aliceClosed.reason, /shutting down/);
  assert.deepEqual(await exit, { code: 0, signal: null }, `exit status; output:\n${server.output()}`);

  const after = await spawnServer(args);
  try {
    const reader = await TestClient.signIn(after.url, await token('bob'));
    const kept = await everything(reader, conversationId);
    assert.equal(kept.at(-1)?.clientId, 'before-sigterm');
    for (const [clientId, message] of acked) assert.deepEqual(kept.find((m) => m.clientId === clientId), message);
    reader.close();
  } finally {
    await after.stop();
  }
});
