/**
 * What every service needs, and who is asking. Services hold no sockets: they read and write the
 * {@link Storage} and publish frames through the {@link Fanout}.
 */
import type { Id, User } from '@perch/protocol';
import type { Fanout } from '../fanout.js';
import type { PresenceTracker } from '../presence.js';
import { RequestError } from '../request-error.js';
import type { Storage } from '../storage/storage.js';

/** The shared dependencies of the services. */
export interface ServiceDeps {
  storage: Storage;
  fanout: Fanout;
  presence: PresenceTracker;
  /** The server clock, in ms since the epoch. */
  now: () => number;
}

/** The signed-in user making a request, and the connection it came on. */
export interface Caller {
  user: User;
  connectionId: string;
}

/** Refuses anonymous visitors, who may only chat in conversations they belong to. */
export function refuseVisitors(caller: Caller, what: string): void {
  if (caller.user.visitor === true) {
    throw new RequestError('forbidden', `Visitors cannot use ${what}; they can only chat in their own conversations.`);
  }
}

/** The user with this id who is not a visitor, or `not_found`. */
export async function requirePerson(deps: ServiceDeps, userId: Id): Promise<User> {
  const user = await deps.storage.getUser(userId);
  if (user === undefined || user.visitor === true) {
    throw new RequestError('not_found', `There is no user with id ${JSON.stringify(userId)}.`);
  }
  return user;
}

/**
 * Text a history or feed page carries before it is cut short (`complete: false`): 200 messages
 * of 10,000 characters would make one answer megabytes. Escaped in JSON, a page stays near 1 MiB.
 */
export const PAGE_TEXT = 256 * 1024;

/**
 * The first of `items` (or, `fromEnd`, the last) whose texts fit in {@link PAGE_TEXT}, always at
 * least one, and whether all of them did. The client asks again from where the page ends.
 */
export function fitPage<T extends { text: string }>(items: T[], fromEnd = false): { items: T[]; all: boolean } {
  let size = 0;
  let n = 0;
  while (n < items.length) {
    size += items[fromEnd ? items.length - 1 - n : n]!.text.length;
    if (n > 0 && size > PAGE_TEXT) break;
    n++;
  }
  return { items: fromEnd ? items.slice(items.length - n) : items.slice(0, n), all: n === items.length };
}
