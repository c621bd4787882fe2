/**
 * Ids of messages and posts: UUIDv7 (RFC 9562) — 48 bits of Unix time in ms, then 74 random bits.
 * They are as unguessable as a random UUID for anyone without the exact millisecond (and even with
 * it, 74 bits), not sequential, yet new ids sort after older ones. That keeps the unique index on
 * `messages.id` appending at its right edge instead of touching a random page per message, which
 * roughly halves the pages each group commit writes.
 */
import { randomUUID } from 'node:crypto';

let lastMs = -1;
let timePart = '';

/** A new UUIDv7 string, e.g. `0195c1f2-8a3b-7c4d-9e5f-0123456789ab`. */
export function newTimeOrderedId(now = Date.now()): string {
  if (now !== lastMs) {
    const hex = now.toString(16).padStart(12, '0');
    lastMs = now;
    timePart = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7`;
  }
  // A v4 UUID supplies the random bits and the variant; its first 48 bits become the time and
  // its version nibble a 7.
  return timePart + randomUUID().slice(15);
}
