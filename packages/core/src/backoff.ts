/** How reconnects are spaced. */
export interface BackoffOptions {
  /** First delay cap in ms (default 500). */
  baseDelay?: number;
  /** Largest delay cap in ms (default 30 000). */
  maxDelay?: number;
  /** Random source in [0, 1) (injectable for tests). */
  random?: () => number;
}

/**
 * Exponential backoff with full jitter: a random delay between 0 and
 * `min(maxDelay, baseDelay · 2^attempt)`, but never shorter than the server's `retryAfter`.
 */
export function backoffDelay(attempt: number, options: BackoffOptions = {}, retryAfter = 0): number {
  const { baseDelay = 500, maxDelay = 30_000, random = Math.random } = options;
  const cap = Math.min(maxDelay, baseDelay * 2 ** Math.min(attempt, 30));
  return Math.max(Math.floor(random() * cap), retryAfter);
}
