import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Contact, Presence, User } from '@perch/protocol';
import { inProcess, sleep, TestClient, token, type Frame } from './harness.test.util.js';
import type { RunningServer } from './server.js';

let server: RunningServer;
const clients: TestClient[] = [];

async function as(userId: string, name?: string, claims = {}): Promise<TestClient & { welcome: Frame }> {
  const client = await TestClient.signIn(server.url, await token(userId, name, claims));
  clients.push(client);
  return client;
}

/** Waits until `client`'s connections are gone from the server (its close has been processed). */
async function disconnect(...list: TestClient[]): Promise<void> {
  const before = server.connections;
  for (const client of list) client.close();
  for (let i = 0; i < 100 && server.connections > before - list.length; i++) await sleep(10);
  await sleep(20);
}

before(async () => {
  server = await inProcess({ connectionRate: { perSecond: 1000, burst: 1000 }, identityRate: { perSecond: 1000, burst: 1000 } });
  for (const id of ['alice', 'bob', 'carol', 'dave']) await disconnect(await as(id));
});

after(async () => {
  for (const client of clients) client.close();
  await server.close();
});

test('presence: watchers see online, away with a status, invisible as offline, and lastSeen after the last disconnect', async () => {
  const alice = await as('alice');
  await alice.request('addContact', { userId: 'bob', groups: ['Team'] });
  assert.equal((await alice.event<Presence>('presence', (p) => p.userId === 'bob')).show, 'offline');

  const bob1 = await as('bob');
  assert.deepEqual(await alice.event<Presence>('presence', (p) => p.userId === 'bob'), { userId: 'bob', show: 'online' });
  const bob2 = await as('bob');
  assert.deepEqual(await alice.eventsAfter('presence', 100), [], 'a second connection changes nothing others see');

  await bob1.request('setPresence', { show: 'away', status: 'In a meeting' });
  assert.deepEqual(await alice.event('presence'), { userId: 'bob', show: 'away', status: 'In a meeting' });
  assert.deepEqual(await bob2.event('presence'), { userId: 'bob', show: 'away', status: 'In a meeting' }, 'the user’s other connections follow');

  const beforeInvisible = Date.now();
  await bob1.request('setPresence', { show: 'invisible' });
  const hidden = await alice.event<Presence>('presence');
  assert.equal(hidden.show, 'offline', 'others see invisible as offline');
  assert.equal(hidden.status, undefined, 'and no status');
  assert.ok((hidden.lastSeen ?? 0) >= beforeInvisible, 'with a plausible lastSeen');
  assert.equal((await bob2.event<Presence>('presence')).show, 'invisible', 'the user sees their own choice');
  assert.equal((await alice.request('roster', {})).presence.find((p) => p.userId === 'bob')?.show, 'offline');
  assert.deepEqual((await bob2.request('roster', {})).presence.find((p) => p.userId === 'bob'), { userId: 'bob', show: 'invisible' }, 'the roster ends with your own presence, as chosen');

  await disconnect(bob1, bob2);
  assert.deepEqual(await alice.eventsAfter('presence', 50), [], 'an invisible user leaving changes nothing others see');
  const bob3 = await as('bob');
  assert.deepEqual(await alice.eventsAfter('presence', 100), [], 'an invisible user stays hidden across reconnects');

  await bob3.request('setPresence', { show: 'online' });
  assert.deepEqual(await alice.event('presence'), { userId: 'bob', show: 'online' });
  const beforeLeaving = Date.now();
  await disconnect(bob3);
  const gone = await alice.event<Presence>('presence');
  assert.equal(gone.show, 'offline');
  assert.ok((gone.lastSeen ?? 0) >= beforeLeaving, 'lastSeen is the time of the last disconnect');
  assert.deepEqual((await alice.request('roster', {})).presence.find((p) => p.userId === 'bob'), gone);
  await assert.rejects(alice.request('setPresence', { show: 'offline' as 'online' }), { code: 'bad_request' });
});

test('contacts: added with groups, refiled, removed; each change reaches the owner’s connections', async () => {
  const carol1 = await as('carol');
  const carol2 = await as('carol');
  const added = await carol1.request('addContact', { userId: 'dave', groups: ['Friends', 'Friends', 'Work'] });
  assert.deepEqual(added, { user: { id: 'dave', name: 'Dave' }, groups: ['Friends', 'Work'] });
  for (const tab of [carol1, carol2]) {
    assert.deepEqual(await tab.event('contact'), { contact: added });
    assert.equal((await tab.event<Presence>('presence', (p) => p.userId === 'dave')).show, 'offline');
  }
  await carol1.request('addContact', { userId: 'dave', groups: ['Work'] });
  const roster = await carol2.request('roster', {});
  assert.deepEqual(roster.contacts, [{ user: { id: 'dave', name: 'Dave' }, groups: ['Work'] }]);
  assert.deepEqual(roster.presence.map((p) => p.userId), ['dave', 'carol'], 'each contact’s presence, then your own');
  assert.equal(roster.presence[0]?.show, 'offline');
  assert.equal(typeof roster.presence[0]?.lastSeen, 'number', 'dave signed in and out before: last seen then');

  assert.equal(await carol1.request('removeContact', { userId: 'dave' }), null);
  const removed = await carol2.event<{ contact: Contact; removed?: boolean }>('contact', (c) => c.removed === true);
  assert.equal(removed.contact.user.id, 'dave');
  assert.deepEqual((await carol1.request('roster', {})).contacts, []);
  assert.equal(await carol1.request('removeContact', { userId: 'dave' }), null, 'removing a non-contact is a no-op');
  await assert.rejects(carol1.request('addContact', { userId: 'carol', groups: [] }), { code: 'bad_request' });
  await assert.rejects(carol1.request('addContact', { userId: 'nobody', groups: [] }), { code: 'not_found' });
  await assert.rejects(carol1.request('addContact', { userId: 'dave', groups: ['x'.repeat(65)] }), { code: 'bad_request' });
});

test('profiles come from token claims, are refreshed at each sign-in, and the directory lists everyone but visitors', async () => {
  const claims = { title: 'Engineer', department: 'R&D', phone: '+1 555 0100', email: 'erin@example.com', location: 'Berlin', tz: 'Europe/Berlin', avatar: 'https://example.com/erin.png' };
  const erin = await as('erin', 'Erin Example', claims);
  const expected: User = { id: 'erin', name: 'Erin Example', title: 'Engineer', department: 'R&D', phone: '+1 555 0100', email: 'erin@example.com', location: 'Berlin', timeZone: 'Europe/Berlin', avatar: 'https://example.com/erin.png' };
  assert.deepEqual((erin.welcome.session as { user: User }).user, expected);
  const alice = await as('alice');
  assert.deepEqual(await alice.request('profile', { userId: 'erin' }), expected);
  await assert.rejects(alice.request('profile', { userId: 'nobody' }), { code: 'not_found' });

  await as('erin', 'Erin Renamed', { avatar: 'javascript:alert(1)' });
  const refreshed = await alice.request('profile', { userId: 'erin' });
  assert.deepEqual(refreshed, { id: 'erin', name: 'Erin Renamed' }, 'the profile follows the newest claims; a non-http avatar is dropped');

  const visitor = await TestClient.signIn(server.url, { visitor: { name: 'Guest' } });
  clients.push(visitor);
  const directory = await alice.request('directory', {});
  assert.deepEqual(directory.map((u) => u.id), ['alice', 'bob', 'carol', 'dave', 'erin'], 'sorted by name, visitors left out');
  assert.ok(directory.every((u) => u.visitor !== true));
});

test('control characters: a status or contact group name holding one is refused with bad_request naming it, and watchers see nothing of it', async () => {
  const alice = await as('alice');
  const bob = await as('bob');
  await alice.request('addContact', { userId: 'bob', groups: [] });
  await alice.event<Presence>('presence', (p) => p.userId === 'bob');
  await sleep(100);
  alice.inbox.length = 0; // Bob coming online and the contact's events: not what this test is about.
  const refused = (promise: Promise<unknown>, message: RegExp) =>
    assert.rejects(promise, (error: Error & { code?: string }) => error.code === 'bad_request' && message.test(error.message));

  await refused(bob.request('setPresence', { show: 'away', status: '\u001b[31mOn fire' }), /: Status contains the control character U\+001B; it must be one line/);
  await refused(bob.request('setPresence', { show: 'away', status: 'Out\tto lunch' }), /: Status contains the control character U\+0009/);
  await refused(bob.request('setPresence', { show: 'away', status: 'Back at 3\u0085' }), /: Status contains the control character U\+0085/);
  await refused(bob.request('setPresence', { show: 'away', status: 'Half \udc00' }), /: Status contains half of a surrogate pair \(U\+DC00\)/);
  assert.deepEqual(await alice.eventsAfter('presence', 100), [], 'watchers saw no change');
  assert.deepEqual((await bob.request('roster', {})).presence.at(-1), { userId: 'bob', show: 'online' }, 'nothing was stored');
  const rtl = '\u200fفي اجتماع\u200e (10:00)';
  await bob.request('setPresence', { show: 'away', status: rtl });
  assert.deepEqual(await alice.event('presence', (p) => p.userId === 'bob'), { userId: 'bob', show: 'away', status: rtl }, 'bidi marks are no control characters');

  await refused(alice.request('addContact', { userId: 'bob', groups: ['Friends', 'Te\u0007am'] }), /: "groups\[1\]" contains the control character U\+0007/);
  assert.deepEqual((await alice.request('roster', {})).contacts, [{ user: { id: 'bob', name: 'Bob' }, groups: [] }], 'the contact was not refiled');
  await bob.request('setPresence', { show: 'online' });
});

test('an invisible user’s delivery marks change nothing (their receipts would show them online); reads still count', async () => {
  const grace = await as('grace');
  const heidi1 = await as('heidi');
  const direct = await grace.request('openDirect', { userId: 'heidi' });
  const send = async (text: string) => (await grace.request('sendMessage', { conversationId: direct.id, clientId: crypto.randomUUID(), text, createdAt: Date.now() })).seq!;
  const deliveredTo = async () => (await grace.request('conversations', {})).find((c) => c.id === direct.id)?.deliveredTo?.heidi;

  await heidi1.request('setPresence', { show: 'invisible' });
  await heidi1.request('markDelivered', { conversationId: direct.id, seq: await send('there?') });
  assert.deepEqual(await grace.eventsAfter('receipt', 100), [], 'no delivered receipt while invisible');
  assert.equal(await deliveredTo(), 0, 'nor a marker others can read');

  // A new connection learns the choice from the storage; one without a connection of its own too.
  await disconnect(heidi1);
  const heidi2 = await as('heidi');
  await heidi2.request('markDelivered', { conversationId: direct.id, seq: await send('still there?') });
  assert.deepEqual(await grace.eventsAfter('receipt', 100), [], 'nor after reconnecting');
  assert.equal(await deliveredTo(), 0);

  await heidi2.request('markRead', { conversationId: direct.id, seq: 2 });
  const receipts = [await grace.event('receipt'), await grace.event('receipt')];
  assert.deepEqual(receipts.map((r) => [r.kind, r.seq]), [['delivered', 2], ['read', 2]], 'reading is the reader’s own doing: told as usual');

  await heidi2.request('setPresence', { show: 'away' });
  await heidi2.request('markDelivered', { conversationId: direct.id, seq: await send('back?') });
  assert.deepEqual(await grace.event('receipt'), { conversationId: direct.id, userId: 'heidi', kind: 'delivered', seq: 3 }, 'visible again: delivery is told');
  assert.equal(await deliveredTo(), 3);
});
