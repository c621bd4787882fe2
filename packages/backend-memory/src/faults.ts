import type { ErrorCode, Id } from '@perch/protocol';

/** What a rejection predicate sees of a chat message or a feed post that a user is sending. */
export interface RejectInput {
  /** Whether a chat message or a feed post is being sent. */
  kind: 'message' | 'post';
  /** The sender of the message or the author of the post. */
  senderId: Id;
  /** The conversation of a message; undefined for a post. */
  conversationId?: Id;
  /** The client id chosen by the sender. */
  clientId: string;
  /** The text being sent. */
  text: string;
}

/**
 * Decides whether the hub permanently rejects a message or post: it returns the error code to
 * answer with (for example `'forbidden'` or `'bad_request'`), or undefined to accept it.
 */
export type RejectPredicate = (input: RejectInput) => ErrorCode | undefined;

/**
 * The hub's mutable fault settings. Tests change the fields directly; the hub reads them on every
 * answer and event, so a change applies at once.
 */
export interface Faults {
  /** Delay in milliseconds applied to each answer and event: a fixed value or a `[min, max]` range. */
  latency: number | [number, number];
  /** While true, `connect` rejects with `unavailable` (use `hub.setOffline` to also drop connections). */
  offline: boolean;
  /** Probability (0..1) that a persisted message's or post's acknowledgement is lost with its connection. */
  ackLoss: number;
  /** Probability (0..1) that a message, post, receipt or presence event is delivered twice. */
  duplicate: number;
  /** Probability (0..1) that an event is held back and delivered after the next one. */
  reorder: number;
  /** The random number generator behind every probabilistic fault, for reproducible tests. */
  random: () => number;
}

/** Creates fault settings that inject nothing: zero latency, online, no losses. */
export function noFaults(random: () => number = Math.random): Faults {
  return { latency: 0, offline: false, ackLoss: 0, duplicate: 0, reorder: 0, random };
}

/** Draws one delay in milliseconds from the configured latency (never negative). */
export function sampleLatency(faults: Faults): number {
  const { latency } = faults;
  if (typeof latency === 'number') return Math.max(0, latency);
  const [min, max] = latency;
  if (max <= min) return Math.max(0, min);
  return Math.max(0, min + faults.random() * (max - min));
}

/** The longest delay the configured latency can produce, in milliseconds. */
export function maxLatency(faults: Faults): number {
  const { latency } = faults;
  return Math.max(0, typeof latency === 'number' ? latency : Math.max(latency[0], latency[1]));
}

/**
 * Returns true with probability `probability`, using the injected generator. The generator is not
 * consulted when the probability is zero, so disabled faults never shift a seeded sequence.
 */
export function chance(faults: Faults, probability: number): boolean {
  if (!(probability > 0)) return false;
  if (probability >= 1) return true;
  return faults.random() < probability;
}

/** Runs `task` after one sampled latency: in a microtask when the delay is zero, else on a timer. */
export function later(faults: Faults, task: () => void): void {
  const delay = sampleLatency(faults);
  if (delay === 0) queueMicrotask(task);
  else setTimeout(task, delay);
}

/**
 * Creates a small seeded pseudo-random generator (mulberry32) returning numbers in [0, 1).
 * The same seed always yields the same sequence, which makes fault-injection tests reproducible.
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
