import type { Id } from '@perch/protocol';
import type { BackendCapabilities, BackendConnection } from './backend.js';
import type { Change, ConversationRecord, OutboxEntry } from './changes.js';
import type { ClientEvents } from './events.js';
import type { View } from './view.js';

/**
 * What the sync and outbox modules share with the client. `records` and `queue` are the head
 * state that decisions are made on; they change at once, while `view` changes only after the
 * cache holds the change.
 */
export interface CoreContext {
  readonly capabilities: BackendCapabilities;
  /** The applied state (replaced when another user signs in). */
  view(): View;
  /** Sync bookkeeping per conversation, ahead of the view. */
  readonly records: Map<Id, ConversationRecord>;
  /** Outbox entries by clientId, ahead of the view. */
  readonly queue: Map<string, OutboxEntry>;
  /** The signed-in user's id, once known. */
  me(): Id | undefined;
  /** The open connection, when this tab holds one. */
  connection(): BackendConnection | undefined;
  /** Persists, then applies, then resolves (the caller emits after). */
  commit(changes: Change[]): Promise<void>;
  emit<E extends keyof ClientEvents>(event: E, ...args: Parameters<ClientEvents[E]>): void;
}
