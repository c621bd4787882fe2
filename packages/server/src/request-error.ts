import type { ErrorCode } from '@perch/protocol';

/**
 * A refusal with a stable protocol code, thrown by the services and answered as an `error` frame
 * with the request's id. Anything else thrown is a bug, answered as `internal`.
 */
export class RequestError extends Error {
  override readonly name = 'RequestError';
  /** The protocol error code the client branches on. */
  readonly code: ErrorCode;
  /** For `rate_limited` and `unavailable`: milliseconds to wait before retrying. */
  readonly retryAfter: number | undefined;

  /** Creates a refusal; `message` is a sentence for people saying what happened and what to do. */
  constructor(code: ErrorCode, message: string, retryAfter?: number) {
    super(message);
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

/** Shorthand for a `not_found` about a user id. */
export function unknownUser(userId: string): RequestError {
  return new RequestError('not_found', `There is no user with id ${JSON.stringify(userId)}.`);
}
