/**
 * The SQLite half of {@link Storage} that deals with people: users, visitors, stored presence,
 * contacts and the follow graph.
 */
import type Database from 'better-sqlite3';
import type { Contact, Id, PresenceShow, User } from '@perch/protocol';
import type { Storage, StoredPresence, VisitorCursor, VisitorPurgeBatch } from './storage.js';
import type { WriteBatch } from './write-batch.js';

/** A row of `users`. */
export interface UserRow {
  id: string;
  name: string;
  avatar: string | null;
  title: string | null;
  department: string | null;
  phone: string | null;
  email: string | null;
  location: string | null;
  time_zone: string | null;
  visitor: number;
}

interface PresenceRow {
  id: string;
  show: string;
  status: string | null;
  last_seen: number | null;
}

const USER_COLUMNS = 'u.id, u.name, u.avatar, u.title, u.department, u.phone, u.email, u.location, u.time_zone, u.visitor';

/**
 * A batch of the visitor purge: up to `limit` visitors last used before `usedBefore`, oldest first,
 * after the (last_used, id) where the previous batch stopped. Forced onto users_visitors_by_use:
 * the planner would otherwise take users_directory (visitor, name), reading every visitor, those
 * kept for good included, and sorting them, at every batch.
 */
export const SELECT_UNUSED_VISITORS = `
  SELECT id, last_used FROM users INDEXED BY users_visitors_by_use
  WHERE visitor = 1 AND last_used < ? AND (last_used, id) > (?, ?)
  ORDER BY last_used, id LIMIT ?`;

/** Turns a `users` row into a {@link User}, leaving out empty fields. */
export function userFromRow(row: UserRow): User {
  const user: User = { id: row.id, name: row.name };
  if (row.avatar !== null) user.avatar = row.avatar;
  if (row.title !== null) user.title = row.title;
  if (row.department !== null) user.department = row.department;
  if (row.phone !== null) user.phone = row.phone;
  if (row.email !== null) user.email = row.email;
  if (row.location !== null) user.location = row.location;
  if (row.time_zone !== null) user.timeZone = row.time_zone;
  if (row.visitor === 1) user.visitor = true;
  return user;
}

type UserMethods = Pick<
  Storage,
  | 'upsertUser'
  | 'getUser'
  | 'listDirectory'
  | 'createVisitor'
  | 'findVisitor'
  | 'revokeVisitorTokens'
  | 'touchVisitor'
  | 'purgeVisitors'
  | 'getPresence'
  | 'setPresence'
  | 'setLastSeen'
  | 'listContacts'
  | 'putContact'
  | 'removeContact'
  | 'watchersOf'
  | 'setFollow'
  | 'followersOf'
  | 'isEmpty'
>;

/** Builds the people methods of the SQLite storage over an open, migrated database; writes go through `batch`. */
export function sqliteUsers(db: Database.Database, batch: WriteBatch): UserMethods {
  const profile = (user: User) => [
    user.name,
    user.avatar ?? null,
    user.title ?? null,
    user.department ?? null,
    user.phone ?? null,
    user.email ?? null,
    user.location ?? null,
    user.timeZone ?? null,
  ];
  const upsert = db.prepare(`
    INSERT INTO users (id, name, avatar, title, department, phone, email, location, time_zone, visitor, created_at, updated_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)
    ON CONFLICT (id) DO UPDATE SET name = excluded.name, avatar = excluded.avatar, title = excluded.title,
      department = excluded.department, phone = excluded.phone, email = excluded.email, location = excluded.location,
      time_zone = excluded.time_zone, updated_at = excluded.updated_at`);
  const insertVisitor = db.prepare(`
    INSERT INTO users (id, name, avatar, title, department, phone, email, location, time_zone, visitor, created_at, updated_at, last_used)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?)`);
  const insertToken = db.prepare('INSERT INTO visitor_tokens (token_hash, user_id, created_at) VALUES (?, ?, ?)');
  const selectUser = db.prepare(`SELECT ${USER_COLUMNS} FROM users u WHERE u.id = ?`);
  const selectDirectory = db.prepare(`SELECT ${USER_COLUMNS} FROM users u WHERE u.visitor = 0 ORDER BY u.name COLLATE NOCASE, u.id`);
  const selectVisitor = db.prepare(`
    SELECT ${USER_COLUMNS} FROM visitor_tokens t JOIN users u ON u.id = t.user_id
    WHERE t.token_hash = ? AND t.revoked_at IS NULL AND u.visitor = 1`);
  const revoke = db.prepare('UPDATE visitor_tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL');
  const touch = db.prepare('UPDATE users SET last_used = ? WHERE id = ? AND visitor = 1');
  const selectUnused = db.prepare(SELECT_UNUSED_VISITORS);
  const isMember = db.prepare('SELECT 1 FROM members WHERE user_id = ? LIMIT 1').pluck();
  // Its tokens go with it (ON DELETE CASCADE), and so would contacts, follows and likes.
  const deleteVisitor = db.prepare('DELETE FROM users WHERE id = ? AND visitor = 1');
  const selectPresence = db.prepare('SELECT id, show, status, last_seen FROM users WHERE id = ?');
  const updatePresence = db.prepare('UPDATE users SET show = ?, status = ?, last_seen = coalesce(?, last_seen) WHERE id = ?');
  const updateLastSeen = db.prepare('UPDATE users SET last_seen = ? WHERE id = ?');
  const selectContacts = db.prepare(`
    SELECT ${USER_COLUMNS}, c.groups FROM contacts c JOIN users u ON u.id = c.contact_id
    WHERE c.owner_id = ? ORDER BY c.added_at, u.id`);
  const upsertContact = db.prepare(`
    INSERT INTO contacts (owner_id, contact_id, groups, added_at) VALUES (?, ?, ?, ?)
    ON CONFLICT (owner_id, contact_id) DO UPDATE SET groups = excluded.groups`);
  const selectContactGroups = db.prepare('SELECT groups FROM contacts WHERE owner_id = ? AND contact_id = ?').pluck();
  const deleteContact = db.prepare('DELETE FROM contacts WHERE owner_id = ? AND contact_id = ?');
  const selectWatchers = db.prepare('SELECT owner_id FROM contacts WHERE contact_id = ?').pluck();
  const insertFollow = db.prepare('INSERT OR IGNORE INTO follows (follower_id, followee_id, created_at) VALUES (?, ?, ?)');
  const deleteFollow = db.prepare('DELETE FROM follows WHERE follower_id = ? AND followee_id = ?');
  const selectFollowers = db.prepare('SELECT follower_id FROM follows WHERE followee_id = ?').pluck();
  const anyUser = db.prepare('SELECT 1 FROM users LIMIT 1').pluck();

  const createVisitor = (user: User, tokenHash: string, now: number) => {
    insertVisitor.run(user.id, ...profile(user), now, now, now);
    insertToken.run(tokenHash, user.id, now);
  };
  const purgeVisitors = (usedBefore: number, keep: ReadonlySet<Id>, now: number, limit: number, after: VisitorCursor | undefined): VisitorPurgeBatch => {
    const [fromUse, fromId] = after ?? [Number.MIN_SAFE_INTEGER, ''];
    const rows = selectUnused.all(usedBefore, fromUse, fromId, limit) as Array<{ id: string; last_used: number }>;
    let deleted = 0;
    for (const row of rows) {
      if (keep.has(row.id)) touch.run(now, row.id);
      else if (isMember.get(row.id) === undefined) {
        try {
          deleted += deleteVisitor.run(row.id).changes;
        } catch {
          // Something else of the visitor's that must stay refers to it (a FOREIGN KEY refused the
          // delete, which SQLite undid alone): it is kept, and the cursor goes on past it.
        }
      }
    }
    const last = rows.at(-1);
    const batch: VisitorPurgeBatch = { examined: rows.length, deleted };
    if (rows.length === limit && last !== undefined) batch.next = [last.last_used, last.id];
    return batch;
  };
  const removeContact = (ownerId: Id, contactId: Id): string[] | undefined => {
    const groups = selectContactGroups.get(ownerId, contactId) as string | undefined;
    if (groups === undefined) return undefined;
    deleteContact.run(ownerId, contactId);
    return JSON.parse(groups) as string[];
  };

  return {
    async upsertUser(user, now) {
      await batch.run(() => upsert.run(user.id, ...profile(user), now, now));
    },
    async getUser(id) {
      const row = selectUser.get(id) as UserRow | undefined;
      return row === undefined ? undefined : userFromRow(row);
    },
    async listDirectory() {
      return (selectDirectory.all() as UserRow[]).map(userFromRow);
    },
    async createVisitor(user, tokenHash, now) {
      await batch.run(() => createVisitor(user, tokenHash, now));
    },
    async findVisitor(tokenHash) {
      const row = selectVisitor.get(tokenHash) as UserRow | undefined;
      return row === undefined ? undefined : userFromRow(row);
    },
    async revokeVisitorTokens(userId, now) {
      return batch.run(() => revoke.run(now, userId).changes);
    },
    async touchVisitor(userId, now) {
      return batch.run(() => touch.run(now, userId).changes > 0);
    },
    async purgeVisitors({ usedBefore, keep, now, limit, after }) {
      // Through the group commit, in call order: a sign-in's touchVisitor asked for before it is
      // applied first (so that visitor is no longer unused), and one asked for after it finds the
      // visitor gone and refuses the sign-in.
      const kept = new Set(keep);
      return batch.run(() => purgeVisitors(usedBefore, kept, now, Math.max(1, Math.floor(limit)), after));
    },
    async getPresence(userIds) {
      const out = new Map<Id, StoredPresence>();
      for (const id of userIds) {
        const row = selectPresence.get(id) as PresenceRow | undefined;
        if (row === undefined) continue;
        const presence: StoredPresence = { show: row.show as Exclude<PresenceShow, 'offline'> };
        if (row.status !== null) presence.status = row.status;
        if (row.last_seen !== null) presence.lastSeen = row.last_seen;
        out.set(id, presence);
      }
      return out;
    },
    async setPresence(userId, presence) {
      await batch.run(() => updatePresence.run(presence.show, presence.status ?? null, presence.lastSeen ?? null, userId));
    },
    async setLastSeen(userId, at) {
      await batch.run(() => updateLastSeen.run(at, userId));
    },
    async listContacts(ownerId) {
      return (selectContacts.all(ownerId) as Array<UserRow & { groups: string }>).map(
        (row): Contact => ({ user: userFromRow(row), groups: JSON.parse(row.groups) as string[] }),
      );
    },
    async putContact(ownerId, contactId, groups, now) {
      await batch.run(() => upsertContact.run(ownerId, contactId, JSON.stringify(groups), now));
    },
    async removeContact(ownerId, contactId) {
      return batch.run(() => removeContact(ownerId, contactId));
    },
    async watchersOf(userId) {
      return selectWatchers.all(userId) as Id[];
    },
    async setFollow(followerId, followeeId, on, now) {
      await batch.run(() => (on ? insertFollow.run(followerId, followeeId, now) : deleteFollow.run(followerId, followeeId)));
    },
    async followersOf(userId) {
      return selectFollowers.all(userId) as Id[];
    },
    async isEmpty() {
      return anyUser.get() === undefined;
    },
  };
}
