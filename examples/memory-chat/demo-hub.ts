import { MemoryHub } from '@perch/backend-memory';
import type { Id, User } from '@perch/core';

/** The people of the demo company. Alice and Bob get panels; the others are colleagues. */
export const DEMO_PEOPLE: readonly User[] = [
  {
    id: 'alice',
    name: 'Alice Liddell',
    title: 'Staff engineer',
    department: 'Engineering',
    location: 'Berlin',
    phone: '+49 30 5550 1001',
    email: 'alice@example.com',
    timeZone: 'Europe/Berlin',
  },
  {
    id: 'bob',
    name: 'Bob Okafor',
    title: 'Product designer',
    department: 'Design',
    location: 'Lisbon',
    phone: '+351 21 555 0102',
    email: 'bob@example.com',
    timeZone: 'Europe/Lisbon',
  },
  { id: 'carol', name: 'Carol Nguyen', title: 'Support lead', department: 'Support', location: 'Dublin', email: 'carol@example.com' },
  { id: 'dev', name: 'Dev Patel', title: 'Head of sales', department: 'Sales', location: 'London', email: 'dev@example.com' },
  { id: 'erin', name: 'Erin Walsh', title: 'Office manager', department: 'Operations', location: 'Berlin', email: 'erin@example.com' },
];

/** Buddy-list pairs, filed both ways under the group given. */
const CONTACTS: ReadonlyArray<[Id, Id, string]> = [
  ['alice', 'bob', 'Team'],
  ['alice', 'carol', 'Team'],
  ['bob', 'carol', 'Team'],
  ['alice', 'dev', 'Colleagues'],
  ['alice', 'erin', 'Colleagues'],
  ['bob', 'erin', 'Colleagues'],
];

const MINUTE = 60_000;

/**
 * A hub seeded with a small company: five people with titles and departments, buddy lists both
 * ways, follows along the same lines, a few status posts (one liked) and the start of a chat
 * between Alice and Bob. Nobody is connected yet.
 */
export function createDemoHub(): MemoryHub {
  const hub = new MemoryHub();
  for (const person of DEMO_PEOPLE) hub.addUser(person);
  for (const [a, b, group] of CONTACTS) {
    hub.addContact(a, b, [group]);
    hub.addContact(b, a, [group]);
    hub.follow(a, b);
    hub.follow(b, a);
  }

  // Seed history "in the past" by moving the hub's clock, then give it back its real clock.
  const start = Date.now() - 90 * MINUTE;
  let clock = start;
  hub.now = () => clock;
  const publish = (authorId: Id, text: string) => {
    clock += 7 * MINUTE;
    return hub.publish(authorId, text);
  };
  const drill = publish('erin', 'Fire drill at 15:00 today. Meet at the front door; floor plan: https://example.com/fire-drill');
  const queue = publish('carol', 'Support queue is at zero for the first time this quarter. Thank you all!');
  publish('bob', 'New icon set is up for review. Feedback welcome before Friday.');
  hub.like('alice', queue.id!);
  hub.like('bob', queue.id!);
  hub.like('alice', drill.id!);

  clock += 20 * MINUTE;
  const chat = hub.openDirect('alice', 'bob');
  hub.injectMessage(chat.id, 'bob', 'Morning! Did you get a chance to look at the icons?');
  clock += 2 * MINUTE;
  hub.injectMessage(chat.id, 'alice', 'Not yet, after stand-up. The gear one looked great in the preview.');
  hub.now = Date.now;
  return hub;
}
