/**
 * Conversations, messages, markers and typing. Only members read or write a conversation; only
 * the author edits or deletes a message; every change is fanned out as an event.
 */
import { randomUUID } from 'node:crypto';
import { timeOrderedId, type Commands, type Conversation, type Id, type Message } from '@perch/protocol';
import { shareJson } from '../frame-text.js';
import { RequestError } from '../request-error.js';
import type { ConversationRecord } from '../storage/storage.js';
import { fitPage, refuseVisitors, requirePerson, type Caller, type ServiceDeps } from './context.js';
import { MEMBER_CACHE_IDS, MemberCache } from './member-cache.js';

/** At most one `typing on` per user and conversation is forwarded in this many ms. */
export const TYPING_INTERVAL_MS = 1000;

type Args<N extends keyof Commands> = Commands[N]['args'];

/** Shapes a stored conversation for one viewer: their read marker, and a direct titled by the other person. */
export function conversationView(record: ConversationRecord, viewerId: Id): Conversation {
  const readBy: Record<Id, number> = {};
  const deliveredTo: Record<Id, number> = {};
  for (const member of record.members) {
    readBy[member.userId] = member.readSeq;
    deliveredTo[member.userId] = member.deliveredSeq;
  }
  const conversation: Conversation = {
    id: record.id,
    kind: record.kind,
    members: record.members.map((member) => member.userId),
    lastSeq: record.lastSeq,
    readSeq: readBy[viewerId] ?? 0,
    readBy,
    deliveredTo,
  };
  if (record.kind === 'group' && record.title !== undefined) conversation.title = record.title;
  if (record.kind === 'direct') {
    const other = record.members.find((member) => member.userId !== viewerId) ?? record.members[0];
    if (other !== undefined) conversation.title = other.name;
  }
  if (record.lastActivity !== undefined) conversation.lastActivity = record.lastActivity;
  return conversation;
}

/** The chat half of the server. */
export class ChatService {
  private readonly deps: ServiceDeps;
  /** The member lists of conversations (members never change once created). */
  private readonly members: MemberCache;
  private readonly typingState = new Map<string, { on: boolean; lastOnAt: number }>();

  /** Creates the chat service over shared dependencies; `memberCacheIds` bounds its {@link members} cache. */
  constructor(deps: ServiceDeps, memberCacheIds = MEMBER_CACHE_IDS) {
    this.deps = deps;
    this.members = new MemberCache((conversationId) => deps.storage.getMembers(conversationId), memberCacheIds);
  }

  /** Every conversation of the caller, most recently active first. */
  async list(caller: Caller): Promise<Conversation[]> {
    const records = await this.deps.storage.listConversations(caller.user.id);
    return records.map((record) => conversationView(record, caller.user.id));
  }

  /** The direct conversation of the caller and `userId`, created (and announced) on first use. */
  async openDirect(caller: Caller, { userId }: Args<'openDirect'>): Promise<Conversation> {
    refuseVisitors(caller, 'direct conversations');
    if (userId === caller.user.id) throw new RequestError('bad_request', 'A direct conversation needs another person, not yourself.');
    await requirePerson(this.deps, userId);
    const { value, fresh } = await this.deps.storage.openDirect(caller.user.id, userId, randomUUID(), this.deps.now());
    if (fresh) this.announce(value);
    return conversationView(value, caller.user.id);
  }

  /**
   * Creates a group of the caller and `members` and announces it to every member. A retry with
   * the same `clientId` answers the group the first call made (as it is now) and announces nothing.
   */
  async createGroup(caller: Caller, { title, members, clientId }: Args<'createGroup'>): Promise<Conversation> {
    refuseVisitors(caller, 'groups');
    for (const member of members) if (member !== caller.user.id) await requirePerson(this.deps, member);
    const ids = [...new Set([caller.user.id, ...members])];
    const { value, fresh } = await this.deps.storage.createGroup({ id: randomUUID(), title: title.trim(), members: ids, clientId }, this.deps.now());
    if (fresh) this.announce(value);
    return conversationView(value, caller.user.id);
  }

  /**
   * Persists a message and sends it to every member's connections, the sender's other connections
   * included; the connection that sent it gets it in the answer, not a second time as an event. A
   * retry with the same clientId answers the original message and fans out nothing.
   */
  async send(caller: Caller, input: Args<'sendMessage'>): Promise<Message> {
    const members = await this.requireMember(input.conversationId, caller.user.id);
    const { value, fresh } = await this.deps.storage.appendMessage({
      id: timeOrderedId(),
      conversationId: input.conversationId,
      senderId: caller.user.id,
      clientId: input.clientId,
      text: input.text,
      createdAt: input.createdAt,
      sentAt: this.deps.now(),
    });
    if (!fresh && value.conversationId !== input.conversationId) {
      throw new RequestError('bad_request', `clientId ${JSON.stringify(input.clientId)} was already used for a message in another conversation; compose with a new clientId.`);
    }
    if (fresh) {
      shareJson(value); // Serialised once for the event to every member and the sender's res.
      this.deps.fanout.publish(members, { type: 'event', event: 'message', data: value }, { except: caller.connectionId });
    }
    return value;
  }

  /** Replaces the text of the caller's own message and fans the edit out. */
  async edit(caller: Caller, input: Args<'editMessage'>): Promise<Message> {
    const { members, message } = await this.own(caller, input.conversationId, input.id);
    if (message.deleted) throw new RequestError('bad_request', 'A deleted message cannot be edited.');
    const edited = await this.deps.storage.updateMessage(input.conversationId, input.id, { text: input.text, editedAt: this.deps.now() });
    if (edited === undefined) throw this.noMessage(input.id);
    this.deps.fanout.publish(members, { type: 'event', event: 'message', data: edited });
    return edited;
  }

  /** Deletes the caller's own message (its text becomes empty) and fans the deletion out. */
  async remove(caller: Caller, input: Args<'deleteMessage'>): Promise<Message> {
    const { members, message } = await this.own(caller, input.conversationId, input.id);
    if (message.deleted) return message;
    const change = { text: '', editedAt: this.deps.now(), deleted: true };
    const deleted = await this.deps.storage.updateMessage(input.conversationId, input.id, change);
    if (deleted === undefined) throw this.noMessage(input.id);
    this.deps.fanout.publish(members, { type: 'event', event: 'message', data: deleted });
    return deleted;
  }

  /** A page of messages in ascending seq order (catch-up with `after`, paging back with `before`). */
  async history(caller: Caller, input: Args<'history'>): Promise<Commands['history']['result']> {
    await this.requireMember(input.conversationId, caller.user.id);
    const range: { after?: number; before?: number; limit: number } = { limit: input.limit };
    if (input.after !== undefined) range.after = input.after;
    if (input.before !== undefined) range.before = input.before;
    const page = await this.deps.storage.history(input.conversationId, range);
    // Catch-up (`after`) continues after the last message; paging back, before the first.
    const fit = fitPage(page.messages, input.after === undefined);
    return fit.all ? page : { messages: fit.items, complete: false };
  }

  /**
   * Moves the caller's marker forward (never back, never past the last seq), sends receipts to the
   * other members and, for reads, the updated conversation to the caller's other connections.
   * While the caller is invisible a `delivered` mark changes nothing: clients send it by themselves
   * for every message that arrives, so its receipt would tell the sender that the caller is online.
   * (A read is the reader's own doing, and is recorded and told as usual.)
   */
  async mark(caller: Caller, input: Args<'markRead'>, kind: 'read' | 'delivered'): Promise<null> {
    const userId = caller.user.id;
    const { conversationId } = input;
    const members = await this.requireMember(conversationId, userId);
    if (kind === 'delivered' && (await this.isInvisible(userId))) return null;
    const moves = await this.deps.storage.advanceMarker(conversationId, userId, kind, input.seq);
    const others = members.filter((member) => member !== userId);
    const { fanout } = this.deps;
    if (moves.delivered !== undefined) {
      fanout.publish(others, { type: 'event', event: 'receipt', data: { conversationId, userId, kind: 'delivered', seq: moves.delivered } });
    }
    if (moves.read !== undefined) {
      fanout.publish(others, { type: 'event', event: 'receipt', data: { conversationId, userId, kind: 'read', seq: moves.read } });
      const record = await this.deps.storage.getConversation(conversationId);
      if (record !== undefined) {
        const data = conversationView(record, userId);
        fanout.publish([userId], { type: 'event', event: 'conversation', data }, { except: caller.connectionId });
      }
    }
    return null;
  }

  /**
   * Tells the other members (only) that the caller started or stopped typing. At most one `on`
   * per second per conversation is forwarded, and an `off` only after a forwarded `on`; the rest
   * are dropped silently (typing is ephemeral).
   */
  async typing(caller: Caller, input: Args<'setTyping'>): Promise<null> {
    const userId = caller.user.id;
    const members = await this.requireMember(input.conversationId, userId);
    const key = `${userId}|${input.conversationId}`;
    const now = performance.now();
    const state = this.typingState.get(key);
    if (input.on) {
      if (state !== undefined && now - state.lastOnAt < TYPING_INTERVAL_MS) return null;
      this.typingState.set(key, { on: true, lastOnAt: now });
    } else {
      if (state === undefined || !state.on) return null;
      state.on = false;
    }
    if (this.typingState.size > 10_000) this.sweepTyping(now);
    const data = { conversationId: input.conversationId, userId, on: input.on };
    this.deps.fanout.publish(members.filter((member) => member !== userId), { type: 'event', event: 'typing', data });
    return null;
  }

  /**
   * The member ids of a conversation the caller belongs to, or `not_found` / `forbidden`.
   * Concurrent callers share the cache's lookup and go on in the order they called: pipelined
   * sends of one connection reach the storage in arrival order.
   */
  private async requireMember(conversationId: Id, userId: Id): Promise<Id[]> {
    const members = await this.members.members(conversationId);
    if (members === undefined) {
      throw new RequestError('not_found', `There is no conversation with id ${JSON.stringify(conversationId)}.`);
    }
    if (!members.includes(userId)) throw new RequestError('forbidden', 'Only members of a conversation may read or write it.');
    return members;
  }

  /** Whether the user chose `invisible`: known in memory while they are connected, else stored. */
  private async isInvisible(userId: Id): Promise<boolean> {
    const known = this.deps.presence.isInvisible(userId);
    if (known !== undefined) return known;
    return (await this.deps.storage.getPresence([userId])).get(userId)?.show === 'invisible';
  }

  private async own(caller: Caller, conversationId: Id, messageId: Id): Promise<{ members: Id[]; message: Message }> {
    const members = await this.requireMember(conversationId, caller.user.id);
    const message = await this.deps.storage.getMessage(conversationId, messageId);
    if (message === undefined) throw this.noMessage(messageId);
    if (message.senderId !== caller.user.id) throw new RequestError('forbidden', 'Only the author may edit or delete a message.');
    return { members, message };
  }

  private noMessage(messageId: Id): RequestError {
    return new RequestError('not_found', `There is no message with id ${JSON.stringify(messageId)} in this conversation.`);
  }

  /** Sends a new conversation to each member, shaped for them. */
  private announce(record: ConversationRecord): void {
    for (const member of record.members) {
      this.deps.fanout.publish([member.userId], { type: 'event', event: 'conversation', data: conversationView(record, member.userId) });
    }
  }

  private sweepTyping(now: number): void {
    for (const [key, state] of this.typingState) {
      const age = now - state.lastOnAt;
      // Keep recent `on`s so that their `off` still goes out; a typist silent for a minute is done.
      if ((!state.on && age >= TYPING_INTERVAL_MS) || age >= 60_000) this.typingState.delete(key);
    }
  }
}
