/**
 * Group commit for SQLite: the writes requested during one turn of the event loop run in ONE
 * transaction, and their Promises settle only after that transaction committed. A commit costs far
 * more than the statements in it, so this multiplies write throughput under load while keeping
 * "acknowledged means persisted".
 *
 * A failing write must roll back only itself, so every queued `work` must be atomic on its own:
 * a single statement, or a function made with `db.transaction()` (which becomes a savepoint when
 * nested in the batch's transaction).
 */
import type Database from 'better-sqlite3';

interface Pending {
  work: () => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
  outcome?: { ok: true; value: unknown } | { ok: false; error: unknown };
}

/** Queues writes and commits them together at the end of the current event-loop turn. */
export class WriteBatch {
  private readonly commitAll: Database.Transaction<(batch: Pending[]) => void>;
  private queue: Pending[] = [];
  private scheduled = false;

  /** Creates a batcher over an open database. */
  constructor(db: Database.Database) {
    this.commitAll = db.transaction((batch: Pending[]) => {
      for (const item of batch) {
        try {
          item.outcome = { ok: true, value: item.work() };
        } catch (error) {
          item.outcome = { ok: false, error };
        }
      }
    });
  }

  /** Runs `work` (one statement, or a `db.transaction` function) in the next group commit; resolves once it is durable. */
  run<T>(work: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, resolve: resolve as (value: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Commits everything queued now (also called before the database closes). */
  flush(): void {
    this.scheduled = false;
    const batch = this.queue;
    if (batch.length === 0) return;
    this.queue = [];
    try {
      this.commitAll.immediate(batch);
    } catch (error) {
      // The commit itself failed (disk full, I/O error): nothing in the batch is durable.
      for (const item of batch) item.reject(error);
      return;
    }
    for (const item of batch) {
      const outcome = item.outcome;
      if (outcome?.ok) item.resolve(outcome.value);
      else item.reject(outcome?.error);
    }
  }
}
