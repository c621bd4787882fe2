/** The people every cross-package test uses, on a memory hub (Node and browser tests alike). */
import { MemoryHub, seededRandom } from '@perch/backend-memory';

export const PEOPLE = [
  { id: 'alice', name: 'Alice Liddell', title: 'Engineer', department: 'R&D' },
  { id: 'bob', name: 'Bob Builder', title: 'Designer', department: 'Design' },
  { id: 'carol', name: 'Carol Danvers', title: 'Support lead', department: 'Support' },
];

/** A hub with alice, bob and carol, contacts and followers of each other; `seed` makes faults reproducible. */
export function createHub(seed?: number): MemoryHub {
  const hub = new MemoryHub(seed === undefined ? {} : { random: seededRandom(seed) });
  for (const person of PEOPLE) hub.addUser(person);
  for (const a of PEOPLE) {
    for (const b of PEOPLE) {
      if (a === b) continue;
      hub.addContact(a.id, b.id, ['Team']);
      hub.follow(a.id, b.id);
    }
  }
  return hub;
}
