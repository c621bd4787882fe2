import type { Id, Post } from '@perch/core';

/** Detail of `perch-open-chat` and `perch-open-profile`. */
export interface UserEventDetail {
  userId: Id;
}

/** Detail of `perch-posted`. */
export interface PostedEventDetail {
  post: Post;
}

/** The events Perch components dispatch (bubbling and composed, so they reach the document). */
interface PerchEventMap {
  /** A user asked to chat with someone. Cancel it to open the chat your own way. */
  'perch-open-chat': CustomEvent<UserEventDetail>;
  /** A user asked to see someone's profile. */
  'perch-open-profile': CustomEvent<UserEventDetail>;
  /** The status box queued a post. */
  'perch-posted': CustomEvent<PostedEventDetail>;
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface HTMLElementEventMap extends PerchEventMap {}
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface DocumentEventMap extends PerchEventMap {}
}

/**
 * Dispatches a `perch-*` CustomEvent from `target`: bubbling, composed (it leaves the shadow
 * root) and cancelable. Returns false when a listener called `preventDefault()`.
 */
export function emit<K extends keyof HTMLElementEventMap>(
  target: HTMLElement,
  type: K,
  detail: HTMLElementEventMap[K] extends CustomEvent<infer D> ? D : never,
): boolean {
  return target.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true, cancelable: true }));
}
