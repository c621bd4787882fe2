export type {
  Auth,
  AuthSource,
  Backend,
  BackendCapabilities,
  BackendConnection,
  BackendListener,
  CloseReason,
  MessagePage,
  PostPage,
  ReceiptEvent,
  Session,
  TypingEvent,
} from './backend.js';
export { BackendError, PerchError, toPerchError } from './backend.js';
export type { BackoffOptions } from './backoff.js';
export { backoffDelay } from './backoff.js';
export type { CacheStore, RangeOptions } from './cache/cache-store.js';
export { openIdbStore } from './cache/idb-store.js';
export { memoryStore } from './cache/memory-store.js';
export type { Migration } from './cache/migrations.js';
export { MIGRATIONS, migrate } from './cache/migrations.js';
export type { ConversationRecord, OutboxEntry } from './changes.js';
export type { ClientOptions, MessageStore } from './client.js';
export { createClient, PerchClient } from './client.js';
export type { ConnectionState, ConnectionStatus } from './connection.js';
export type { ClientEvents, StorageInfo } from './events.js';
export type { TabCoordinator, TabMessage } from './leader-election.js';
export { browserTabs } from './leader-election.js';
export type { ReadableStore } from './store.js';
export type { ConversationView, RosterEntry } from './view.js';
export type * from '@perch/protocol';
