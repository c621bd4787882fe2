import type { Message, Post, Presence } from '@perch/protocol';
import type { PerchError, ReceiptEvent, TypingEvent } from './backend.js';
import type { ConnectionStatus } from './connection.js';

/** Where the client keeps its cache, and why it fell back to memory if it did. */
export interface StorageInfo {
  mode: 'persistent' | 'memory';
  /** Set when persistent storage was asked for but could not be used. */
  reason?: string;
}

/** The client's events. `client.on(name, callback)` returns the function that unsubscribes. */
export interface ClientEvents {
  /** The connection status changed. */
  status: (status: ConnectionStatus) => void;
  /** A new message arrived from someone else, or from this user on another device. */
  message: (message: Message) => void;
  /** A post entered the timeline or changed. */
  post: (post: Post) => void;
  presence: (presence: Presence) => void;
  typing: (event: TypingEvent) => void;
  receipt: (event: ReceiptEvent) => void;
  /** The total unread count changed. */
  unread: (total: number) => void;
  /** Something failed that the user or the host page should know about. */
  error: (error: PerchError) => void;
  /** Storage mode at start, and again if IndexedDB fails later (quota, eviction). */
  storage: (info: StorageInfo) => void;
  /** This tab took over (true) or does not hold (false) the shared connection. */
  leader: (isLeader: boolean) => void;
}
