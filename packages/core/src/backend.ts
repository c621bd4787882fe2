import type {
  Contact,
  Conversation,
  ErrorCode,
  FeedSource,
  Id,
  Message,
  Post,
  Presence,
  PresenceShow,
  User,
} from '@perch/protocol';
import { isTransient } from '@perch/protocol';

/**
 * What a backend can do. Components hide what a backend cannot do (an XMPP server without
 * a microblog has no feed; a support-only server has no roster).
 */
export interface BackendCapabilities {
  /** Status posts, home timeline, likes, replies and follows. */
  feed: boolean;
  /** Presence with status messages and last seen. */
  presence: boolean;
  /** Typing notifications. */
  typing: boolean;
  /** Delivery and read receipts. */
  receipts: boolean;
  /** Group conversations. */
  groups: boolean;
  /** Server-side history with paging and catch-up. */
  history: boolean;
  /** An org directory of every user. */
  directory: boolean;
  /** Editing and deleting one's own messages. */
  edits: boolean;
  /** Customer-support chat for anonymous visitors. */
  support: boolean;
}

/** How the user proves who they are: a token signed by the site, or an anonymous visitor. */
export type Auth = { token: string } | { visitor: { name?: string; email?: string; token?: string } };

/** Credentials, or a function that fetches fresh ones before each attempt (e.g. from the site's token URL). */
export type AuthSource = Auth | (() => Promise<Auth>);

/** What the backend knows about the signed-in user once connected. */
export interface Session {
  user: User;
  /** For visitors: the opaque token to reuse on the next visit. */
  visitorToken?: string;
}

/** A page of messages in ascending seq order. */
export interface MessagePage {
  messages: Message[];
  /** True when there is nothing more in the requested direction. */
  complete: boolean;
}

/** A page of posts, newest first. */
export interface PostPage {
  posts: Post[];
  complete: boolean;
}

/** A typing notification. */
export interface TypingEvent {
  conversationId: Id;
  userId: Id;
  on: boolean;
}

/** A member's delivery or read marker moved. */
export interface ReceiptEvent {
  conversationId: Id;
  userId: Id;
  kind: 'delivered' | 'read';
  seq: number;
}

/** Why a connection ended. */
export interface CloseReason {
  code: ErrorCode;
  message: string;
  /** Milliseconds the server asks the client to wait before reconnecting. */
  retryAfter?: number;
}

/**
 * What a backend tells the core while a connection is open. A backend calls these in the order
 * the server produced the events; the core tolerates duplicates and reordering.
 */
export interface BackendListener {
  /** A persisted message (new, edited or deleted), including echoes of the user's own messages. */
  message(message: Message): void;
  /** A conversation was created, or its members, title or markers changed. */
  conversation(conversation: Conversation): void;
  /** A post entered the home timeline, or its likes or replies changed. */
  post(post: Post): void;
  presence(presence: Presence): void;
  typing(event: TypingEvent): void;
  receipt(event: ReceiptEvent): void;
  /** A contact was added or changed (`removed` set when it left the roster). */
  contact(contact: Contact, removed?: boolean): void;
  /** The connection ended without `close()` being called. The core reconnects. */
  closed(reason: CloseReason): void;
}

/**
 * One open connection. Every method may reject with a {@link BackendError}; after the connection
 * is closed every method rejects with code `unavailable`.
 *
 * Contract rules a backend must keep:
 * - `sendMessage` and `post` are idempotent on `clientId` per sender: a retry answers with the
 *   original persisted message or post, never a second copy. So is `createGroup` when given a
 *   `clientId` (per creator): a retry answers with the original group and creates none.
 * - `seq` is assigned per conversation, starting at 1, without holes.
 * - Sending a message moves the sender's own read marker to that message.
 */
export interface BackendConnection {
  readonly session: Session;
  sendMessage(input: { conversationId: Id; clientId: string; text: string; createdAt: number }): Promise<Message>;
  editMessage(input: { conversationId: Id; id: Id; text: string }): Promise<Message>;
  deleteMessage(input: { conversationId: Id; id: Id }): Promise<Message>;
  /** Every conversation the user belongs to, with `lastSeq` and markers: the resume entry point. */
  conversations(): Promise<Conversation[]>;
  /**
   * Messages of one conversation in ascending seq order: those after `after` (catch-up) or the
   * newest ones before `before` (paging back). Rejects with `cursor_expired` when `after` is older
   * than the server keeps.
   */
  history(input: { conversationId: Id; after?: number; before?: number; limit: number }): Promise<MessagePage>;
  openDirect(userId: Id): Promise<Conversation>;
  /** Creates a group of the user and `members`; `clientId` makes a retry answer the same group (the core always sends one). */
  createGroup(input: { title: string; members: Id[]; clientId?: string }): Promise<Conversation>;
  markRead(input: { conversationId: Id; seq: number }): Promise<void>;
  markDelivered(input: { conversationId: Id; seq: number }): Promise<void>;
  setTyping(input: { conversationId: Id; on: boolean }): Promise<void>;
  /** The user's contacts and their current presence, and the user's own presence as chosen. */
  roster(): Promise<{ contacts: Contact[]; presence: Presence[] }>;
  addContact(input: { userId: Id; groups: string[] }): Promise<Contact>;
  removeContact(userId: Id): Promise<void>;
  /** Everyone in the organisation (capability `directory`). */
  directory(): Promise<User[]>;
  profile(userId: Id): Promise<User>;
  setPresence(input: { show: Exclude<PresenceShow, 'offline'>; status?: string }): Promise<void>;
  post(input: { clientId: string; text: string; createdAt: number; replyTo?: Id }): Promise<Post>;
  /** A page of a timeline, newest first; `before` is the id of the oldest post already held. */
  feed(input: { source: FeedSource; before?: Id; limit: number }): Promise<PostPage>;
  like(input: { postId: Id; on: boolean }): Promise<Post>;
  follow(input: { userId: Id; on: boolean }): Promise<void>;
  /** Ends the connection. The listener's `closed` is not called. */
  close(): void;
}

/** A backend: what it can do, and how to open a connection. Chosen by the composition root. */
export interface Backend {
  /** A short name for logs and for the cache's namespace, e.g. "memory" or "ws:wss://chat.example". */
  readonly name: string;
  readonly capabilities: BackendCapabilities;
  /**
   * Opens a connection and authenticates. Rejects with a {@link BackendError}: `unauthorized`
   * (do not retry with the same credentials), or a transient code with an optional `retryAfter`.
   * `source` is the app's `auth` as given: when it is a function, a backend whose credentials
   * expire may call it again to renew them on the open connection (as backend-ws does).
   */
  connect(auth: Auth, listener: BackendListener, source?: AuthSource): Promise<BackendConnection>;
}

/** An error from a backend or the core, with a stable code and, for throttling, a retry delay. */
export class PerchError extends Error {
  override readonly name = 'PerchError';
  readonly code: ErrorCode;
  /** Milliseconds to wait before retrying, when the server said so. */
  readonly retryAfter: number | undefined;

  constructor(code: ErrorCode, message: string, retryAfter?: number) {
    super(message);
    this.code = code;
    this.retryAfter = retryAfter;
  }

  /** True when the same request may succeed later. */
  get transient(): boolean {
    return isTransient(this.code);
  }
}

/** The same class under the name backends use. */
export { PerchError as BackendError };

/** Turns anything thrown into a {@link PerchError}; unknown errors count as transient `internal`. */
export function toPerchError(error: unknown): PerchError {
  if (error instanceof PerchError) return error;
  return new PerchError('internal', error instanceof Error ? error.message : String(error));
}
