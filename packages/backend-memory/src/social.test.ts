import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PerchError } from '@perch/core';
import { tick, world } from './harness.test.util.js';

describe('presence', () => {
  it('fans presence out to watchers and to the user’s other connections', async () => {
    const { hub, connect } = world();
    hub.addContact('bob', 'alice', ['Work']);
    const alice = await connect('alice');
    const alice2 = await connect('alice');
    const bob = await connect('bob');
    const carol = await connect('carol');
    await alice.conn.setPresence({ show: 'dnd', status: 'In a meeting' });
    await tick();
    assert.deepEqual(bob.events.of('presence').at(-1), { userId: 'alice', show: 'dnd', status: 'In a meeting' });
    assert.deepEqual(alice2.events.of('presence'), [{ userId: 'alice', show: 'dnd', status: 'In a meeting' }]);
    assert.equal(alice.events.of('presence').length, 0, 'not echoed to the connection that set it');
    assert.equal(carol.events.of('presence').length, 0, 'carol does not have alice as a contact');
    const bad = await alice.conn.setPresence({ show: 'offline' as 'online' }).catch((error: unknown) => error);
    assert.ok(bad instanceof PerchError);
    assert.equal(bad.code, 'bad_request');
    assert.match(bad.message, /must be one of/);
  });

  it('shows invisible users as offline to others but as invisible to themselves', async () => {
    let now = 5_000;
    const { hub, connect } = world({ now: () => now });
    hub.addContact('bob', 'alice');
    hub.addContact('alice', 'bob');
    const alice = await connect('alice');
    const alice2 = await connect('alice');
    const bob = await connect('bob');
    now = 6_000;
    await alice.conn.setPresence({ show: 'invisible', status: 'secret' });
    await tick();
    assert.deepEqual(bob.events.of('presence').at(-1), { userId: 'alice', show: 'offline', lastSeen: 6_000 });
    const roster = await bob.conn.roster();
    assert.deepEqual(roster.presence, [{ userId: 'alice', show: 'offline', lastSeen: 6_000 }, { userId: 'bob', show: 'online' }], 'each contact, then your own');
    assert.deepEqual(alice2.events.of('presence').at(-1), { userId: 'alice', show: 'invisible', status: 'secret' });
    assert.deepEqual((await alice2.conn.roster()).presence.at(-1), { userId: 'alice', show: 'invisible', status: 'secret' }, 'your own as chosen');
    // Closing every connection while invisible changes nothing others can see.
    const seen = bob.events.of('presence').length;
    now = 9_000;
    alice.conn.close();
    alice2.conn.close();
    await tick();
    assert.equal(bob.events.of('presence').length, seen);
    assert.deepEqual((await bob.conn.roster()).presence, [{ userId: 'alice', show: 'offline', lastSeen: 6_000 }, { userId: 'bob', show: 'online' }]);
  });

  it('goes offline with lastSeen when the last connection closes, and online again on connect', async () => {
    let now = 1_000;
    const { hub, connect } = world({ now: () => now });
    hub.addContact('bob', 'alice');
    const bob = await connect('bob');
    assert.deepEqual((await bob.conn.roster()).presence, [{ userId: 'alice', show: 'offline' }, { userId: 'bob', show: 'online' }]);
    const alice = await connect('alice');
    const alice2 = await connect('alice');
    await tick();
    assert.deepEqual(bob.events.of('presence'), [{ userId: 'alice', show: 'online' }]);
    now = 2_000;
    alice.conn.close();
    await tick();
    assert.equal(bob.events.of('presence').length, 1, 'still online through the second connection');
    now = 3_000;
    alice2.conn.close();
    await tick();
    assert.deepEqual(bob.events.of('presence').at(-1), { userId: 'alice', show: 'offline', lastSeen: 3_000 });
    assert.equal(hub.connectionCount('alice'), 0);
    const roster = await bob.conn.roster();
    assert.deepEqual(roster.presence, [{ userId: 'alice', show: 'offline', lastSeen: 3_000 }, { userId: 'bob', show: 'online' }]);
  });
});

describe('contacts, directory and profiles', () => {
  it('returns the roster with groups and fans contact changes out', async () => {
    const { hub, connect } = world();
    hub.addContact('alice', 'bob', ['Friends']);
    const alice = await connect('alice');
    const alice2 = await connect('alice');
    await connect('carol');
    const roster = await alice.conn.roster();
    assert.deepEqual(roster.contacts, [{ user: { id: 'bob', name: 'Bob' }, groups: ['Friends'] }]);
    assert.deepEqual(roster.presence, [{ userId: 'bob', show: 'offline' }, { userId: 'alice', show: 'online' }]);
    const added = await alice.conn.addContact({ userId: 'carol', groups: ['Work'] });
    assert.deepEqual(added, { user: { id: 'carol', name: 'Carol' }, groups: ['Work'] });
    await alice.conn.removeContact('bob');
    await tick();
    assert.deepEqual(
      alice2.events.log.filter((entry) => entry.type === 'contact').map((entry) => [entry.value.user.id, entry.removed]),
      [['carol', false], ['bob', true]],
    );
    assert.deepEqual(alice2.events.of('presence').at(-1), { userId: 'carol', show: 'online' });
    const after = await alice.conn.roster();
    assert.deepEqual(after.contacts.map((contact) => contact.user.id), ['carol']);
    assert.deepEqual(after.presence, [{ userId: 'carol', show: 'online' }, { userId: 'alice', show: 'online' }]);
    const error = await alice.conn.addContact({ userId: 'ghost', groups: [] }).catch((e: unknown) => e);
    assert.ok(error instanceof PerchError && error.code === 'not_found');
  });

  it('refuses contact groups the server refuses, in its words', async () => {
    const { connect } = world();
    const alice = await connect('alice');
    const refusal = (groups: string[]) => alice.conn.addContact({ userId: 'bob', groups }).then(
      () => assert.fail('expected a bad_request rejection'),
      (error: unknown) => {
        assert.ok(error instanceof PerchError && error.code === 'bad_request', String(error));
        return error.message;
      },
    );
    const limits = '"groups" must be a list of at most 20 names of 1–64 characters.';
    assert.equal(await refusal(['x'.repeat(65)]), limits);
    assert.equal(await refusal(Array.from({ length: 21 }, (_, i) => `g${i}`)), limits);
    assert.equal(await refusal(['Work', 'Fri\nends']), '"groups[1]" contains the control character U+000A; it must be one line of text without control characters.');
    assert.match(await refusal(['Work\u0085']), /^"groups\[0\]" contains the control character U\+0085/);
    assert.match(await refusal(['\ud83d']), /half of a surrogate pair/);
    const groups = [...Array.from({ length: 19 }, (_, i) => `g${i}`), 'y'.repeat(64)];
    assert.deepEqual((await alice.conn.addContact({ userId: 'bob', groups })).groups, groups);
  });

  it('lists the directory and profiles', async () => {
    const { connect } = world();
    const bob = await connect('bob');
    assert.deepEqual(await bob.conn.profile('alice'), { id: 'alice', name: 'Alice', title: 'Engineer' });
    const error = await bob.conn.profile('ghost').catch((e: unknown) => e);
    assert.ok(error instanceof PerchError && error.code === 'not_found');
    assert.equal((await bob.conn.directory()).length, 3);
  });
});
