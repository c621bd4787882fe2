import type { CacheStore } from './cache-store.js';
import { keys } from './keys.js';

/** One schema step: rewrites what an older version wrote. Index `i` upgrades version `i` to `i + 1`. */
export type Migration = (store: CacheStore) => Promise<void>;

/**
 * The cache's schema history, oldest first. Append, never edit: a device may hold any older version.
 * Version 1 is the first layout (see `keys.ts`), so it has nothing to rewrite.
 */
export const MIGRATIONS: readonly Migration[] = [async () => {}];

/**
 * Brings `store` to the newest schema, running each missing migration in order and recording the
 * version after each. A cache written by a newer Perch than this one is cleared rather than misread.
 */
export async function migrate(store: CacheStore, migrations: readonly Migration[] = MIGRATIONS): Promise<number> {
  let version = (await store.get<number>(keys.schema)) ?? 0;
  if (version > migrations.length) {
    await store.clear('');
    version = 0;
  }
  for (; version < migrations.length; version++) {
    await migrations[version]!(store);
    await store.write([[keys.schema, version + 1]], []);
  }
  return version;
}
