/**
 * The key-value store behind the offline cache. Keys are strings that sort correctly by
 * construction (see `keys.ts`), so a prefix range reads one conversation's messages in seq order.
 */
export interface CacheStore {
  /** `persistent` for IndexedDB, `memory` when nothing is written to the device. */
  readonly kind: 'persistent' | 'memory';
  get<T>(key: string): Promise<T | undefined>;
  /** Entries whose key starts with `prefix`, in key order (or reverse), at most `limit`. */
  range<T>(prefix: string, options?: RangeOptions): Promise<Array<[string, T]>>;
  /** Applies every put and delete in one atomic transaction. */
  write(puts: Array<[string, unknown]>, deletes: string[]): Promise<void>;
  /** Deletes every key that starts with `prefix`. */
  clear(prefix: string): Promise<void>;
}

/** Options for {@link CacheStore.range}. */
export interface RangeOptions {
  /** Only keys strictly below this one. */
  below?: string;
  limit?: number;
  reverse?: boolean;
}

/** The highest key that starts with `prefix` (used as the upper bound of a prefix range). */
export const prefixEnd = (prefix: string): string => prefix + '\uffff';
