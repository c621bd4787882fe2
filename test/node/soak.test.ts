import assert from 'node:assert/strict';
import { test } from 'node:test';
import { seededRandom } from '@perch/backend-memory';
import type { Message, PerchClient } from '@perch/core';
import { assertNoDuplicates, clientFor, confirmed, createHub, freshIndexedDb, until } from './harness.js';

const TOTAL = 2000;

test(`soak: ${TOTAL} messages among 3 clients under random faults arrive exactly once, in one agreed order`, async () => {
  freshIndexedDb();
  const seed = Number(process.env.PERCH_SOAK_SEED ?? 20261129);
  const random = seededRandom(seed);
  const hub = createHub(seed);
  const users = ['alice', 'bob', 'carol'] as const;
  const clients = Object.fromEntries(users.map((u) => [u, clientFor(hub, u)])) as Record<(typeof users)[number], PerchClient>;
  await Promise.all(users.map((u) => clients[u].connect()));

  const conversations = [
    { id: (await clients.alice.openDirect('bob')).id, members: ['alice', 'bob'] },
    { id: (await clients.bob.openDirect('carol')).id, members: ['bob', 'carol'] },
    { id: (await clients.carol.openDirect('alice')).id, members: ['carol', 'alice'] },
    { id: (await clients.alice.createGroup('Lunch', ['bob', 'carol'])).id, members: [...users] },
  ];
  for (const c of conversations) {
    await until(() => c.members.every((u) => clients[u as keyof typeof clients].conversations.get().some((v) => v.id === c.id)), 'every member sees every conversation');
  }

  Object.assign(hub.faults, { latency: [0, 3], duplicate: 0.05, reorder: 0.05, ackLoss: 0.005 });
  const sent = new Map<string, { conversationId: string; text: string }>();
  for (let i = 0; i < TOTAL; i++) {
    const conversation = conversations[Math.floor(random() * conversations.length)]!;
    const sender = conversation.members[Math.floor(random() * conversation.members.length)] as keyof typeof clients;
    const message = clients[sender].send(conversation.id, `${sender} #${i}`);
    sent.set(message.clientId, { conversationId: conversation.id, text: message.text });
    if (i % 25 === 0) await new Promise((r) => setTimeout(r, 1));
    if (i % 180 === 90) hub.dropConnections((u) => u === users[Math.floor(random() * users.length)]);
    if (i % 700 === 350) {
      hub.setOffline(true);
      await new Promise((r) => setTimeout(r, 15));
      hub.setOffline(false);
    }
  }
  Object.assign(hub.faults, { latency: 0, duplicate: 0, reorder: 0, ackLoss: 0 });

  const settled = () =>
    conversations.every((c) => {
      const server = hub.messages(c.id);
      return c.members.every((u) => {
        const shown = clients[u as keyof typeof clients].messages(c.id).get();
        return shown.length === server.length && shown.every((m) => m.seq !== undefined);
      });
    });
  await until(settled, 'every client holds every message of its conversations, none pending', 90_000);

  const onServer: Message[] = conversations.flatMap((c) => hub.messages(c.id));
  assert.equal(onServer.length, TOTAL, 'the server persisted each message once');
  assert.deepEqual(new Set(onServer.map((m) => m.clientId)), new Set(sent.keys()));
  for (const c of conversations) {
    const order = hub.messages(c.id).map((m) => m.id);
    for (const u of c.members) {
      const shown = confirmed(clients[u as keyof typeof clients], c.id);
      assertNoDuplicates(shown);
      assert.deepEqual(shown.map((m) => m.id), order, `${u} agrees on the order of ${c.id}`);
    }
  }
  // Each sender's own messages keep compose order within a conversation.
  for (const c of conversations) {
    for (const u of c.members) {
      const mine = hub.messages(c.id).filter((m) => m.senderId === u).map((m) => Number(m.text.split('#')[1]));
      assert.deepEqual(mine, [...mine].sort((a, b) => a - b), `${u}'s messages in ${c.id} stay in compose order`);
    }
  }
  await Promise.all(users.map((u) => clients[u].disconnect()));
});
