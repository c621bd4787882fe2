/**
 * Group commit for SQLite: the writes requested during one turn of the event loop run in ONE
 * transaction, and their Promises settle only after that transaction committed. A commit costs far
 * more than the statements in it, so this multiplies write throughput under load while keeping
 * "acknowledged means persisted".
 *
 * A failing write must roll back only itself. Savepoints would give that, but one per write cost
 * 10–25% of a message's time in SQLite when measured (pages are copied to the sub-journal, and
 * SAVEPOINT/RELEASE are statements of their own), and writes almost never fail. So a batch first
 * runs every `work` plainly in one transaction; should any of them throw, that whole transaction is
 * rolled back and the batch runs again with each `work` in its own savepoint, so that only the
 * failing ones fail. Hence `work` must be plain synchronous database code that may run twice: it
 * reads and writes the database and returns a value built from it, with no other side effect.
 *
 * An update that many writes of a batch repeat on the same row (a conversation's last seq, moved by
 * every message in it) can instead be registered with {@link WriteBatch.defer}: the batch keeps the
 * last value per key and applies it once, inside the transaction after every write and before the
 * commit, so acknowledged still means persisted. What a write deferred is forgotten with it: the
 * whole fast pass's when that pass rolls back, one write's when its savepoint does, and everything
 * when the commit fails. Writes later in the batch read it back with {@link WriteBatch.deferred}.
 * For chat messages this took an append from 42–48 to 25–29 µs of CPU (see sqlite-chat.ts).
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

/**
 * A kind of update that writes register by key with {@link WriteBatch.defer} instead of running it
 * each time.
 */
export interface DeferredUpdate<V> {
  /**
   * Writes one key's last value; runs inside the transaction, after every write, before the
   * commit. Should it throw, every write of the batch fails, as when the commit fails.
   */
  apply(value: V, key: string): void;
  /**
   * Runs after the commit with each key's last value, e.g. to remember what is now stored; must
   * not throw (the batch's Promises settle after it).
   */
  committed?(value: V, key: string): void;
}

/** Deferred values by kind, then by key. */
type Deferrals = Map<DeferredUpdate<never>, Map<string, unknown>>;

/** Queues writes and commits them together at the end of the current event-loop turn. */
export class WriteBatch {
  /** Every write plainly, in one transaction; throws (rolling all back) when one of them throws. */
  private readonly commitFast: Database.Transaction<(batch: Pending[]) => void>;
  /** Every write in its own savepoint, in one transaction; failures are kept per write. */
  private readonly commitIsolated: Database.Transaction<(batch: Pending[]) => void>;
  private readonly maxBatch: number;
  private queue: Pending[] = [];
  /** What the writes of the running batch deferred and that survives: applied before its commit. */
  private readonly deferrals: Deferrals = new Map();
  /**
   * Where {@link defer} records: `deferrals` itself in the fast pass (it all rolls back together),
   * the running write's own in the isolated pass (merged once its savepoint is released), and
   * undefined outside a write.
   */
  private recording: Deferrals | undefined;
  private scheduled = false;
  private readonly flushNow = () => this.flush();

  /**
   * Creates a batcher over an open database. `maxBatch` caps the writes per transaction (default:
   * no cap); see {@link flush}.
   */
  constructor(db: Database.Database, maxBatch = Infinity) {
    this.maxBatch = maxBatch;
    this.commitFast = db.transaction((batch: Pending[]) => {
      this.recording = this.deferrals;
      try {
        for (const item of batch) {
          try {
            item.value = item.work();
          } catch (error) {
            throw new WriteFailed('A write in the batch failed.', { cause: error });
          }
        }
      } finally {
        this.recording = undefined;
      }
      this.applyDeferred();
    });
    // Nested in a transaction, a `db.transaction` function runs as a savepoint.
    const savepoint = db.transaction((work: () => unknown) => work());
    this.commitIsolated = db.transaction((batch: Pending[]) => {
      try {
        for (const item of batch) {
          const own: Deferrals = new Map();
          this.recording = own;
          try {
            item.value = savepoint(item.work);
            item.failed = false;
          } catch (error) {
            item.failed = true;
            item.error = error;
            continue; // Its savepoint rolled back: so is what it deferred.
          }
          for (const [update, values] of own) for (const [key, value] of values) this.record(this.deferrals, update, key, value);
        }
      } finally {
        this.recording = undefined;
      }
      this.applyDeferred();
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
   * From inside a `work`: registers `value` (never undefined) under `key` for `update`, replacing
   * what an earlier write of the batch registered there. `update.apply` writes the last value once,
   * before the commit (see the file comment). Outside a `work` there is no batch to defer to: throws.
   */
  defer<V>(update: DeferredUpdate<V>, key: string, value: V): void {
    if (this.recording === undefined) throw new Error('WriteBatch.defer() was called outside a write; call it from the work given to run().');
    this.record(this.recording, update, key, value);
  }

  /**
   * From inside a `work`: the value deferred under `key` by this write or an earlier one of the
   * batch, not yet written. Undefined when there is none, and outside a `work`, where the database
   * already holds everything committed.
   */
  deferred<V>(update: DeferredUpdate<V>, key: string): V | undefined {
    const recording = this.recording;
    if (recording === undefined) return undefined;
    const own = recording.get(update as DeferredUpdate<never>);
    if (own?.has(key) === true || recording === this.deferrals) return own?.get(key) as V | undefined;
    return this.deferrals.get(update as DeferredUpdate<never>)?.get(key) as V | undefined;
  }

  private record<V>(into: Deferrals, update: DeferredUpdate<V>, key: string, value: V): void {
    let values = into.get(update as DeferredUpdate<never>);
    if (values === undefined) into.set(update as DeferredUpdate<never>, (values = new Map()));
    values.set(key, value);
  }

  private applyDeferred(): void {
    for (const [update, values] of this.deferrals) for (const [key, value] of values) update.apply(value as never, key);
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
      // Rolled back, and with it everything the pass deferred.
      this.deferrals.clear();
      if (!(error instanceof WriteFailed)) return this.rejectAll(batch, error);
      try {
        this.commitIsolated.immediate(batch);
      } catch (retryError) {
        this.deferrals.clear();
        return this.rejectAll(batch, retryError);
      }
    }
    for (const [update, values] of this.deferrals) {
      if (update.committed !== undefined) for (const [key, value] of values) update.committed(value as never, key);
    }
    this.deferrals.clear();
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
