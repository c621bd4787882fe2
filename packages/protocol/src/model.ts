/**
 * The data model of Perch, shared by every client, backend and the reference server.
 * Plain JSON-serialisable objects only: they travel over the wire, through BroadcastChannel
 * and into IndexedDB unchanged.
 */

/** An opaque, stable identifier assigned by a server (user, conversation, message, post). */
export type Id = string;

/** Milliseconds since the Unix epoch. */
export type Timestamp = number;

/** How a person shows up to others. `invisible` is seen by others as `offline`. */
export type PresenceShow = 'online' | 'away' | 'dnd' | 'invisible' | 'offline';

/** A person's profile, as a buddy list, a directory or a profile card shows it. */
export interface User {
  /** Stable user id. */
  id: Id;
  /** Display name. */
  name: string;
  /** Avatar image URL (http or https only; anything else is ignored by the components). */
  avatar?: string;
  /** Job title, e.g. "Support lead". */
  title?: string;
  /** Department, used to group the org directory. */
  department?: string;
  /** Phone number, as dialled (the components make it a `tel:` link). */
  phone?: string;
  /** Email address. */
  email?: string;
  /** Office or city. */
  location?: string;
  /** IANA time zone name, e.g. "Europe/Berlin". */
  timeZone?: string;
  /** True for anonymous support-chat visitors. */
  visitor?: boolean;
}

/** Someone's presence: availability, the personal status message, and when they were last seen. */
export interface Presence {
  userId: Id;
  show: PresenceShow;
  /** The QQ/MSN-style personal message shown beside the name. */
  status?: string;
  /** When the user was last connected (set when they go offline). */
  lastSeen?: Timestamp;
}

/** A contact in the user's buddy list, with the user's own groups for it. */
export interface Contact {
  user: User;
  /** Buddy-list groups the contact is filed under ("Friends", "Work"…); empty means ungrouped. */
  groups: string[];
}

/** A conversation: a direct chat between two people, or a group. */
export interface Conversation {
  id: Id;
  kind: 'direct' | 'group';
  /** Group title; direct conversations are titled by the other person's name. */
  title?: string;
  /** Member user ids (both people for a direct conversation). */
  members: Id[];
  /** The highest seq the server has assigned in this conversation (0 when empty). */
  lastSeq: number;
  /** The user's own read marker: every message with seq ≤ readSeq is read. */
  readSeq: number;
  /** Per-member read markers, for read receipts. */
  readBy?: Record<Id, number>;
  /** Per-member delivery markers, for delivery receipts. */
  deliveredTo?: Record<Id, number>;
  /** Time of the last message, used to sort conversations. */
  lastActivity?: Timestamp;
}

/**
 * Delivery state of a message, as its sender sees it.
 * `pending`: in the outbox, not yet acknowledged; `sent`: persisted by the server;
 * `delivered`: reached another member's device; `read`: another member read it;
 * `failed`: permanently rejected (the text and reason stay for a retry).
 */
export type MessageState = 'pending' | 'sent' | 'delivered' | 'read' | 'failed';

/** One chat message. */
export interface Message {
  /** Chosen by the sending client when the message is composed; the same on every retry. */
  clientId: string;
  /** Assigned by the server on persist; absent while pending. */
  id?: Id;
  conversationId: Id;
  /** Per-conversation sequence number assigned by the server; absent while pending. */
  seq?: number;
  senderId: Id;
  text: string;
  /** When the sender composed it (client clock). */
  createdAt: Timestamp;
  /** When the server persisted it (server clock). */
  sentAt?: Timestamp;
  editedAt?: Timestamp;
  /** True once the sender deleted it; the text is then empty. */
  deleted?: boolean;
  state: MessageState;
  /** Why the server rejected it, when `state` is `failed`. */
  error?: { code: string; message: string };
}

/** A status update in the feed. */
export interface Post {
  clientId: string;
  /** Assigned by the server; absent while queued. */
  id?: Id;
  authorId: Id;
  text: string;
  createdAt: Timestamp;
  /** Server time of publication, which orders the timeline. */
  sentAt?: Timestamp;
  likes: number;
  /** True when the current user likes it. */
  liked?: boolean;
  /** The post this one replies to. */
  replyTo?: Id;
  /**
   * The author of the post this one replies to, filled by the server with `replyTo` (absent when
   * that post is unknown, and on a reply still queued on this device).
   */
  replyToAuthorId?: Id;
  replies?: number;
  state: 'pending' | 'sent' | 'failed';
  error?: { code: string; message: string };
}

/** A per-conversation resume point: the last contiguous seq the client holds. */
export interface Cursor {
  conversationId: Id;
  seq: number;
}

/** Which timeline a feed shows. */
export type FeedSource = { kind: 'home' } | { kind: 'user'; userId: Id } | { kind: 'mentions' };
