import { prefixEnd, type CacheStore, type RangeOptions } from './cache-store.js';

/** A cache that lives in memory only: nothing is written to the device. Values are stored and read as copies. */
export function memoryStore(): CacheStore {
  const data = new Map<string, unknown>();
  return {
    kind: 'memory',
    get: async <T>(key: string) => structuredClone(data.get(key)) as T | undefined,
    async range<T>(prefix: string, options: RangeOptions = {}) {
      const high = options.below ?? prefixEnd(prefix);
      const keys = [...data.keys()].filter((key) => key.startsWith(prefix) && key < high).sort();
      if (options.reverse) keys.reverse();
      return keys.slice(0, options.limit ?? Infinity).map((key): [string, T] => [key, structuredClone(data.get(key)) as T]);
    },
    async write(puts, deletes) {
      const copies = structuredClone(puts); // throws before any change
      for (const key of deletes) data.delete(key);
      for (const [key, value] of copies) data.set(key, value);
    },
    async clear(prefix) {
      for (const key of data.keys()) if (key.startsWith(prefix)) data.delete(key);
    },
  };
}
