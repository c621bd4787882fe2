/**
 * Stable error codes shared by every backend and the reference server.
 * Clients branch on the code, never on the message text.
 */
export type ErrorCode =
  /** The request was malformed or a value is out of range. Permanent. */
  | 'bad_request'
  /** No valid credentials (missing, expired, wrong audience or signature). Permanent for that token. */
  | 'unauthorized'
  /** Authenticated, but not allowed (not a member, not the author). Permanent. */
  | 'forbidden'
  /** The conversation, user or post does not exist. Permanent. */
  | 'not_found'
  /** A frame or text over the size limit. Permanent. */
  | 'too_large'
  /** Too many requests; retry after `retryAfter` milliseconds. Transient. */
  | 'rate_limited'
  /** The resume cursor is no longer served; the client must resync. Permanent for that cursor. */
  | 'cursor_expired'
  /** The server or network is unavailable right now. Transient. */
  | 'unavailable'
  /** The request did not complete in time; it may or may not have been applied. Transient. */
  | 'timeout'
  /** An unexpected server fault. Transient. */
  | 'internal';

const TRANSIENT: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['rate_limited', 'unavailable', 'timeout', 'internal']);

/** True when retrying the same request later may succeed. */
export function isTransient(code: ErrorCode): boolean {
  return TRANSIENT.has(code);
}

/** All error codes, for validators and documentation. */
export const ERROR_CODES: readonly ErrorCode[] = [
  'bad_request',
  'unauthorized',
  'forbidden',
  'not_found',
  'too_large',
  'rate_limited',
  'cursor_expired',
  'unavailable',
  'timeout',
  'internal',
];
