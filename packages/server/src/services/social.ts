/**
 * Presence, contacts, the directory and profiles. A user's chosen presence (default `online`,
 * stored so it survives reconnects and restarts) applies while they have a connection; others
 * see `invisible` as `offline`; without a connection everyone is `offline` with `lastSeen`.
 */
import type { Commands, Contact, Id, Presence, User } from '@perch/protocol';
import { RequestError } from '../request-error.js';
import type { StoredPresence } from '../storage/storage.js';
import { refuseVisitors, requirePerson, type Caller, type ServiceDeps } from './context.js';

type Args<N extends keyof Commands> = Commands[N]['args'];

const samePresence = (a: Presence, b: Presence) =>
  a.show === b.show && a.status === b.status && a.lastSeen === b.lastSeen;

/** The social half of the server. */
export class SocialService {
  private readonly deps: ServiceDeps;

  /** Creates the social service over shared dependencies. */
  constructor(deps: ServiceDeps) {
    this.deps = deps;
  }

  // ---- presence

  /** Counts a new connection; with the user's first, tells their watchers they came online. */
  async connected(userId: Id): Promise<void> {
    if (!this.deps.presence.attach(userId)) return;
    const stored = await this.stored(userId);
    this.deps.presence.setInvisible(userId, stored.show === 'invisible');
    const after = this.publicView(userId, stored);
    if (after.show !== 'offline') await this.tellWatchers(userId, after);
  }

  /** Forgets a closed connection; after the user's last, records `lastSeen` and tells their watchers. */
  async disconnected(userId: Id): Promise<void> {
    if (!this.deps.presence.detach(userId)) return;
    const stored = await this.stored(userId);
    if (stored.show === 'invisible') return; // Others already see them offline, with the earlier lastSeen.
    const lastSeen = this.deps.now();
    await this.deps.storage.setLastSeen(userId, lastSeen);
    await this.tellWatchers(userId, { userId, show: 'offline', lastSeen });
  }

  /** Applies a presence chosen by the caller, telling watchers and the caller's other connections. */
  async setPresence(caller: Caller, input: Args<'setPresence'>): Promise<null> {
    const userId = caller.user.id;
    const previous = await this.stored(userId);
    const before = this.publicView(userId, previous);
    const next: StoredPresence = { show: input.show };
    if (input.status !== undefined) next.status = input.status;
    // Going invisible looks like leaving: others see offline, last seen now.
    if (input.show === 'invisible' && previous.show !== 'invisible') next.lastSeen = this.deps.now();
    await this.deps.storage.setPresence(userId, next);
    this.deps.presence.setInvisible(userId, next.show === 'invisible');
    const stored = { ...next, lastSeen: next.lastSeen ?? previous.lastSeen };
    const after = this.publicView(userId, stored);
    if (!samePresence(before, after)) await this.tellWatchers(userId, after);
    const own = this.selfView(userId, stored);
    this.deps.fanout.publish([userId], { type: 'event', event: 'presence', data: own }, { except: caller.connectionId });
    return null;
  }

  // ---- contacts, directory, profiles

  /** The caller's contacts and the presence of each, as the caller sees it, then the caller's own (as chosen). */
  async roster(caller: Caller): Promise<Commands['roster']['result']> {
    const me = caller.user.id;
    const contacts = await this.deps.storage.listContacts(me);
    const ids = contacts.map((contact) => contact.user.id);
    const stored = await this.deps.storage.getPresence([...ids, me]);
    const presence = ids.map((id) => this.publicView(id, stored.get(id) ?? { show: 'online' }));
    presence.push(this.selfView(me, stored.get(me) ?? { show: 'online' }));
    return { contacts, presence };
  }

  /** Adds or refiles a contact, telling the caller's connections about it and its presence. */
  async addContact(caller: Caller, { userId, groups }: Args<'addContact'>): Promise<Contact> {
    refuseVisitors(caller, 'contacts');
    if (userId === caller.user.id) throw new RequestError('bad_request', 'You cannot add yourself as a contact.');
    const user = await requirePerson(this.deps, userId);
    const unique = [...new Set(groups)];
    await this.deps.storage.putContact(caller.user.id, userId, unique, this.deps.now());
    const contact: Contact = { user, groups: unique };
    const { fanout } = this.deps;
    fanout.publish([caller.user.id], { type: 'event', event: 'contact', data: { contact } });
    fanout.publish([caller.user.id], { type: 'event', event: 'presence', data: this.publicView(userId, await this.stored(userId)) });
    return contact;
  }

  /** Removes a contact (a no-op when it is none), telling the caller's connections. */
  async removeContact(caller: Caller, { userId }: Args<'removeContact'>): Promise<null> {
    refuseVisitors(caller, 'contacts');
    const groups = await this.deps.storage.removeContact(caller.user.id, userId);
    if (groups === undefined) return null;
    const user = (await this.deps.storage.getUser(userId)) ?? { id: userId, name: userId };
    this.deps.fanout.publish([caller.user.id], { type: 'event', event: 'contact', data: { contact: { user, groups }, removed: true } });
    return null;
  }

  /** Everyone except anonymous visitors. */
  async directory(caller: Caller): Promise<User[]> {
    refuseVisitors(caller, 'the directory');
    return this.deps.storage.listDirectory();
  }

  /** One user's profile. Visitors see only themselves and the people in their conversations. */
  async profile(caller: Caller, { userId }: Args<'profile'>): Promise<User> {
    const notFound = new RequestError('not_found', `There is no user with id ${JSON.stringify(userId)}.`);
    if (caller.user.visitor === true && userId !== caller.user.id) {
      const mine = await this.deps.storage.listConversations(caller.user.id);
      if (!mine.some((record) => record.members.some((member) => member.userId === userId))) throw notFound;
    }
    const user = await this.deps.storage.getUser(userId);
    if (user === undefined) throw notFound;
    return user;
  }

  // ---- helpers

  private async stored(userId: Id): Promise<StoredPresence> {
    return (await this.deps.storage.getPresence([userId])).get(userId) ?? { show: 'online' };
  }

  /** What others see: offline (with lastSeen) without a connection or when invisible. */
  private publicView(userId: Id, stored: StoredPresence): Presence {
    if (!this.deps.presence.isOnline(userId) || stored.show === 'invisible') {
      const offline: Presence = { userId, show: 'offline' };
      if (stored.lastSeen !== undefined) offline.lastSeen = stored.lastSeen;
      return offline;
    }
    const presence: Presence = { userId, show: stored.show };
    if (stored.status !== undefined) presence.status = stored.status;
    return presence;
  }

  /** What the user sees of themselves: their choice, `invisible` included. */
  private selfView(userId: Id, stored: StoredPresence): Presence {
    if (!this.deps.presence.isOnline(userId)) return this.publicView(userId, stored);
    const presence: Presence = { userId, show: stored.show };
    if (stored.status !== undefined) presence.status = stored.status;
    return presence;
  }

  private async tellWatchers(userId: Id, presence: Presence): Promise<void> {
    const watchers = (await this.deps.storage.watchersOf(userId)).filter((watcher) => watcher !== userId);
    this.deps.fanout.publish(watchers, { type: 'event', event: 'presence', data: presence });
  }
}
