import type { CloseReason } from '@perch/core';
import { CLOSE, isRecord, type ErrorCode } from '@perch/protocol';

/** `Try Again Later`: a standard close code some proxies and servers use when overloaded. */
const TRY_AGAIN_LATER = 1013;

/** The error code a WebSocket close code stands for; anything unknown means `unavailable`. */
export function codeForClose(closeCode: number): ErrorCode {
  switch (closeCode) {
    case CLOSE.unauthorized:
      return 'unauthorized';
    case CLOSE.policy:
      return 'forbidden';
    case CLOSE.rateLimited:
    case TRY_AGAIN_LATER:
      return 'rate_limited';
    case CLOSE.tooLarge:
      return 'too_large';
    case CLOSE.helloTimeout:
      return 'timeout';
    default:
      // 1000 normal, 1001 going away, 1006 abnormal, 1011 server fault, 4003 slow consumer…
      return 'unavailable';
  }
}

/**
 * Reads a retry delay in milliseconds from a close reason, if it carries one: either JSON with a
 * `retryAfter` field, or text such as "retry after 5000 ms" / "retryAfter=5000".
 */
export function retryAfterIn(reason: string): number | undefined {
  if (!reason) return undefined;
  if (reason.startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(reason);
    } catch {
      parsed = undefined; // not JSON after all; try the text form
    }
    if (isRecord(parsed)) {
      const value = parsed.retryAfter;
      return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
    }
  }
  const match = /retry[-_ ]?after\D{0,3}(\d+)/i.exec(reason);
  return match ? Number(match[1]) : undefined;
}

/** An `error` frame the server sent without a request id, remembered to explain a close. */
export interface ConnectionError {
  code: ErrorCode;
  message: string;
  retryAfter?: number;
}

/**
 * Explains why the socket closed. The id-less `error` frame that came right before the close, if
 * any, gives its message and retry-after when it means the same, and its code when the close code
 * says nothing specific (e.g. 1011 after a refused hello) — but a server going away is `unavailable`.
 */
export function closeReason(closeCode: number, reason: string, lastError?: ConnectionError): CloseReason {
  let code = codeForClose(closeCode);
  if (lastError && code === 'unavailable' && closeCode !== CLOSE.goingAway) code = lastError.code;
  const explained = lastError && lastError.code === code;
  const message = explained
    ? lastError.message
    : reason || `The connection to the server closed (WebSocket code ${closeCode}); reconnecting.`;
  const retryAfter = retryAfterIn(reason) ?? (explained ? lastError.retryAfter : undefined);
  return retryAfter === undefined ? { code, message } : { code, message, retryAfter };
}
