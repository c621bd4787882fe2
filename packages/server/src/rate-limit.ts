/**
 * Token buckets: `rate` tokens per second refill a bucket of `burst` tokens; each request takes
 * one. Used per connection, per identity (all connections of one user in this process) and per
 * remote address (see {@link addressKey}) for creating visitors.
 */
import { isIPv4, isIPv6 } from 'node:net';

/**
 * The key under which a remote address is limited: an IPv4 address as is (also when it reaches an
 * IPv6 socket as `::ffff:192.0.2.1`), and an IPv6 address by its /64 network. One host or home
 * commonly holds a whole /64 and may pick any address in it, so a limit per IPv6 address would
 * hold no one back.
 */
export function addressKey(address: string): string {
  const bare = address.replace(/%.*$/, ''); // a zone index (fe80::1%eth0)
  if (!isIPv6(bare)) return address;
  const [head = '', tail] = bare.toLowerCase().split('::');
  const groups = (part: string | undefined): string[] => {
    if (part === undefined || part === '') return [];
    return part.split(':').flatMap((group) => {
      if (!isIPv4(group)) return [group];
      const [a, b, c, d] = group.split('.').map(Number) as [number, number, number, number];
      return [((a << 8) | b).toString(16), ((c << 8) | d).toString(16)];
    });
  };
  const front = groups(head);
  const back = groups(tail);
  const all = [...front, ...Array<string>(tail === undefined ? 0 : 8 - front.length - back.length).fill('0'), ...back].map((group) => parseInt(group, 16));
  // IPv4-mapped: the IPv4 address it is.
  if (all.slice(0, 5).every((group) => group === 0) && all[5] === 0xffff) {
    const [hi = 0, lo = 0] = all.slice(6);
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  return `${all.slice(0, 4).map((group) => group.toString(16)).join(':')}::/64`;
}

/** A rate and a burst. */
export interface RateLimit {
  /** Tokens added per second. */
  perSecond: number;
  /** Bucket size: how many requests may arrive at once after a quiet spell. */
  burst: number;
}

/** One token bucket on a monotonic millisecond clock. */
export class TokenBucket {
  private readonly limit: RateLimit;
  private readonly now: () => number;
  private tokens: number;
  private updated: number;

  /** Creates a full bucket. `now` defaults to `performance.now`. */
  constructor(limit: RateLimit, now: () => number = () => performance.now()) {
    this.limit = limit;
    this.now = now;
    this.tokens = limit.burst;
    this.updated = now();
  }

  /** Takes a token: 0 when granted, else the milliseconds until one will be available. */
  take(): number {
    this.refill();
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil(((1 - this.tokens) * 1000) / this.limit.perSecond));
  }

  /** True when the bucket has refilled completely (it could be forgotten without favouring anyone). */
  isFull(): boolean {
    this.refill();
    return this.tokens >= this.limit.burst;
  }

  private refill(): void {
    const now = this.now();
    const elapsed = Math.max(0, now - this.updated);
    this.updated = now;
    this.tokens = Math.min(this.limit.burst, this.tokens + (elapsed * this.limit.perSecond) / 1000);
  }
}

/** Buckets keyed by a string (a user id, an address), shared by whoever holds a reference. */
export class KeyedBuckets {
  private readonly limit: RateLimit;
  private readonly buckets = new Map<string, { bucket: TokenBucket; refs: number }>();

  /** Creates an empty set of buckets, each with `limit`. */
  constructor(limit: RateLimit) {
    this.limit = limit;
  }

  /** Takes a token from `key`'s bucket, creating it when needed: 0 or the ms to wait. */
  take(key: string): number {
    return this.entry(key).bucket.take();
  }

  /** Keeps `key`'s bucket alive until {@link release} (a connection of that identity is open). */
  retain(key: string): void {
    this.entry(key).refs++;
  }

  /**
   * Drops one hold on `key`'s bucket. The bucket itself stays until {@link sweep} finds it full
   * again, so that reconnecting does not refill it.
   */
  release(key: string): void {
    const entry = this.buckets.get(key);
    if (entry !== undefined) entry.refs = Math.max(0, entry.refs - 1);
  }

  /** Deletes unheld buckets that have been idle long enough to be full again. */
  sweep(): void {
    for (const [key, entry] of this.buckets) {
      if (entry.refs <= 0 && entry.bucket.isFull()) this.buckets.delete(key);
    }
  }

  private entry(key: string): { bucket: TokenBucket; refs: number } {
    let entry = this.buckets.get(key);
    if (entry === undefined) this.buckets.set(key, (entry = { bucket: new TokenBucket(this.limit), refs: 0 }));
    return entry;
  }
}

/**
 * Open things (connections) counted per key (an address, a user id), at most `max` per key. Each
 * holder counts under one key from {@link take} until {@link release}.
 */
export class KeyedLimit<H extends object> {
  readonly #max: number;
  readonly #counts = new Map<string, number>();
  readonly #keys = new WeakMap<H, string>();

  constructor(max: number) {
    this.#max = max;
  }

  /** Counts `holder` under `key`; false, counting nothing, when `key` already holds `max`. */
  take(holder: H, key: string): boolean {
    const count = this.#counts.get(key) ?? 0;
    if (count >= this.#max) return false;
    this.#counts.set(key, count + 1);
    this.#keys.set(holder, key);
    return true;
  }

  /** Stops counting `holder` (nothing when it is not counted). */
  release(holder: H): void {
    const key = this.#keys.get(holder);
    if (key === undefined) return;
    this.#keys.delete(holder);
    const count = (this.#counts.get(key) ?? 1) - 1;
    if (count > 0) this.#counts.set(key, count);
    else this.#counts.delete(key);
  }
}
