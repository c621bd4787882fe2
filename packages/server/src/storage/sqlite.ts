/**
 * The default {@link Storage}: one SQLite file through better-sqlite3 (WAL, `synchronous=NORMAL`,
 * foreign keys on). better-sqlite3 is synchronous, which makes every method trivially atomic within
 * this process; the methods still return Promises to keep the interface engine-neutral.
 */
import Database from 'better-sqlite3';
import { startCheckpointer, type Checkpointer } from './checkpointer.js';
import { migrate } from './migrations.js';
import { sqliteChat } from './sqlite-chat.js';
import { sqliteFeed } from './sqlite-feed.js';
import { sqliteUsers } from './sqlite-users.js';
import type { Storage } from './storage.js';
import { WriteBatch } from './write-batch.js';

/** Options of {@link openSqliteStorage}. */
export interface SqliteOptions {
  /** Where operational warnings go (default: stderr). */
  log?: (line: string) => void;
  /** At most this many writes per transaction (default: no cap; see WriteBatch.flush). */
  maxBatch?: number;
}

/**
 * Opens (creating if needed) and migrates the SQLite database at `path` (`:memory:` for a
 * throw-away one) and returns it as a {@link Storage}.
 */
export function openSqliteStorage(path: string, options: SqliteOptions = {}): Storage {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const inMemory = path === ':memory:' || path === '';
  let db: Database.Database;
  try {
    db = new Database(path);
  } catch (error) {
    throw new Error(`Could not open the database ${path}: ${(error as Error).message}`, { cause: error });
  }
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    // Savepoints (a group commit that must isolate a failing write) and statement journals stay in memory.
    db.pragma('temp_store = MEMORY');
    // Up to 32 MiB of page cache: message indexes keyed by random UUIDs touch pages all over.
    db.pragma('cache_size = -32768');
    // A backstop only: the checkpoint worker keeps the WAL short (see checkpointer.ts).
    if (!inMemory) db.pragma('wal_autocheckpoint = 20000');
    // Another process (a second server on the same file, a backup) may hold the lock briefly.
    db.pragma('busy_timeout = 5000');
    migrate(db);
  } catch (error) {
    db.close();
    throw error;
  }
  let closed = false;
  const batch = new WriteBatch(db, options.maxBatch);
  const checkpointer: Checkpointer | undefined = inMemory ? undefined : startCheckpointer(path, log);
  return {
    ...sqliteUsers(db, batch),
    ...sqliteChat(db, batch),
    ...sqliteFeed(db, batch),
    async close() {
      if (closed) return;
      closed = true;
      batch.flush(true);
      await checkpointer?.stop();
      // Folds the WAL back into the main file so that a copied .db file is complete on its own.
      if (!inMemory) db.pragma('wal_checkpoint(TRUNCATE)');
      db.close();
    },
  };
}
