import { PerchError, type MessagePage } from '@perch/core';
import type { Conversation, Id, Message } from '@perch/protocol';
import { checkText, COMMAND_ARGS, isCount, isId } from '@perch/protocol';
import type { MemoryHub } from './hub.js';
import type { HubLink } from './link.js';

/** The most messages one history page returns, whatever limit is asked. */
export const MAX_HISTORY_PAGE = 500;

interface ConversationRecord {
  id: Id;
  kind: 'direct' | 'group';
  title?: string;
  members: Id[];
  createdAt: number;
  /** Retained messages, ascending: `messages[i].seq === floor + 1 + i`. */
  messages: Message[];
  /** The highest seq dropped by compaction (0 when nothing was dropped). */
  floor: number;
  lastSeq: number;
  readBy: Record<Id, number>;
  deliveredTo: Record<Id, number>;
  lastActivity?: number;
  /** Every message ever persisted, by `senderId + NUL + clientId`, for idempotent retries. */
  byClientId: Map<string, Message>;
}

/** Options of {@link ChatService.send}. */
export interface SendOptions {
  /** Whether the `rejectMessages` fault applies (not for seeding helpers). */
  checkFaults: boolean;
}

/** Conversations, messages, markers and typing: the chat half of the hub. */
export class ChatService {
  private readonly hub: MemoryHub;
  private readonly conversations = new Map<Id, ConversationRecord>();
  private readonly directs = new Map<string, Id>();
  /** Every group made with a clientId, by `creatorId + NUL + clientId`, for idempotent retries. */
  private readonly groupsByClientId = new Map<string, Id>();

  /** Creates the chat store of `hub`. */
  constructor(hub: MemoryHub) {
    this.hub = hub;
  }

  /** Every conversation of `userId`, most recently active first. */
  list(userId: Id): Conversation[] {
    const mine = [...this.conversations.values()].filter((record) => record.members.includes(userId));
    mine.sort((a, b) => (b.lastActivity ?? b.createdAt) - (a.lastActivity ?? a.createdAt));
    return mine.map((record) => this.view(record, userId));
  }

  /** The direct conversation between `userId` and `otherId`, created on first use. */
  openDirect(userId: Id, otherId: Id): Conversation {
    this.hub.requireUser(otherId);
    if (otherId === userId) throw new PerchError('bad_request', 'A direct conversation needs another person.');
    const key = [userId, otherId].sort().join('\u0000');
    const existing = this.directs.get(key);
    if (existing !== undefined) return this.view(this.require(existing), userId);
    const record = this.create('direct', [userId, otherId]);
    this.directs.set(key, record.id);
    this.announce(record);
    return this.view(record, userId);
  }

  /**
   * Creates a group conversation of `userId` and `members`, titled `title`. A retry with the same
   * `clientId` answers with the group the first call made and announces nothing.
   */
  createGroup(userId: Id, input: { title: string; members: Id[]; clientId?: string }): Conversation {
    // Checked as the server checks the createGroup command, in its words.
    const valid = COMMAND_ARGS.createGroup(input as unknown as Record<string, unknown>);
    if (!valid.ok) throw new PerchError('bad_request', valid.error);
    const { title, members, clientId } = valid.value;
    for (const member of members) this.hub.requireUser(member);
    const key = clientId === undefined ? undefined : `${userId}\u0000${clientId}`;
    const original = key === undefined ? undefined : this.groupsByClientId.get(key);
    if (original !== undefined) return this.view(this.require(original), userId);
    const record = this.create('group', [...new Set([userId, ...members])]);
    record.title = title.trim();
    if (key !== undefined) this.groupsByClientId.set(key, record.id);
    this.announce(record);
    return this.view(record, userId);
  }

  /**
   * Persists a message and fans it out to every member's connections, the sender's included.
   * A retry with the same `clientId` answers with the original message and fans out nothing.
   */
  send(
    userId: Id,
    input: { conversationId: Id; clientId: string; text: string; createdAt: number },
    options: SendOptions,
  ): { message: Message; fresh: boolean } {
    const record = this.member(input.conversationId, userId);
    if (!isId(input.clientId)) throw new PerchError('bad_request', 'A message needs a clientId of 1–128 letters, digits or _ . : @ -.');
    const key = `${userId}\u0000${input.clientId}`;
    const original = record.byClientId.get(key);
    if (original !== undefined) return { message: original, fresh: false };
    const text = checkText(input.text, 'Message');
    if (!text.ok) throw new PerchError('bad_request', text.error);
    if (!isCount(input.createdAt)) throw new PerchError('bad_request', 'createdAt must be a timestamp in milliseconds.');
    if (options.checkFaults) {
      this.hub.checkRejection({ kind: 'message', senderId: userId, conversationId: record.id, clientId: input.clientId, text: text.value });
    }
    const now = this.hub.now();
    const message: Message = {
      id: crypto.randomUUID(),
      clientId: input.clientId,
      conversationId: record.id,
      seq: record.lastSeq + 1,
      senderId: userId,
      text: text.value,
      createdAt: input.createdAt,
      sentAt: now,
      state: 'sent',
    };
    record.lastSeq++;
    record.messages.push(message);
    record.byClientId.set(key, message);
    record.lastActivity = now;
    record.readBy[userId] = Math.max(record.readBy[userId] ?? 0, record.lastSeq);
    record.deliveredTo[userId] = Math.max(record.deliveredTo[userId] ?? 0, record.lastSeq);
    this.hub.emitTo(record.members, () => ({ type: 'message', message }));
    return { message, fresh: true };
  }

  /** Replaces the text of the caller's own message and fans the edit out. */
  edit(userId: Id, input: { conversationId: Id; id: Id; text: string }): Message {
    const message = this.own(userId, input.conversationId, input.id);
    if (message.deleted) throw new PerchError('bad_request', 'A deleted message cannot be edited.');
    const text = checkText(input.text, 'Message');
    if (!text.ok) throw new PerchError('bad_request', text.error);
    message.text = text.value;
    message.editedAt = this.hub.now();
    this.fanOut(message);
    return message;
  }

  /** Deletes the caller's own message (its text becomes empty) and fans the deletion out. */
  remove(userId: Id, input: { conversationId: Id; id: Id }): Message {
    const message = this.own(userId, input.conversationId, input.id);
    if (message.deleted) return message;
    message.text = '';
    message.deleted = true;
    message.editedAt = this.hub.now();
    this.fanOut(message);
    return message;
  }

  /**
   * A page of messages in ascending seq order: those after `after` (catch-up, `cursor_expired`
   * below the retention floor) or the newest ones before `before` (paging back).
   */
  history(userId: Id, input: { conversationId: Id; after?: number; before?: number; limit: number }): MessagePage {
    const record = this.member(input.conversationId, userId);
    const { after, before, limit } = input;
    if (!isCount(limit) || limit === 0) throw new PerchError('bad_request', 'limit must be a positive integer.');
    if (after !== undefined && !isCount(after)) throw new PerchError('bad_request', 'after must be a seq (a non-negative integer).');
    if (before !== undefined && !isCount(before)) throw new PerchError('bad_request', 'before must be a seq (a non-negative integer).');
    const size = Math.min(limit, MAX_HISTORY_PAGE);
    const top = Math.min(record.lastSeq, before === undefined ? record.lastSeq : before - 1);
    if (after !== undefined) {
      if (after < record.floor) {
        throw new PerchError('cursor_expired', `Messages after seq ${after} are no longer kept; resync from the newest page.`);
      }
      const last = Math.min(top, after + size);
      const messages = this.slice(record, after + 1, last);
      return { messages, complete: last >= top };
    }
    const first = Math.max(record.floor + 1, top - size + 1);
    return { messages: this.slice(record, first, top), complete: first <= record.floor + 1 };
  }

  /**
   * Moves the caller's read or delivery marker forward (never back, never past `lastSeq`), sends
   * receipts to the other members and, for reads, the updated conversation to the caller's other
   * connections. Reading also counts as delivery. While the user is invisible a `delivered` mark
   * changes nothing, as on the server: its receipt would tell the sender that they are online.
   */
  mark(userId: Id, input: { conversationId: Id; seq: number }, kind: 'read' | 'delivered', origin?: HubLink): void {
    const record = this.member(input.conversationId, userId);
    if (!isCount(input.seq)) throw new PerchError('bad_request', 'seq must be a non-negative integer.');
    if (kind === 'delivered' && this.hub.social.isInvisible(userId)) return;
    const seq = Math.min(input.seq, record.lastSeq);
    const others = record.members.filter((member) => member !== userId);
    const conversationId = record.id;
    if (seq > (record.deliveredTo[userId] ?? 0)) {
      record.deliveredTo[userId] = seq;
      this.hub.emitTo(others, () => ({ type: 'receipt', event: { conversationId, userId, kind: 'delivered', seq } }));
    }
    if (kind === 'read' && seq > (record.readBy[userId] ?? 0)) {
      record.readBy[userId] = seq;
      this.hub.emitTo(others, () => ({ type: 'receipt', event: { conversationId, userId, kind: 'read', seq } }));
      this.hub.emitTo([userId], () => ({ type: 'conversation', conversation: this.view(record, userId) }), origin);
    }
  }

  /** Tells the other members (only) that the caller started or stopped typing. */
  typing(userId: Id, input: { conversationId: Id; on: boolean }): void {
    const record = this.member(input.conversationId, userId);
    const event = { conversationId: record.id, userId, on: input.on === true };
    this.hub.emitTo(
      record.members.filter((member) => member !== userId),
      () => ({ type: 'typing', event }),
    );
  }

  /** Drops all but the newest `keepLast` messages and raises the retention floor. */
  compact(conversationId: Id, keepLast: number): void {
    const record = this.require(conversationId);
    if (!isCount(keepLast)) throw new PerchError('bad_request', 'keepLast must be a non-negative integer.');
    const floor = Math.max(record.floor, record.lastSeq - keepLast);
    record.messages.splice(0, floor - record.floor);
    record.floor = floor;
  }

  /** Copies of every retained message of a conversation, ascending. */
  retained(conversationId: Id): Message[] {
    return structuredClone(this.require(conversationId).messages);
  }

  private create(kind: 'direct' | 'group', members: Id[]): ConversationRecord {
    const record: ConversationRecord = {
      id: crypto.randomUUID(),
      kind,
      members,
      createdAt: this.hub.now(),
      messages: [],
      floor: 0,
      lastSeq: 0,
      readBy: {},
      deliveredTo: {},
      byClientId: new Map(),
    };
    this.conversations.set(record.id, record);
    return record;
  }

  private announce(record: ConversationRecord): void {
    this.hub.emitTo(record.members, (viewerId) => ({ type: 'conversation', conversation: this.view(record, viewerId) }));
  }

  private fanOut(message: Message): void {
    const record = this.require(message.conversationId);
    this.hub.emitTo(record.members, () => ({ type: 'message', message }));
  }

  private slice(record: ConversationRecord, firstSeq: number, lastSeq: number): Message[] {
    if (lastSeq < firstSeq) return [];
    return record.messages.slice(firstSeq - record.floor - 1, lastSeq - record.floor);
  }

  private require(conversationId: Id): ConversationRecord {
    const record = typeof conversationId === 'string' ? this.conversations.get(conversationId) : undefined;
    if (record === undefined) {
      throw new PerchError('not_found', `There is no conversation with id ${JSON.stringify(conversationId)}.`);
    }
    return record;
  }

  private member(conversationId: Id, userId: Id): ConversationRecord {
    const record = this.require(conversationId);
    if (!record.members.includes(userId)) {
      throw new PerchError('forbidden', 'Only members of a conversation may read or write it.');
    }
    return record;
  }

  private own(userId: Id, conversationId: Id, messageId: Id): Message {
    const record = this.member(conversationId, userId);
    const message = record.messages.find((candidate) => candidate.id === messageId);
    if (message === undefined) throw new PerchError('not_found', `There is no message with id ${JSON.stringify(messageId)}.`);
    if (message.senderId !== userId) throw new PerchError('forbidden', 'Only the author may edit or delete a message.');
    return message;
  }

  private view(record: ConversationRecord, viewerId: Id): Conversation {
    const readBy: Record<Id, number> = {};
    const deliveredTo: Record<Id, number> = {};
    for (const member of record.members) {
      readBy[member] = record.readBy[member] ?? 0;
      deliveredTo[member] = record.deliveredTo[member] ?? 0;
    }
    const conversation: Conversation = {
      id: record.id,
      kind: record.kind,
      members: [...record.members],
      lastSeq: record.lastSeq,
      readSeq: record.readBy[viewerId] ?? 0,
      readBy,
      deliveredTo,
    };
    if (record.kind === 'group' && record.title !== undefined) conversation.title = record.title;
    if (record.kind === 'direct') {
      const other = record.members.find((member) => member !== viewerId) ?? viewerId;
      const name = this.hub.findUser(other)?.name;
      if (name !== undefined) conversation.title = name;
    }
    if (record.lastActivity !== undefined) conversation.lastActivity = record.lastActivity;
    return conversation;
  }
}
