import type { CloseReason, ReceiptEvent, TypingEvent } from '@perch/core';
import type { Contact, Conversation, Id, Message, Post, Presence } from '@perch/protocol';

/** One event the hub pushes to a connection; each kind maps to one `BackendListener` method. */
export type HubEvent =
  | { type: 'message'; message: Message }
  | { type: 'conversation'; conversation: Conversation }
  | { type: 'post'; post: Post }
  | { type: 'presence'; presence: Presence }
  | { type: 'typing'; event: TypingEvent }
  | { type: 'receipt'; event: ReceiptEvent }
  | { type: 'contact'; contact: Contact; removed: boolean };

/** The hub's side of one open connection: where it sends events and how it cuts the line. */
export interface HubLink {
  /** The signed-in user of the connection. */
  readonly userId: Id;
  /** Queues an event for the connection's listener (never delivered synchronously). */
  emit(event: HubEvent): void;
  /** Closes the connection abruptly, as a dying socket would, and tells its listener why. */
  drop(reason: CloseReason): void;
}

/** Builds a `PerchError`-style message for a user id that the hub does not know. */
export function unknownUser(userId: Id): string {
  return `There is no user with id ${JSON.stringify(userId)}.`;
}
