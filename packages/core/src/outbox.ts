import type { Post } from '@perch/protocol';
import { toPerchError, type BackendConnection, type PerchError } from './backend.js';
import { backoffDelay } from './backoff.js';
import type { Change, OutboxEntry } from './changes.js';
import type { CoreContext } from './context.js';
import type { Resume } from './resume.js';

/**
 * Delivers queued messages and posts. Each conversation (and the feed) is a lane: entries in a
 * lane are sent one after another in compose order, lanes run side by side. An entry leaves the
 * queue only on the server's ack (or its echo); a permanent rejection marks it `failed` and the
 * lane goes on; a lost connection stops the lane until the next connection restarts it.
 */
export class Outbox {
  readonly #lanes = new Set<string>();

    readonly #core: CoreContext;
  readonly #resume: Resume;

  constructor(core: CoreContext, resume: Resume) {
    this.#core = core;
    this.#resume = resume;
  }

  /** Starts a worker for every lane that has pending entries and none running. */
  kick(): void {
    const connection = this.#core.connection();
    if (!connection) return;
    for (const entry of this.#core.queue.values()) {
      const lane = laneOf(entry);
      if (entry.state === 'pending' && !this.#lanes.has(lane)) void this.#run(connection, lane);
    }
  }

  #next(lane: string): OutboxEntry | undefined {
    let first: OutboxEntry | undefined;
    for (const e of this.#core.queue.values()) {
      if (e.state === 'pending' && laneOf(e) === lane && (!first || e.order < first.order)) first = e;
    }
    return first;
  }

  async #run(connection: BackendConnection, lane: string): Promise<void> {
    this.#lanes.add(lane);
    let entry: OutboxEntry | undefined;
    let attempt = 0;
    try {
      while (this.#core.connection() === connection && (entry = this.#next(lane))) {
        try {
          const input = { clientId: entry.clientId, text: entry.text, createdAt: entry.createdAt };
          if (entry.kind === 'message') {
            const message = await connection.sendMessage({ conversationId: entry.conversationId!, ...input });
            // If the echo came first, the entry already left the queue and this only dedupes.
            // The next send does not wait for this write: acks are persisted in batches, and an
            // ack lost to a crash only means a retry that the server dedupes.
            void this.#resume.receive(message);
          } else {
            const post = await connection.post(entry.replyTo ? { ...input, replyTo: entry.replyTo } : input);
            void this.published(post);
          }
          attempt = 0;
        } catch (error) {
          const e = toPerchError(error);
          if (!e.transient) {
            await this.#fail(entry, e);
          } else if (e.code === 'unavailable') {
            return; // the connection is gone; the next one restarts this lane
          } else {
            await new Promise((resolve) => setTimeout(resolve, backoffDelay(attempt++, {}, e.retryAfter)));
          }
        }
      }
    } finally {
      this.#lanes.delete(lane);
      // A newer connection may have kicked while this worker was finishing.
      if (this.#core.connection() !== connection) this.kick();
    }
  }

  /** A published post (our ack, or an event): files it, and takes it out of the queue if it was ours. */
  async published(post: Post): Promise<void> {
    const changes: Change[] = [{ type: 'post', post }];
    if (post.authorId === this.#core.me()) unqueue(this.#core, post.clientId, changes);
    await this.#core.commit(changes);
    this.#core.emit('post', post);
  }


  async #fail(entry: OutboxEntry, error: PerchError): Promise<void> {
    const failed: OutboxEntry = { ...entry, state: 'failed', error: { code: error.code, message: error.message } };
    this.#core.queue.set(entry.clientId, failed);
    await this.#core.commit([{ type: 'outbox', entry: failed }]);
    this.#core.emit('error', error);
  }
}

/** Takes an entry of this device out of the outbox (pushing the write onto `changes`); true if it was queued. */
export function unqueue(core: CoreContext, clientId: string, changes: Change[]): boolean {
  const entry = core.queue.get(clientId);
  if (entry) {
    core.queue.delete(clientId);
    changes.push({ type: 'unqueue', entry });
  }
  return !!entry;
}

/** The lane an entry is sent in: its conversation, or the feed. */
export const laneOf = (entry: OutboxEntry): string => entry.conversationId ?? '#feed';
