/**
 * Group commit for SQLite: the writes requested during one turn of the event loop run in ONE
 * transaction, and their Promises settle only after that transaction committed. A commit costs far
 * more than the statements in it, so this multiplies write throughput under load while keeping
 * "acknowledged means persisted".
 *
 * A failing write must roll back only itself. Savepoints would give that, but one per write cost
 * 10–25% of a message's time in SQLite when measured (pages are copied to the sub-journal, and
 * SAVEPOINT/RELEASE are statements of their own), and writes almost never fail. So a batch first runs every `work` plainly in one transaction; should
 * any of them throw, that whole transaction is rolled back and the batch runs again with each
 * `work` in its own savepoint, so that only the failing ones fail. Hence `work` must be plain
 * synchronous database code that may run twice: it reads and writes the database and returns a
 * value built from it, with no other side effect.
 */
import type Database from 'better-sqlite3';

interface Pending {
  work: () => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
  value: unknown;
  failed: boolean;
  error: unknown;
}

/** Thrown inside the fast pass to roll it back when one write failed. */
class WriteFailed extends Error {}

/** Queues writes and commits them together at the end of the current event-loop turn. */
export class WriteBatch {
  /** Every write plainly, in one transaction; throws (rolling all back) when one of them throws. */
  private readonly commitFast: Database.Transaction<(batch: Pending[]) => void>;
  /** Every write in its own savepoint, in one transaction; failures are kept per write. */
  private readonly commitIsolated: Database.Transaction<(batch: Pending[]) => void>;
  private readonly maxBatch: number;
  private queue: Pending[] = [];
  private scheduled = false;
  private readonly flushNow = () => this.flush();

  /**
   * Creates a batcher over an open database. `maxBatch` caps the writes per transaction (default:
   * no cap); see {@link flush}.
   */
  constructor(db: Database.Database, maxBatch = Infinity) {
    this.maxBatch = maxBatch;
    this.commitFast = db.transaction((batch: Pending[]) => {
      for (const item of batch) {
        try {
          item.value = item.work();
        } catch (error) {
          throw new WriteFailed('A write in the batch failed.', { cause: error });
        }
      }
    });
    // Nested in a transaction, a `db.transaction` function runs as a savepoint.
    const savepoint = db.transaction((work: () => unknown) => work());
    this.commitIsolated = db.transaction((batch: Pending[]) => {
      for (const item of batch) {
        try {
          item.value = savepoint(item.work);
          item.failed = false;
        } catch (error) {
          item.failed = true;
          item.error = error;
        }
      }
    });
  }

  /** Runs `work` (plain synchronous database code, see the file comment) in the next group commit; resolves once it is durable. */
  run<T>(work: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, resolve: resolve as (value: unknown) => void, reject, value: undefined, failed: false, error: undefined });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(this.flushNow);
      }
    });
  }

  /**
   * Commits the writes queued, or the first `maxBatch` of them and the rest two turns later, after
   * this slice's answers have left; before the database closes, `all` commits everything now.
   * A cap pays where the database has a thread of its own (storage-thread.ts): behind a backlog of
   * tens of thousands, one long transaction would hold every answer back and leave the network
   * thread idle until it ends, then flooded. On the network thread itself, a cap would only stretch
   * the backlog over more turns.
   */
  flush(all = false): void {
    this.scheduled = false;
    do this.commit(this.queue.splice(0, this.maxBatch));
    while (all && this.queue.length > 0);
    if (this.queue.length > 0) {
      // Two turns later: this slice's answers, which its owner sends on the next turn (the
      // storage thread batches them with setImmediate), leave before the next slice commits.
      this.scheduled = true;
      setImmediate(() => setImmediate(this.flushNow));
    }
  }

  private commit(batch: Pending[]): void {
    if (batch.length === 0) return;
    try {
      this.commitFast.immediate(batch);
    } catch (error) {
      if (!(error instanceof WriteFailed)) return this.rejectAll(batch, error);
      try {
        this.commitIsolated.immediate(batch);
      } catch (retryError) {
        return this.rejectAll(batch, retryError);
      }
    }
    for (const item of batch) {
      if (item.failed) item.reject(item.error);
      else item.resolve(item.value);
    }
  }

  /** The commit itself failed (disk full, I/O error): nothing in the batch is durable. */
  private rejectAll(batch: Pending[], error: unknown): void {
    for (const item of batch) item.reject(error);
  }
}
