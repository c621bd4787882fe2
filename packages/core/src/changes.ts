import type { Contact, Conversation, Id, Message, Post, Presence, User } from '@perch/protocol';
import { keys } from './cache/keys.js';

/** Sync bookkeeping for one conversation, stored beside its messages. */
export interface ConversationRecord {
  conversation: Conversation;
  /** Every message from `floorSeq` to `syncedSeq` is held in the cache. */
  syncedSeq: number;
  /** The oldest seq of the contiguous run held: 1 when the whole history is held, 0 when nothing is. */
  floorSeq: number;
  /** Seqs held above `syncedSeq`, waiting for the gap below them to be backfilled. */
  ahead: number[];
}

/** A message or post composed by this user and not yet acknowledged as persisted. */
export interface OutboxEntry {
  /** Compose order across the device; also the cache key. */
  order: number;
  kind: 'message' | 'post';
  clientId: string;
  senderId: Id;
  /** For messages. */
  conversationId?: Id;
  /** For replies. */
  replyTo?: Id;
  text: string;
  createdAt: number;
  state: 'pending' | 'failed';
  error?: { code: string; message: string };
}

/**
 * One state change. Changes are data: they are written to the cache, applied to memory, emitted
 * and, in the leader tab, broadcast to the other tabs, which apply them without writing again.
 */
export type Change =
  | { type: 'user'; user: User }
  | { type: 'conversation'; record: ConversationRecord }
  | { type: 'messages'; conversationId: Id; messages: Message[] }
  | { type: 'outbox'; entry: OutboxEntry }
  | { type: 'unqueue'; entry: OutboxEntry }
  | { type: 'contact'; contact: Contact; removed?: boolean }
  | { type: 'presence'; presence: Presence }
  | { type: 'users'; users: User[] }
  | { type: 'post'; post: Post }
  | { type: 'reset'; conversationId: Id };

/** The cache writes that persist `changes`: puts and deletes for one transaction, plus prefixes to clear first. */
export function toWrites(changes: Change[]): { puts: Array<[string, unknown]>; deletes: string[]; clears: string[] } {
  const puts: Array<[string, unknown]> = [];
  const deletes: string[] = [];
  const clears: string[] = [];
  for (const change of changes) {
    switch (change.type) {
      case 'user':
        puts.push([keys.user, change.user]);
        break;
      case 'conversation':
        puts.push([keys.conversation(change.record.conversation.id), change.record]);
        break;
      case 'messages':
        for (const m of change.messages) puts.push([keys.message(change.conversationId, m.seq!), m]);
        break;
      case 'outbox':
        puts.push([keys.outboxEntry(change.entry.order, change.entry.clientId), change.entry]);
        break;
      case 'unqueue':
        deletes.push(keys.outboxEntry(change.entry.order, change.entry.clientId));
        break;
      case 'contact':
        if (change.removed) deletes.push(keys.contact(change.contact.user.id));
        else puts.push([keys.contact(change.contact.user.id), change.contact]);
        break;
      case 'presence':
        puts.push([keys.presence(change.presence.userId), change.presence]);
        break;
      case 'users':
        for (const u of change.users) puts.push([keys.user_(u.id), u]);
        break;
      case 'post':
        if (change.post.id) puts.push([keys.post(sentTime(change.post), change.post.id), change.post]);
        break;
      case 'reset':
        clears.push(keys.messages(change.conversationId));
        break;
    }
  }
  return { puts, deletes, clears };
}

/** The time a post or message sorts by: the server's time, or its compose time while pending. */
export const sentTime = (item: Pick<Post | Message, 'sentAt' | 'createdAt'>): number => item.sentAt ?? item.createdAt;
