/**
 * Time-ordered ids: UUIDv7 (RFC 9562) — 48 bits of Unix time in ms, then 74 random bits. As
 * unguessable as a random UUID to anyone without the exact millisecond, not sequential, yet a newer
 * id sorts after an older one, so an index on them grows at its right edge instead of touching a
 * random page per new row. The server makes message and post ids with it, and `@perch/core` each
 * `clientId` (which the server indexes to recognise retries).
 */

/** A new UUIDv7 string for `time` (ms since the epoch), e.g. `0195c1f2-8a3b-7c4d-9e5f-0123456789ab`. */
export function timeOrderedId(time = Date.now()): string {
  const hex = time.toString(16).padStart(12, '0');
  // A v4 UUID supplies the random bits and the variant; its first 48 bits become the time and its
  // version nibble a 7.
  return `${hex.slice(0, 8)}-${hex.slice(8)}-7${crypto.randomUUID().slice(15)}`;
}
