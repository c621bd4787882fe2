import type { Conversation, Id, Message } from '@perch/protocol';
import { toPerchError, type BackendConnection, type MessagePage, type ReceiptEvent } from './backend.js';
import { sentTime, type Change, type ConversationRecord } from './changes.js';
import type { CoreContext } from './context.js';
import { unqueue } from './outbox.js';

/** Messages fetched per history request. */
export const PAGE_SIZE = 100;

/** A record holding nothing yet; an empty conversation is fully held from the start. */
const EMPTY = (conversation: Conversation): ConversationRecord => ({
  conversation,
  syncedSeq: 0,
  floorSeq: +!conversation.lastSeq,
  ahead: [],
});

/** Makes `record` the head state of its conversation at once; returns the change that persists it. */
export function setRecord(core: Pick<CoreContext, 'records'>, record: ConversationRecord): Change {
  core.records.set(record.conversation.id, record);
  return { type: 'conversation', record };
}

/**
 * Keeps each conversation's cache contiguous: absorbs live messages, detects gaps by seq,
 * backfills them, dedupes by seq, and falls back to a full resync when the server no longer
 * serves a cursor.
 */
export class Resume {
  readonly #running = new Map<Id, Promise<void>>();
  readonly #again = new Set<Id>();

    readonly #core: CoreContext;

  constructor(core: CoreContext) {
    this.#core = core;
  }

  /** After (re)connecting: refresh every conversation, push read markers made offline, catch up. */
  async resume(connection: BackendConnection): Promise<void> {
    // What was held when the list was asked for (messages may come in right behind its answer).
    const held = new Map(this.#core.records);
    const list = await connection.conversations();
    const unsentReads: Array<[Id, number]> = [];
    const changes = list.flatMap((c): Change[] => {
      const local = held.get(c.id)?.conversation;
      // The server has fewer messages than this device held (restored from a backup): the seqs
      // held name other messages now, so that conversation is fetched afresh, and its read marker
      // is the server's.
      if (local && local.lastSeq > c.lastSeq) {
        this.#core.records.delete(c.id);
        return [{ type: 'reset', conversationId: c.id }, this.merge(c)];
      }
      if (local && local.readSeq > c.readSeq) unsentReads.push([c.id, local.readSeq]);
      return [this.merge(c)];
    });
    await this.#core.commit(changes);
    for (const [conversationId, seq] of unsentReads) void connection.markRead({ conversationId, seq }).catch(() => {});
    await Promise.all(list.map((c) => this.catchUp(connection, c.id)));
  }

  /** Forgets every conversation's messages so the next resume fetches them afresh. */
  async resyncAll(): Promise<void> {
    await this.#core.commit([...this.#core.records.keys()].flatMap((id) => this.#resetChanges(id)));
  }

  /** Updates the head record from the server's copy of a conversation (markers never move back); returns its change. */
  merge(c: Conversation): Change {
    const old = this.#core.records.get(c.id);
    const record: ConversationRecord = old
      ? {
          ...old,
          conversation: {
            ...c,
            lastSeq: Math.max(c.lastSeq, old.conversation.lastSeq),
            readSeq: Math.max(c.readSeq, old.conversation.readSeq),
          },
        }
      : EMPTY(c);
    return setRecord(this.#core, record);
  }

  /** A live message from the backend. Returns once it is persisted and applied. */
  async receive(message: Message): Promise<void> {
    const id = message.conversationId;
    const connection = this.#core.connection();
    const changes: Change[] = [];
    const mine = message.senderId === this.#core.me();
    const record = this.#core.records.get(id);
    if (!record) {
      // A conversation not known yet: fetching the list files it, and this message with it.
      if (mine) unqueue(this.#core, message.clientId, changes);
      if (connection) void this.#refresh(connection);
      return this.#core.commit(changes);
    }
    const { next, fresh } = this.absorb(record, [message], changes);
    if (mine) next.conversation.readSeq = Math.max(next.conversation.readSeq, message.seq!);
    if (connection && fresh.some((m) => m.senderId !== this.#core.me())) {
      void connection.markDelivered({ conversationId: id, seq: next.syncedSeq }).catch(() => {});
    }
    if (connection && next.ahead.length) void this.catchUp(connection, id).catch(() => {});
    await this.#core.commit(changes);
    for (const m of fresh) this.#core.emit('message', m);
  }

  /** A conversation was created or changed on the server. */
  async conversation(c: Conversation): Promise<void> {
    const known = this.#core.records.has(c.id);
    await this.#core.commit([this.merge(c)]);
    const connection = this.#core.connection();
    if (!known && connection) await this.catchUp(connection, c.id);
  }

  /** A member's delivery or read marker moved. */
  async receipt(event: ReceiptEvent): Promise<void> {
    const old = this.#core.records.get(event.conversationId);
    if (!old) return;
    const c = { ...old.conversation };
    const field = event.kind === 'read' ? 'readBy' : 'deliveredTo';
    const markers = { ...c[field] };
    markers[event.userId] = Math.max(markers[event.userId] ?? 0, event.seq);
    c[field] = markers;
    if (event.userId === this.#core.me() && event.kind === 'read') c.readSeq = Math.max(c.readSeq, event.seq);
    await this.#core.commit([setRecord(this.#core, { ...old, conversation: c })]);
    this.#core.emit('receipt', event);
  }

  /** Backfills one conversation up to its last seq; concurrent calls share one run. */
  catchUp(connection: BackendConnection, id: Id): Promise<void> {
    const running = this.#running.get(id);
    if (running) {
      this.#again.add(id);
      return running;
    }
    const run = (async () => {
      do {
        this.#again.delete(id);
        await this.#fill(connection, id);
      } while (this.#again.has(id));
    })().finally(() => this.#running.delete(id));
    this.#running.set(id, run);
    return run;
  }

  /**
   * Absorbs messages into a copy of `record`: advances the contiguous run, parks messages above a
   * gap in `ahead`, extends the floor downward for older pages, and skips seqs already held.
   * Takes this device's own messages out of the outbox (the echo or a fetched page may come
   * before the ack). Pushes the writes onto `changes` and returns the new record and the news:
   * messages not held before and not sent from this device.
   */
  absorb(record: ConversationRecord, messages: Message[], changes: Change[]): { next: ConversationRecord; fresh: Message[] } {
    const r: ConversationRecord = { ...record, ahead: [...record.ahead], conversation: { ...record.conversation } };
    const ours = messages.filter((m) => m.senderId === this.#core.me() && unqueue(this.#core, m.clientId, changes));
    const held = (s: number) => (r.floorSeq > 0 && s >= r.floorSeq && s <= r.syncedSeq) || r.ahead.includes(s);
    const fresh = messages.filter((m) => !held(m.seq!));
    const older = fresh.filter((m) => r.floorSeq > 0 && m.seq! < r.floorSeq).sort((a, b) => b.seq! - a.seq!);
    const newer = fresh.filter((m) => !older.includes(m)).sort((a, b) => a.seq! - b.seq!);
    for (const { seq } of newer) {
      if (r.floorSeq === 0) r.floorSeq = r.syncedSeq = seq!;
      else if (seq === r.syncedSeq + 1) r.syncedSeq = seq;
      else if (!r.ahead.includes(seq!)) r.ahead.push(seq!);
    }
    for (const { seq } of older) if (seq === r.floorSeq - 1) r.floorSeq = seq;
    // Below the run and not next to it (an old message edited, a page asked with a far \`before\`):
    // kept out of the cache, where it would pass for the oldest held message and hide the gap.
    const kept = fresh.filter((m) => m.seq! >= r.floorSeq);
    let at: number;
    while ((at = r.ahead.indexOf(r.syncedSeq + 1)) >= 0) {
      r.ahead.splice(at, 1);
      r.syncedSeq++;
    }
    for (const m of messages) {
      r.conversation.lastSeq = Math.max(r.conversation.lastSeq, m.seq!);
      r.conversation.lastActivity = Math.max(r.conversation.lastActivity ?? 0, sentTime(m));
    }
    // Edits and deletes arrive with a seq already held: write them over the old copy.
    const writes = [...kept, ...messages.filter((m) => !fresh.includes(m) && (m.editedAt || m.deleted))];
    if (writes.length) changes.push({ type: 'messages', conversationId: r.conversation.id, messages: writes });
    changes.push(setRecord(this.#core, r));
    return { next: r, fresh: kept.filter((m) => !ours.includes(m)) };
  }

  async #fill(connection: BackendConnection, id: Id): Promise<void> {
    for (;;) {
      const r = this.#core.records.get(id);
      if (!r) return;
      const target = Math.max(r.conversation.lastSeq, ...r.ahead);
      const live = r.floorSeq > 0;
      let page: MessagePage;
      if (live && r.syncedSeq >= target) return;
      if (!live) {
        if (target === 0) return;
        page = await connection.history({ conversationId: id, before: target + 1, limit: PAGE_SIZE });
      } else {
        try {
          page = await connection.history({ conversationId: id, after: r.syncedSeq, limit: PAGE_SIZE });
        } catch (error) {
          if (toPerchError(error).code !== 'cursor_expired') throw error;
          await this.#core.commit(this.#resetChanges(id));
          continue;
        }
      }
      const current = this.#core.records.get(id)!;
      const { next, fresh } = (await this.file(id, page.messages))!;
      if (live) for (const m of fresh) this.#core.emit('message', m);
      if (next.syncedSeq === current.syncedSeq && next.floorSeq === current.floorSeq) return;
    }
  }

  /** Files fetched or changed messages under their conversation; resolves once persisted and applied. */
  async file(conversationId: Id, messages: Message[]): Promise<{ next: ConversationRecord; fresh: Message[] } | undefined> {
    const record = this.#core.records.get(conversationId);
    if (!record) return;
    const changes: Change[] = [];
    const result = this.absorb(record, messages, changes);
    await this.#core.commit(changes);
    return result;
  }

  #resetChanges(id: Id): Change[] {
    const r = this.#core.records.get(id);
    if (!r) return [];
    return [{ type: 'reset', conversationId: id }, setRecord(this.#core, EMPTY(r.conversation))];
  }

  #refreshing: Promise<void> | undefined;

  /** A message for a conversation not known yet: fetch the list again (one fetch at a time). */
  #refresh(connection: BackendConnection): Promise<void> {
    return (this.#refreshing ??= this.resume(connection)
      .catch(() => {})
      .finally(() => (this.#refreshing = undefined)));
  }
}
