import { PerchError, type Auth, type CloseReason } from '@perch/core';
import type { Conversation, ErrorCode, Id, Message, Post, User } from '@perch/protocol';
import { cleanLine, validateUser, visitorName } from '@perch/protocol';
import { ChatService } from './chat.js';
import { FeedService } from './feed.js';
import { chance, noFaults, type Faults, type RejectInput, type RejectPredicate } from './faults.js';
import { unknownUser, type HubEvent, type HubLink } from './link.js';
import { SocialService } from './social.js';

/** Options for a new {@link MemoryHub}. */
export interface MemoryHubOptions {
  /** The hub's clock in milliseconds since the epoch; defaults to `Date.now`. */
  now?: () => number;
  /** The random generator behind probabilistic faults; defaults to `Math.random`. */
  random?: () => number;
}

/** The outcome of authenticating a connection. */
export interface Authenticated {
  /** The signed-in user. */
  user: User;
  /** For visitors, the token that resumes the same visitor later. */
  visitorToken?: string;
}

/**
 * An in-page server shared by any number of clients: it holds users, conversations, messages,
 * contacts, presence and the feed, and pushes events to every open connection. It also carries
 * the fault injection used by the core's resilience tests (`hub.faults` and the methods below).
 */
export class MemoryHub {
  /** The mutable fault settings, read on every answer and event. */
  readonly faults: Faults;
  /** The hub's clock; tests may replace it to control `sentAt` and `lastSeen`. */
  now: () => number;
  /** Conversations and messages (internal; use the connection or the seeding helpers). */
  readonly chat: ChatService;
  /** Contacts, presence and the directory (internal; use the connection or the seeding helpers). */
  readonly social: SocialService;
  /** Posts, follows and likes (internal; use the connection or the seeding helpers). */
  readonly feed: FeedService;

  private readonly users = new Map<Id, User>();
  private readonly tokenUsers = new Map<string, Id>();
  private readonly userTokens = new Map<Id, string>();
  private readonly visitorTokens = new Map<string, Id>();
  private readonly links = new Map<Id, Set<HubLink>>();
  private readonly connectRejections: Array<{ code: ErrorCode; retryAfter: number | undefined }> = [];
  private acksToLose = 0;
  private rejecter: RejectPredicate | undefined;

  /** Creates an empty hub with no users and no faults. */
  constructor(options: MemoryHubOptions = {}) {
    this.faults = noFaults(options.random ?? Math.random);
    this.now = options.now ?? Date.now;
    this.chat = new ChatService(this);
    this.social = new SocialService(this);
    this.feed = new FeedService(this);
  }

  // ---- Seeding and inspection ----

  /** Adds a user, or replaces the profile of an existing one; throws `bad_request` for an invalid profile. */
  addUser(user: User): void {
    const checked = validateUser(user);
    if (!checked.ok) throw new PerchError('bad_request', checked.error);
    this.users.set(checked.value.id, checked.value);
  }

  /** Returns the sign-in token of a user (the same one every time until revoked). */
  token(userId: Id): string {
    this.requireUser(userId);
    let token = this.userTokens.get(userId);
    if (token === undefined) {
      token = `tok-${crypto.randomUUID()}`;
      this.userTokens.set(userId, token);
      this.tokenUsers.set(token, userId);
    }
    return token;
  }

  /** Invalidates a user's token, so that the next `connect` with it is `unauthorized`. */
  revokeToken(userId: Id): void {
    const token = this.userTokens.get(userId);
    if (token === undefined) return;
    this.userTokens.delete(userId);
    this.tokenUsers.delete(token);
  }

  /** Files `contactUserId` in the buddy list of `ownerId` under `groups`, as a real server's admin would. */
  addContact(ownerId: Id, contactUserId: Id, groups: string[] = []): void {
    this.social.addContact(ownerId, { userId: contactUserId, groups }, true);
  }

  /** Makes `followerId` follow `followeeId` in the feed. */
  follow(followerId: Id, followeeId: Id): void {
    this.feed.follow(followerId, { userId: followeeId, on: true });
  }

  /**
   * Persists a message as if `senderId` had sent it from another device, fans it out to every
   * member's connections and returns it.
   */
  injectMessage(conversationId: Id, senderId: Id, text: string): Message {
    const input = { conversationId, clientId: `inject-${crypto.randomUUID()}`, text, createdAt: this.now() };
    return structuredClone(this.chat.send(senderId, input, { checkFaults: false }).message);
  }

  /** Opens (or finds) the direct conversation of two users, for seeding. */
  openDirect(userId: Id, otherId: Id): Conversation {
    return structuredClone(this.chat.openDirect(userId, otherId));
  }

  /** Publishes a post as `authorId` (fanned out like any post), for seeding; returns it. */
  publish(authorId: Id, text: string, replyTo?: Id): Post {
    const input = { clientId: `seed-${crypto.randomUUID()}`, text, createdAt: this.now() };
    return structuredClone(this.feed.publish(authorId, replyTo ? { ...input, replyTo } : input).post);
  }

  /** Makes `userId` like a post, for seeding. */
  like(userId: Id, postId: Id): void {
    this.feed.like(userId, { postId, on: true });
  }

  /** Every retained message of a conversation in ascending seq order (copies). */
  messages(conversationId: Id): Message[] {
    return this.chat.retained(conversationId);
  }

  /** Every conversation of a user, as that user's `conversations()` would return it. */
  conversationsOf(userId: Id): Conversation[] {
    return this.chat.list(userId);
  }

  /** Drops all but the newest `keepLast` messages and raises the retention floor, forcing resyncs. */
  compact(conversationId: Id, keepLast: number): void {
    this.chat.compact(conversationId, keepLast);
  }

  /** The number of open connections, of one user or of everybody. */
  connectionCount(userId?: Id): number {
    if (userId !== undefined) return this.links.get(userId)?.size ?? 0;
    let count = 0;
    for (const set of this.links.values()) count += set.size;
    return count;
  }

  // ---- Fault injection ----

  /** Takes the hub offline (dropping every connection with `unavailable`) or back online. */
  setOffline(offline: boolean): void {
    this.faults.offline = offline;
    if (offline) this.dropMatching(() => true, { code: 'unavailable', message: 'hub offline' });
  }

  /** Closes the matching connections abruptly: pending commands reject and listeners get `closed`. */
  dropConnections(filter: (userId: Id) => boolean = () => true): void {
    this.dropMatching(filter, { code: 'unavailable', message: 'Connection dropped by fault injection.' });
  }

  /** Makes the next `times` connection attempts reject with `code` and an optional `retryAfter`. */
  rejectConnect(code: ErrorCode, retryAfter?: number, times = 1): void {
    for (let i = 0; i < times; i++) this.connectRejections.push({ code, retryAfter });
  }

  /** Loses the acknowledgements of the next `count` persisted messages or posts, dropping their connections. */
  loseNextAcks(count: number): void {
    this.acksToLose += count;
  }

  /** Installs a predicate that permanently rejects chosen messages and posts; `undefined` clears it. */
  rejectMessages(predicate: RejectPredicate | undefined): void {
    this.rejecter = predicate;
  }

  // ---- Used by connections and services ----

  /**
   * Checks the connect-time faults and credentials: rejects with `unavailable` while offline, with
   * a queued `rejectConnect` error, or with `unauthorized` for an unknown token.
   */
  authenticate(auth: Auth): Authenticated {
    if (this.faults.offline) throw new PerchError('unavailable', 'hub offline');
    const rejection = this.connectRejections.shift();
    if (rejection !== undefined) {
      throw new PerchError(rejection.code, `Connection refused by fault injection (${rejection.code}).`, rejection.retryAfter);
    }
    if ('token' in auth) {
      const userId = typeof auth.token === 'string' ? this.tokenUsers.get(auth.token) : undefined;
      const user = userId === undefined ? undefined : this.users.get(userId);
      if (user === undefined) throw new PerchError('unauthorized', 'The token is unknown or was revoked.');
      return { user: structuredClone(user) };
    }
    const { name, email, token } = auth.visitor;
    if (token !== undefined) {
      // As perch-server does: a visit that ended stays ended; the visitor starts a new one without the token.
      const known = this.users.get(this.visitorTokens.get(token) ?? '');
      if (known === undefined) throw new PerchError('unauthorized', 'The visitor token is unknown or was revoked; connect without it to start a new visit.');
      return { user: structuredClone(known), visitorToken: token };
    }
    // Cleaned, not refused, as the server does: a pasted line break in the pre-chat form must not keep a visitor out.
    const user: User = { id: `visitor-${crypto.randomUUID()}`, name: visitorName(name), visitor: true };
    const cleanEmail = cleanLine(email ?? '');
    if (cleanEmail !== '') user.email = cleanEmail;
    this.addUser(user);
    const visitorToken = `visitor-${crypto.randomUUID()}`;
    this.visitorTokens.set(visitorToken, user.id);
    return { user: structuredClone(user), visitorToken };
  }

  /** Registers an open connection; the user's presence comes online with the first one. */
  attach(link: HubLink): void {
    this.social.transition(link.userId, () => {
      let set = this.links.get(link.userId);
      if (set === undefined) this.links.set(link.userId, (set = new Set()));
      set.add(link);
    });
  }

  /** Unregisters a closed connection; the user goes offline (with `lastSeen`) after the last one. */
  detach(link: HubLink): void {
    const set = this.links.get(link.userId);
    if (set === undefined || !set.has(link)) return;
    this.social.transition(link.userId, () => {
      set.delete(link);
      if (set.size === 0) {
        this.links.delete(link.userId);
        this.social.wentOffline(link.userId);
      }
    });
  }

  /** True while the user has at least one open connection. */
  isConnected(userId: Id): boolean {
    return (this.links.get(userId)?.size ?? 0) > 0;
  }

  /**
   * Sends an event to every open connection of the given users, built per viewer (undefined skips
   * that viewer), except the `except` connection.
   */
  emitTo(userIds: Iterable<Id>, build: (viewerId: Id) => HubEvent | undefined, except?: HubLink): void {
    for (const userId of new Set(userIds)) {
      const set = this.links.get(userId);
      if (set === undefined || set.size === 0) continue;
      const event = build(userId);
      if (event === undefined) continue;
      for (const link of set) if (link !== except) link.emit(event);
    }
  }

  /** The user with this id, or throws `not_found`. */
  requireUser(userId: Id): User {
    const user = typeof userId === 'string' ? this.users.get(userId) : undefined;
    if (user === undefined) throw new PerchError('not_found', unknownUser(String(userId)));
    return user;
  }

  /** The user with this id, if any. */
  findUser(userId: Id): User | undefined {
    return this.users.get(userId);
  }

  /** Every user, in the order they were added. */
  allUsers(): User[] {
    return [...this.users.values()];
  }

  /** Decides whether the acknowledgement of a persisted message or post is lost. */
  takeAckLoss(): boolean {
    if (this.acksToLose > 0) {
      this.acksToLose--;
      return true;
    }
    return chance(this.faults, this.faults.ackLoss);
  }

  /** Throws the injected permanent rejection for a message or post, if the predicate chooses one. */
  checkRejection(input: RejectInput): void {
    const code = this.rejecter?.(input);
    if (code !== undefined) {
      throw new PerchError(code, `The ${input.kind} was rejected by the server (${code}).`);
    }
  }

  private dropMatching(filter: (userId: Id) => boolean, reason: CloseReason): void {
    const victims: HubLink[] = [];
    for (const [userId, set] of this.links) if (filter(userId)) victims.push(...set);
    for (const link of victims) link.drop(reason);
  }
}
