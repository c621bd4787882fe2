import type { Contact, Conversation, Id, Message, Post, Presence, User } from '@perch/protocol';
import { sentTime, type Change, type ConversationRecord, type OutboxEntry } from './changes.js';

/** A conversation as lists show it: the conversation plus its unread count. */
export interface ConversationView extends Conversation {
  unread: number;
}

/** A buddy-list row: the contact, its groups and its presence. */
export interface RosterEntry {
  user: User;
  groups: string[];
  presence: Presence;
}

/** What a batch of changes touched, so only those views are recomputed; a flag left out means untouched. */
export interface Touched {
  conversations: Set<Id>;
  list?: boolean;
  roster?: boolean;
  timeline?: boolean;
}

const RANK: Record<Presence['show'], number> = { online: 0, dnd: 1, away: 2, invisible: 3, offline: 3 };

/** The applied (visible) state. Only `apply` changes it, after the cache holds the change. */
export class View {
  user: User | undefined;
  readonly records = new Map<Id, ConversationRecord>();
  /** The loaded window of confirmed messages per conversation, by seq. */
  readonly messages = new Map<Id, Map<number, Message>>();
  readonly outbox = new Map<string, OutboxEntry>();
  readonly contacts = new Map<Id, Contact>();
  readonly presence = new Map<Id, Presence>();
  readonly posts = new Map<Id, Post>();

  /** Applies changes in order and says which views they touched. */
  apply(changes: Change[]): Touched {
    const touched: Touched = { conversations: new Set() };
    for (const change of changes) {
      switch (change.type) {
        case 'user':
          this.user = change.user;
          break;
        case 'conversation':
          this.records.set(change.record.conversation.id, change.record);
          touched.conversations.add(change.record.conversation.id);
          touched.list = true;
          break;
        case 'messages': {
          let held = this.messages.get(change.conversationId);
          if (!held) this.messages.set(change.conversationId, (held = new Map()));
          for (const m of change.messages) held.set(m.seq!, m);
          touched.conversations.add(change.conversationId);
          break;
        }
        case 'reset':
          this.messages.delete(change.conversationId);
          touched.conversations.add(change.conversationId);
          break;
        case 'outbox':
        case 'unqueue':
          if (change.type === 'outbox') this.outbox.set(change.entry.clientId, change.entry);
          else this.outbox.delete(change.entry.clientId);
          if (change.entry.conversationId) touched.conversations.add(change.entry.conversationId);
          else touched.timeline = true;
          break;
        case 'contact':
          if (change.removed) this.contacts.delete(change.contact.user.id);
          else this.contacts.set(change.contact.user.id, change.contact);
          touched.roster = true;
          break;
        case 'presence':
          this.presence.set(change.presence.userId, change.presence);
          touched.roster = true;
          break;
        case 'users':
          // Directory users are only cached (nothing shows them yet); the roster store is refreshed.
          touched.roster = true;
          break;
        case 'post':
          if (change.post.id) this.posts.set(change.post.id, change.post);
          touched.timeline = true;
          break;
      }
    }
    return touched;
  }

  /** Confirmed messages in seq order, then this device's pending and failed ones in compose order. */
  messageList(conversationId: Id): Message[] {
    const record = this.records.get(conversationId);
    const me = this.user?.id;
    const confirmed = [...(this.messages.get(conversationId)?.values() ?? [])].sort((a, b) => a.seq! - b.seq!);
    const out = confirmed.map((m) => (m.senderId === me && record ? withReceipts(m, record.conversation, me) : m));
    const queued = [...this.outbox.values()]
      .filter((e) => e.conversationId === conversationId)
      .sort((a, b) => a.order - b.order);
    return [...out, ...queued.map(entryToMessage)];
  }

  /** Conversations, most recently active first, with unread counts. */
  conversationList(): ConversationView[] {
    return [...this.records.values()]
      .map((r) => ({ ...r.conversation, unread: unreadOf(r.conversation) }))
      .sort((a, b) => (b.lastActivity ?? 0) - (a.lastActivity ?? 0));
  }

  /** Contacts with presence, online first, then by name. */
  roster(): RosterEntry[] {
    return [...this.contacts.values()]
      .map((c) => ({
        user: c.user,
        groups: c.groups,
        presence: this.presence.get(c.user.id) ?? { userId: c.user.id, show: 'offline' as const },
      }))
      .sort((a, b) => RANK[a.presence.show] - RANK[b.presence.show] || a.user.name.localeCompare(b.user.name));
  }

  /** The home timeline, newest first, with this device's queued posts on top. */
  timeline(): Post[] {
    const queued = [...this.outbox.values()].filter((e) => e.kind === 'post').sort((a, b) => b.order - a.order);
    const posts = [...this.posts.values()].filter((p) => !queued.some((e) => e.clientId === p.clientId));
    posts.sort((a, b) => sentTime(b) - sentTime(a) || (a.id! < b.id! ? 1 : -1));
    return [...queued.map(entryToPost), ...posts];
  }
}

/** Unread messages: everything after the user's read marker (sending moves the marker). */
export const unreadOf = (c: Conversation): number => Math.max(0, c.lastSeq - c.readSeq);

function withReceipts(m: Message, c: Conversation, me: Id): Message {
  const others = c.members.filter((id) => id !== me);
  const reached = (markers: Record<Id, number> | undefined) => others.some((id) => (markers?.[id] ?? 0) >= m.seq!);
  const state = reached(c.readBy) ? 'read' : reached(c.deliveredTo) ? 'delivered' : 'sent';
  return state === m.state ? m : { ...m, state };
}

/** The message an outbox entry shows as while it waits: the entry without the queue's fields. */
export function entryToMessage({ order, kind, replyTo, ...message }: OutboxEntry): Message {
  return message as Message; // a message entry always has its conversationId
}

/** The post an outbox entry shows as while it waits. */
export function entryToPost({ order, kind, senderId, conversationId, ...post }: OutboxEntry): Post {
  return { ...post, authorId: senderId, likes: 0 };
}
