import { createStore, promisifyRequest, type UseStore } from 'idb-keyval';
import { prefixEnd, type CacheStore, type RangeOptions } from './cache-store.js';

/**
 * Opens (or creates) the IndexedDB database `name` with one object store, `kv`, through
 * idb-keyval. Rejects when IndexedDB is missing or refuses to open (private mode, blocked).
 */
export async function openIdbStore(name: string): Promise<CacheStore> {
  if (!globalThis.indexedDB) throw new Error('IndexedDB is not available here.');
  const use: UseStore = createStore(name, 'kv');
  // Let another tab upgrade or delete the database instead of blocking it; later writes then
  // fail and the client goes on in memory (and says so).
  await use('readonly', (store) => (store.transaction.db.onversionchange = () => store.transaction.db.close()));
  return {
    kind: 'persistent',
    get: <T>(key: string) => use('readonly', (store) => promisifyRequest(store.get(key) as IDBRequest<T | undefined>)),
    range<T>(prefix: string, options: RangeOptions = {}) {
      return use('readonly', (store) => {
        const range = IDBKeyRange.bound(prefix, options.below ?? prefixEnd(prefix), true, true);
        const out: Array<[string, T]> = [];
        const request = store.openCursor(range, options.reverse ? 'prev' : 'next');
        return new Promise<Array<[string, T]>>((resolve, reject) => {
          request.onsuccess = () => {
            const cursor = request.result;
            if (!cursor || out.length >= (options.limit ?? Infinity)) return resolve(out);
            out.push([cursor.key as string, cursor.value as T]);
            cursor.continue();
          };
          request.onerror = () => reject(request.error);
        });
      });
    },
    write: (puts, deletes) =>
      use('readwrite', (store) => {
        try {
          for (const key of deletes) store.delete(key);
          for (const [key, value] of puts) store.put(value, key);
        } catch (error) {
          store.transaction.abort(); // all or nothing, also when a value cannot be stored
          throw error;
        }
        return promisifyRequest(store.transaction);
      }),
    clear: (prefix) =>
      use('readwrite', (store) => {
        store.delete(IDBKeyRange.bound(prefix, prefixEnd(prefix)));
        return promisifyRequest(store.transaction);
      }),
  };
}
