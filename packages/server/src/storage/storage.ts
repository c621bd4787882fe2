/**
 * The storage contract of the reference server. Every method returns a Promise even though the
 * SQLite implementation is synchronous underneath, so that a networked database (PostgreSQL) can
 * implement the same interface later without touching the services: add `storage/postgres.ts`
 * implementing {@link Storage}, and choose it in `server.ts` where `openSqliteStorage` is called.
 *
 * The methods are domain operations, not queries: each one that must be atomic (appending a
 * message, publishing a post, moving a marker) is one method, so that each engine can make it one
 * transaction.
 */
import type { Contact, Id, Message, Post, PresenceShow, User } from '@perch/protocol';

/** A member of a conversation with the markers the server keeps for them. */
export interface MemberRecord {
  userId: Id;
  /** The member's display name (directs are titled by the other person's name). */
  name: string;
  readSeq: number;
  deliveredSeq: number;
}

/** A conversation as stored, before it is shaped for one viewer. */
export interface ConversationRecord {
  id: Id;
  kind: 'direct' | 'group';
  title?: string;
  /** Members in the order they were added. */
  members: MemberRecord[];
  lastSeq: number;
  createdAt: number;
  lastActivity?: number;
}

/** A new message to append; the storage assigns `seq`. */
export interface NewMessage {
  id: Id;
  conversationId: Id;
  senderId: Id;
  clientId: string;
  text: string;
  createdAt: number;
  sentAt: number;
}

/** The outcome of an idempotent write: the stored row, and whether this call created it. */
export interface Persisted<T> {
  value: T;
  /** False when a row with the same (sender, clientId) already existed and was returned as is. */
  fresh: boolean;
}

/** A new group conversation to create. */
export interface NewGroup {
  id: Id;
  title: string;
  /** The members, the creator first. */
  members: Id[];
  /** The creator's key for this group, making a retry of the creation idempotent. */
  clientId?: string;
}

/** A new post to publish. */
export interface NewPost {
  id: Id;
  authorId: Id;
  clientId: string;
  text: string;
  createdAt: number;
  sentAt: number;
  replyTo?: Id;
}

/** Which posts a feed page holds, with user-facing names already resolved. */
export type FeedQuery =
  | { kind: 'home'; viewerId: Id }
  | { kind: 'user'; authorId: Id }
  | { kind: 'mentions'; handles: string[] };

/** The presence a user chose, and when they were last seen; stored so it survives restarts. */
export interface StoredPresence {
  show: Exclude<PresenceShow, 'offline'>;
  status?: string;
  lastSeen?: number;
}

/** Where a batch of {@link Storage.purgeVisitors} stopped: the last visitor it looked at, as (last used, id). */
export type VisitorCursor = [lastUsed: number, userId: Id];

/** One bounded batch of the purge of abandoned visitors ({@link Storage.purgeVisitors}). */
export interface VisitorPurge {
  /** Visitors last used before this time (ms since the epoch) may go. */
  usedBefore: number;
  /**
   * Visitors with a connection open: never removed, whatever their last use; a kept one looked at
   * has its last use moved to `now`, so that its time starts again once it leaves.
   */
  keep: readonly Id[];
  /** The server clock (ms since the epoch). */
  now: number;
  /** At most this many visitors are looked at (kept or removed) in this batch. */
  limit: number;
  /** Goes on after the visitor where the previous batch of the same run stopped (its `next`). */
  after?: VisitorCursor;
}

/** What one batch of {@link Storage.purgeVisitors} did. */
export interface VisitorPurgeBatch {
  /** Visitors looked at (at most `limit`). */
  examined: number;
  /** Visitors removed, with their tokens. */
  deleted: number;
  /** Where to go on with the next batch; absent when no visitor older than `usedBefore` is left to look at. */
  next?: VisitorCursor;
}

/** Which marker moved in {@link Storage.advanceMarker}. */
export interface MarkerMoves {
  /** The new delivered marker, when it moved. */
  delivered?: number;
  /** The new read marker, when it moved. */
  read?: number;
}

/** Everything the server persists. See the file comment for how to add another engine. */
export interface Storage {
  // ---- users and visitors
  /** Creates or updates a signed-in user from their token's claims (never a visitor). */
  upsertUser(user: User, now: number): Promise<void>;
  /** One user, visitors included, or undefined. */
  getUser(id: Id): Promise<User | undefined>;
  /** Every non-visitor user, ordered by name. */
  listDirectory(): Promise<User[]>;
  /** Creates a visitor user and stores the SHA-256 hash of their token. */
  createVisitor(user: User, tokenHash: string, now: number): Promise<void>;
  /** The visitor whose (unrevoked) token has this hash. */
  findVisitor(tokenHash: string): Promise<User | undefined>;
  /** Revokes every token of a visitor; resolves to how many were revoked. */
  revokeVisitorTokens(userId: Id, now: number): Promise<number>;
  /**
   * Records that a visitor was used (signed in with its token) at `now`; resolves to false when
   * there is no such visitor any more (it was purged meanwhile).
   */
  touchVisitor(userId: Id, now: number): Promise<boolean>;
  /**
   * One batch of the purge of abandoned visitors: looks at up to `limit` visitors last used before
   * `usedBefore`, oldest first (after `after`), and removes with their tokens each one that is a
   * member of no conversation and not in `keep`. A visitor who chatted is kept for good: support
   * transcripts are the site's records. Bounded, so that the storage is never held for long.
   */
  purgeVisitors(batch: VisitorPurge): Promise<VisitorPurgeBatch>;

  // ---- presence
  /** The stored presence of each of `userIds` (users without a row are left out). */
  getPresence(userIds: readonly Id[]): Promise<Map<Id, StoredPresence>>;
  /** Stores a chosen presence; `lastSeen` is kept unless given. */
  setPresence(userId: Id, presence: StoredPresence): Promise<void>;
  /** Records when the user was last connected. */
  setLastSeen(userId: Id, at: number): Promise<void>;

  // ---- conversations and messages
  /** The direct conversation of a pair, created with `candidateId` when it does not exist yet. */
  openDirect(a: Id, b: Id, candidateId: Id, now: number): Promise<Persisted<ConversationRecord>>;
  /**
   * Creates a group with the given members (the creator first). With a `clientId`, a second call
   * with the same (creator, clientId) creates nothing and returns the original group as is.
   */
  createGroup(input: NewGroup, now: number): Promise<Persisted<ConversationRecord>>;
  getConversation(id: Id): Promise<ConversationRecord | undefined>;
  /** The member ids of a conversation (immutable once created), or undefined when it does not exist. */
  getMembers(conversationId: Id): Promise<Id[] | undefined>;
  /** Every conversation of a user, most recently active first. */
  listConversations(userId: Id): Promise<ConversationRecord[]>;
  /**
   * Appends a message with the next seq and moves the sender's own read and delivered markers to
   * it, atomically. A second append with the same (senderId, clientId) returns the original row.
   */
  appendMessage(input: NewMessage): Promise<Persisted<Message>>;
  getMessage(conversationId: Id, id: Id): Promise<Message | undefined>;
  /** Replaces a message's text (and marks it deleted when asked); resolves to the updated row. */
  updateMessage(conversationId: Id, id: Id, change: { text: string; editedAt: number; deleted?: boolean }): Promise<Message | undefined>;
  /**
   * Up to `limit` messages in ascending seq order: those with seq > `after`, or else the newest
   * ones with seq < `before` (or the newest of all). `complete` is true when nothing more lies in
   * that direction.
   */
  history(conversationId: Id, range: { after?: number; before?: number; limit: number }): Promise<{ messages: Message[]; complete: boolean }>;
  /**
   * Moves a member's delivered marker (and for `read` also the read marker) forward to `seq`,
   * clamped to the conversation's last seq, never back.
   */
  advanceMarker(conversationId: Id, userId: Id, kind: 'read' | 'delivered', seq: number): Promise<MarkerMoves>;

  // ---- contacts
  listContacts(ownerId: Id): Promise<Contact[]>;
  /** Adds or refiles a contact. */
  putContact(ownerId: Id, contactId: Id, groups: string[], now: number): Promise<void>;
  /** Removes a contact; resolves to the groups it had, or undefined when it was none. */
  removeContact(ownerId: Id, contactId: Id): Promise<string[] | undefined>;
  /** Everyone who has `userId` in their buddy list. */
  watchersOf(userId: Id): Promise<Id[]>;

  // ---- follows and posts
  setFollow(followerId: Id, followeeId: Id, on: boolean, now: number): Promise<void>;
  followersOf(userId: Id): Promise<Id[]>;
  /**
   * Publishes a post (and increments the parent's `replies`), atomically. A second publish with the
   * same (authorId, clientId) returns the original. Posts come back with `liked` unset. Here and
   * below, a reply carries `replyToAuthorId`, the author of its parent.
   */
  createPost(input: NewPost): Promise<Persisted<Post>>;
  /** A post with `liked` set for `viewerId`. */
  getPost(id: Id, viewerId: Id): Promise<Post | undefined>;
  /**
   * Up to `limit` posts newest first, older than the post `before` when given (undefined when that
   * post does not exist), each with `liked` for `viewerId`.
   */
  feed(query: FeedQuery, viewerId: Id, page: { before?: Id; limit: number }): Promise<{ posts: Post[]; complete: boolean } | undefined>;
  /** Likes or unlikes; resolves to whether anything changed, or undefined when the post does not exist. */
  setLike(postId: Id, userId: Id, on: boolean): Promise<boolean | undefined>;
  /** Which of `userIds` like the post. */
  likersAmong(postId: Id, userIds: readonly Id[]): Promise<Set<Id>>;

  // ---- lifecycle
  /** True when the store holds no user at all (the demo seeds only then). */
  isEmpty(): Promise<boolean>;
  /** Flushes and closes the store; no method may be called afterwards. */
  close(): Promise<void>;
}
