import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';
import { backoffDelay, type ConnectionStatus, type PerchClient, type TabCoordinator } from '@perch/core';
import { clientFor, createHub, freshIndexedDb, until } from './harness.js';

const clients: PerchClient[] = [];
beforeEach(freshIndexedDb);
afterEach(async () => {
  for (const c of clients.splice(0)) await c.disconnect();
});

test('backoff is full jitter under an exponential cap', () => {
  const options = { baseDelay: 100, maxDelay: 1000 };
  assert.equal(backoffDelay(0, { ...options, random: () => 0.999 }), 99);
  assert.equal(backoffDelay(3, { ...options, random: () => 0.5 }), 400);
  assert.equal(backoffDelay(10, { ...options, random: () => 0.999 }), 999, 'capped at maxDelay');
  assert.equal(backoffDelay(2, { ...options, random: () => 0 }), 0, 'full jitter reaches zero');
  assert.equal(backoffDelay(0, { ...options, random: () => 0 }, 700), 700, 'never sooner than retry-after');
});

test('a reconnect waits at least the retry-after the server asked for', async () => {
  const hub = createHub();
  hub.rejectConnect('rate_limited', 300, 1);
  const alice = clientFor(hub, 'alice');
  clients.push(alice);
  const log: Array<ConnectionStatus & { at: number }> = [];
  alice.status.subscribe((s) => log.push({ ...s, at: Date.now() }));
  await alice.connect();
  const attempts = log.filter((s) => s.state === 'connecting');
  assert.equal(attempts.length, 2);
  const waited = attempts[1]!.at - attempts[0]!.at;
  assert.ok(waited >= 295, `waited ${waited} ms, expected ≥ 300`);
  const waiting = log.find((s) => s.state === 'reconnecting')!;
  assert.equal(waiting.error?.code, 'rate_limited');
  assert.ok(waiting.retryAt! - waiting.at >= 295);
});

test('refused credentials stop reconnecting and reject connect() with a clear error', async () => {
  const hub = createHub();
  const alice = clientFor(hub, 'alice', { auth: { token: 'forged' } });
  clients.push(alice);
  await assert.rejects(alice.connect(), (e: Error & { code?: string }) => e.code === 'unauthorized');
  assert.equal(alice.status.get().state, 'offline');
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(alice.status.get().state, 'offline', 'no retry loop');
});

test('an auth function is asked again after a refusal, so a refreshed token gets in', async () => {
  const hub = createHub();
  let calls = 0;
  const alice = clientFor(hub, 'alice', {
    auth: async () => ({ token: ++calls === 1 ? 'expired' : hub.token('alice') }),
  });
  clients.push(alice);
  await alice.connect();
  assert.equal(calls, 2);
  assert.equal(alice.user.get()?.id, 'alice');
});

test('retries back off while the server stays down, then recover', async () => {
  const hub = createHub();
  hub.setOffline(true);
  const alice = clientFor(hub, 'alice');
  clients.push(alice);
  void alice.connect();
  await until(() => alice.status.get().attempt >= 4, 'four failed attempts');
  assert.equal(alice.status.get().state === 'reconnecting' || alice.status.get().state === 'connecting', true);
  hub.setOffline(false);
  await until(() => alice.status.get().state === 'online' && alice.status.get().attempt === 0, 'back online');
});

test('your own presence is known at each connection and follows setPresence, invisible included', async () => {
  const hub = createHub();
  const alice = clientFor(hub, 'alice');
  clients.push(alice);
  await alice.connect();
  assert.equal(alice.presence('alice')?.show, 'online');
  await alice.setPresence({ show: 'invisible', status: 'Heads down' });
  assert.deepEqual(alice.presence('alice'), { userId: 'alice', show: 'invisible', status: 'Heads down' });
  await alice.disconnect();
  // A later page (another device: a fresh cache) learns it from the roster.
  await freshIndexedDb();
  const again = clientFor(hub, 'alice');
  clients.push(again);
  await again.connect();
  assert.deepEqual(again.presence('alice'), { userId: 'alice', show: 'invisible', status: 'Heads down' });
  assert.equal(again.roster.get().some((entry) => entry.user.id === 'alice'), false, 'you are not your own contact');
});

test('disconnect() while the tab is becoming the leader leaves it offline, with no connection', async () => {
  const hub = createHub();
  let lead: (() => void) | undefined;
  // Another tab holds the lock until the test hands it over.
  const tabs: TabCoordinator = { elect: (onLeader) => (lead = onLeader), send() {}, listen: () => () => {}, close() {} };
  const alice = clientFor(hub, 'alice', { tabs: 'shared', tabCoordinator: tabs });
  clients.push(alice);
  void alice.connect();
  await until(() => lead !== undefined, 'alice waits for the lock');
  lead!(); // she takes over and reloads the cache…
  await alice.disconnect(); // …and the page disconnects meanwhile
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(alice.status.get().state, 'offline');
  assert.equal(hub.connectionCount('alice'), 0, 'no connection was opened after disconnect()');
});
