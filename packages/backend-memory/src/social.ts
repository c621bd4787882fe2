import { PerchError } from '@perch/core';
import type { Contact, Id, Presence, PresenceShow, User } from '@perch/protocol';
import { COMMAND_ARGS, validatePresence } from '@perch/protocol';
import type { MemoryHub } from './hub.js';
import type { HubLink } from './link.js';

interface Chosen {
  show: Exclude<PresenceShow, 'offline'>;
  status?: string;
}

/**
 * Contacts, presence, the directory and profiles: the social half of the hub. A user's chosen
 * presence (default `online`) applies while they have a connection; others see `invisible` as
 * `offline`, and everyone without a connection is `offline` with `lastSeen`.
 */
export class SocialService {
  private readonly hub: MemoryHub;
  /** owner → (contact user id → groups). */
  private readonly contacts = new Map<Id, Map<Id, string[]>>();
  private readonly chosen = new Map<Id, Chosen>();
  private readonly lastSeen = new Map<Id, number>();

  /** Creates the social store of `hub`. */
  constructor(hub: MemoryHub) {
    this.hub = hub;
  }

  /** The presence of `userId` as `viewerId` sees it. */
  presenceFor(viewerId: Id, userId: Id): Presence {
    const chosen = this.chosen.get(userId) ?? { show: 'online' };
    const hidden = chosen.show === 'invisible' && viewerId !== userId;
    if (!this.hub.isConnected(userId) || hidden) {
      const offline: Presence = { userId, show: 'offline' };
      const lastSeen = this.lastSeen.get(userId);
      if (lastSeen !== undefined) offline.lastSeen = lastSeen;
      return offline;
    }
    const presence: Presence = { userId, show: chosen.show };
    if (chosen.status !== undefined) presence.status = chosen.status;
    return presence;
  }

  /**
   * Applies `change` (a connection opening or closing, a new chosen presence) and, when what
   * others see of `userId` changed, sends the new presence to everyone who has them as a contact.
   */
  transition(userId: Id, change: () => void): void {
    const before = JSON.stringify(this.presenceFor('', userId));
    change();
    if (JSON.stringify(this.presenceFor('', userId)) === before) return;
    this.hub.emitTo(
      this.watchers(userId).filter((watcher) => watcher !== userId),
      (viewerId) => ({ type: 'presence', presence: this.presenceFor(viewerId, userId) }),
    );
  }

  /** True when the user chose `invisible` (see the server's ChatService.mark: no delivered receipts then). */
  isInvisible(userId: Id): boolean {
    return this.chosen.get(userId)?.show === 'invisible';
  }

  /** Records that the user's last connection closed (invisible users keep their earlier `lastSeen`). */
  wentOffline(userId: Id): void {
    if (this.chosen.get(userId)?.show !== 'invisible') this.lastSeen.set(userId, this.hub.now());
  }

  /** Validates and applies a presence chosen by the user, telling watchers and the user's other connections. */
  setPresence(userId: Id, input: { show: Exclude<PresenceShow, 'offline'>; status?: string }, origin?: HubLink): void {
    const checked = validatePresence(input);
    if (!checked.ok) throw new PerchError('bad_request', checked.error);
    const value = checked.value;
    const show = value.show;
    this.transition(userId, () => {
      const previous = this.chosen.get(userId)?.show ?? 'online';
      if (show === 'invisible' && previous !== 'invisible' && this.hub.isConnected(userId)) {
        this.lastSeen.set(userId, this.hub.now());
      }
      const chosen: Chosen = { show };
      if (value.status !== undefined) chosen.status = value.status;
      this.chosen.set(userId, chosen);
    });
    this.hub.emitTo([userId], () => ({ type: 'presence', presence: this.presenceFor(userId, userId) }), origin);
  }

  /** The user's contacts and the presence of each, as the user sees it, then the user's own (as chosen). */
  roster(userId: Id): { contacts: Contact[]; presence: Presence[] } {
    const contacts: Contact[] = [];
    const presence: Presence[] = [];
    for (const [contactId, groups] of this.contacts.get(userId) ?? []) {
      const user = this.hub.findUser(contactId);
      if (user === undefined) continue;
      contacts.push({ user: structuredClone(user), groups: [...groups] });
      presence.push(this.presenceFor(userId, contactId));
    }
    presence.push(this.presenceFor(userId, userId));
    return { contacts, presence };
  }

  /**
   * Adds or refiles a contact, telling the owner's connections about it and its presence. Group
   * names are checked as the server checks them, except with `trusted` (the hub's own seeding, which
   * stands for data from any backend: tests file contacts under hostile names to see them rendered
   * as text).
   */
  addContact(ownerId: Id, input: { userId: Id; groups: string[] }, trusted = false): Contact {
    this.hub.requireUser(ownerId);
    const user = this.hub.requireUser(input.userId);
    if (input.userId === ownerId) throw new PerchError('bad_request', 'You cannot add yourself as a contact.');
    const groups = input.groups ?? [];
    if (!trusted) {
      // Checked as the server checks the addContact command, in its words.
      const valid = COMMAND_ARGS.addContact({ userId: input.userId, groups });
      if (!valid.ok) throw new PerchError('bad_request', valid.error);
    }
    let mine = this.contacts.get(ownerId);
    if (mine === undefined) this.contacts.set(ownerId, (mine = new Map()));
    mine.set(input.userId, [...new Set(groups)]);
    const contact: Contact = { user: structuredClone(user), groups: [...new Set(groups)] };
    this.hub.emitTo([ownerId], () => ({ type: 'contact', contact, removed: false }));
    this.hub.emitTo([ownerId], () => ({ type: 'presence', presence: this.presenceFor(ownerId, input.userId) }));
    return contact;
  }

  /** Removes a contact (a no-op when it is not one), telling the owner's connections. */
  removeContact(ownerId: Id, userId: Id): void {
    const mine = this.contacts.get(ownerId);
    const groups = mine?.get(userId);
    if (mine === undefined || groups === undefined) return;
    mine.delete(userId);
    const user = this.hub.findUser(userId) ?? { id: userId, name: userId };
    const contact: Contact = { user: structuredClone(user), groups };
    this.hub.emitTo([ownerId], () => ({ type: 'contact', contact, removed: true }));
  }

  /** Every user except anonymous visitors. */
  directory(): User[] {
    return this.hub.allUsers().filter((user) => user.visitor !== true).map((user) => structuredClone(user));
  }

  /** The profile of one user, or `not_found`. */
  profile(userId: Id): User {
    return structuredClone(this.hub.requireUser(userId));
  }

  /** Everyone who has `userId` in their buddy list. */
  private watchers(userId: Id): Id[] {
    const watchers: Id[] = [];
    for (const [ownerId, mine] of this.contacts) if (mine.has(userId)) watchers.push(ownerId);
    return watchers;
  }
}
