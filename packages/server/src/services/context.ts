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
