// The soak of soak.test.ts over the real stack: three clients through websocketBackend, the
// fault-injecting proxy, and a perch-server child process that is killed once and restarted.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { seededRandom } from '@perch/backend-memory';
import type { Message, PerchClient } from '@perch/core';
import { assertNoDuplicates, confirmed, freshIndexedDb, serverMessages, startStack, tempDatabase, until, wsClient } from './ws-harness.js';

const TOTAL = 600;

test(`soak: ${TOTAL} messages among 3 clients under random proxy faults and a server crash arrive exactly once, in one agreed order`, { timeout: 60_000 }, async () => {
  freshIndexedDb();
  const seed = Number(process.env.PERCH_SOAK_SEED ?? 20261130);
  const random = seededRandom(seed);
  const db = tempDatabase();
  const stack = await startStack(db.file, seed);
  const users = ['alice', 'bob', 'carol'] as const;
  type User = (typeof users)[number];
  const clients = {} as Record<User, PerchClient>;
  try {
    for (const u of users) clients[u] = await wsClient(stack.url, u);
    await Promise.all(users.map((u) => clients[u].connect()));
    const conversations: Array<{ id: string; members: User[] }> = [
      { id: (await clients.alice.openDirect('bob')).id, members: ['alice', 'bob'] },
      { id: (await clients.bob.openDirect('carol')).id, members: ['bob', 'carol'] },
      { id: (await clients.carol.openDirect('alice')).id, members: ['carol', 'alice'] },
      { id: (await clients.alice.createGroup('Lunch', ['bob', 'carol'])).id, members: [...users] },
    ];
    for (const c of conversations) {
      await until(() => c.members.every((u) => clients[u].conversations.get().some((v) => v.id === c.id)), 'every member sees every conversation');
    }

    Object.assign(stack.proxy.faults, { latency: [0, 3], duplicate: 0.05, reorder: 0.05 });
    stack.proxy.ackLossRate = 0.01;
    const sent = new Map<string, { conversationId: string; text: string }>();
    let crashed = false;
    for (let i = 0; i < TOTAL; i++) {
      const conversation = conversations[Math.floor(random() * conversations.length)]!;
      const sender = conversation.members[Math.floor(random() * conversation.members.length)]!;
      const message = clients[sender].send(conversation.id, `${sender} #${i}`);
      sent.set(message.clientId, { conversationId: conversation.id, text: message.text });
      if (i % 20 === 0) await new Promise((r) => setTimeout(r, 3));
      if (i % 150 === 75) stack.proxy.loseNextAcks(1);
      if (i % 90 === 45) stack.proxy.dropConnections((u) => u === users[Math.floor(random() * users.length)]);
      if (i === 250) {
        stack.proxy.setOffline(true);
        await new Promise((r) => setTimeout(r, 30));
        stack.proxy.setOffline(false);
      }
      if (i === 400) {
        await stack.restart('SIGKILL', 100);
        crashed = true;
      }
    }
    assert.ok(crashed);
    Object.assign(stack.proxy.faults, { latency: 0, duplicate: 0, reorder: 0 });
    stack.proxy.ackLossRate = 0;

    const onServer = new Map<string, Message[]>();
    const settled = () =>
      conversations.every((c) =>
        c.members.every((u) => {
          const shown = clients[u].messages(c.id).get();
          return shown.filter((m) => m.seq !== undefined).length === [...sent.values()].filter((s) => s.conversationId === c.id).length && shown.every((m) => m.seq !== undefined);
        }),
      );
    await until(settled, 'every client holds every message of its conversations, none pending', 40_000);
    for (const c of conversations) onServer.set(c.id, await serverMessages(stack.server.url, c.members[0]!, c.id));

    const all = [...onServer.values()].flat();
    assert.equal(all.length, TOTAL, 'the server persisted each message once');
    assert.deepEqual(new Set(all.map((m) => m.clientId)), new Set(sent.keys()));
    assert.ok(stack.proxy.acksLost > 0, 'some acknowledgements were lost on the way');
    for (const c of conversations) {
      const order = onServer.get(c.id)!.map((m) => m.id);
      for (const u of c.members) {
        const shown = confirmed(clients[u], c.id);
        assertNoDuplicates(clients[u].messages(c.id).get());
        assert.deepEqual(shown.map((m) => m.id), order, `${u} agrees with the server on the order of ${c.id}`);
      }
      for (const u of c.members) {
        const mine = onServer.get(c.id)!.filter((m) => m.senderId === u).map((m) => Number(m.text.split('#')[1]));
        assert.deepEqual(mine, [...mine].sort((a, b) => a - b), `${u}'s messages in ${c.id} keep compose order`);
      }
    }
  } finally {
    await Promise.all(users.map((u) => clients[u]?.disconnect()));
    await stack.stop();
    db.remove();
  }
});
