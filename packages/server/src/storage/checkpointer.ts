/**
 * WAL checkpoints off the main thread. With `synchronous=NORMAL` a commit only appends to the WAL;
 * the disk flushes (fsync) happen when the WAL is copied back into the database file. SQLite does
 * that inside a commit once the WAL passes `wal_autocheckpoint` pages, which would stall the event
 * loop; instead a worker thread with its own connection runs a PASSIVE checkpoint (it never blocks
 * writers) a few times a second, and the main connection's automatic checkpoint stays only as a
 * backstop should the worker fall behind.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** The worker's code: plain CommonJS, so that it runs the same from src/ (tsx) and dist/. */
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.module);
const db = new Database(workerData.path);
db.pragma('busy_timeout = 5000');
const timer = setInterval(() => {
  try { db.pragma('wal_checkpoint(PASSIVE)'); } catch (error) { parentPort.postMessage({ error: String(error) }); }
}, workerData.intervalMs);
parentPort.on('message', (message) => {
  if (message !== 'stop') return;
  clearInterval(timer);
  db.close();
  parentPort.postMessage('stopped');
});
`;

/** A running checkpoint worker. */
export interface Checkpointer {
  /** Stops the worker and closes its connection. */
  stop(): Promise<void>;
}

/** Starts checkpointing the database file at `path` every `intervalMs` in a worker thread. */
export function startCheckpointer(path: string, log: (line: string) => void, intervalMs = 250): Checkpointer {
  const module = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(WORKER, { eval: true, workerData: { path, module, intervalMs } });
  worker.unref();
  let failed = false;
  worker.on('message', (message: unknown) => {
    if (typeof message === 'object' && message !== null && 'error' in message && !failed) {
      failed = true; // Said once: the main connection's automatic checkpoints still keep the WAL bounded.
      log(`perch-server: background WAL checkpoint failed: ${String(message.error)}`);
    }
  });
  worker.on('error', (error) => log(`perch-server: the WAL checkpoint worker stopped: ${error.message}`));
  return {
    stop: () =>
      new Promise<void>((resolve) => {
        const done = () => {
          void worker.terminate().finally(resolve);
        };
        worker.once('message', done);
        worker.once('exit', () => resolve());
        const timer = setTimeout(done, 2000);
        timer.unref();
        worker.postMessage('stop');
      }),
  };
}
