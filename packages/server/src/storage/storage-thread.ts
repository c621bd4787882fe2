/**
 * The SQLite {@link Storage} on a thread of its own. better-sqlite3 is synchronous: on the main
 * thread every statement and every group commit stops the event loop that parses, checks and
 * delivers frames, and a server used one core of two. Here the database lives in a worker thread
 * and the main thread keeps only the network; the two run side by side.
 *
 * The main side ({@link openStorageThread}) is a {@link Storage} whose methods post calls to the
 * worker and return Promises of the answers. Calls made during one turn of the event loop cross
 * in one message, in order, and the worker answers in batches too, so the per-message cost of the
 * thread hop stays small. The worker runs {@link openSqliteStorage} unchanged: its group commit,
 * and "a write's Promise settles once the write is durable", hold as before. Calls are executed in
 * the order they were made, so a later read sees every earlier write, as in one thread.
 */
import { Worker, type MessagePort } from 'node:worker_threads';
import { openSqliteStorage, type SqliteOptions } from './sqlite.js';
import type { Storage } from './storage.js';

/** Every {@link Storage} method but `close`, which ends the thread. */
const METHODS = [
  'upsertUser',
  'getUser',
  'listDirectory',
  'createVisitor',
  'findVisitor',
  'revokeVisitorTokens',
  'touchVisitor',
  'purgeVisitors',
  'getPresence',
  'setPresence',
  'setLastSeen',
  'openDirect',
  'createGroup',
  'getConversation',
  'getMembers',
  'listConversations',
  'appendMessage',
  'getMessage',
  'updateMessage',
  'history',
  'advanceMarker',
  'listContacts',
  'putContact',
  'removeContact',
  'watchersOf',
  'setFollow',
  'followersOf',
  'createPost',
  'getPost',
  'feed',
  'setLike',
  'likersAmong',
  'isEmpty',
] as const satisfies ReadonlyArray<keyof Storage>;
type Method = (typeof METHODS)[number];
// Fails to compile when Storage gains a method that is not forwarded above.
const everyMethod: Exclude<keyof Storage, Method | 'close'> extends never ? true : never = true;
void everyMethod;

/** A call: [call id, method, arguments]. */
type Call = [number, Method, unknown[]];
/** An answer: [call id, value] or [call id, undefined, error]. */
type Answer = [number, unknown] | [number, undefined, { message: string; name: string }];
/** Main → worker. */
type ToWorker = { calls: Call[] } | { close: true };
/** Worker → main. */
type FromWorker = { ready: true } | { failed: string } | { answers: Answer[] } | { log: string } | { closed: true };

/**
 * The worker's entry point, as CommonJS text (it runs the same from src/ through tsx and from
 * dist/): from the TypeScript sources it first registers tsx and the `source` export condition,
 * which a worker does not inherit from its parent, then imports this module and calls
 * {@link serveStorage}.
 */
const BOOT = `
const { parentPort, workerData } = require('node:worker_threads');
(async () => {
  if (workerData.tsx) {
    require('node:module').register('data:text/javascript,' + encodeURIComponent(
      'export function resolve(s, c, next) { return next(s, { ...c, conditions: [...new Set([...c.conditions, "source"])] }); }'));
    (await import(workerData.tsx)).register();
  }
  (await import(workerData.module)).serveStorage(parentPort, workerData.path);
})().catch((error) => parentPort.postMessage({ failed: String(error && error.stack || error) }));
`;

/**
 * Opens the SQLite database at `path` (as {@link openSqliteStorage} does, migrations included) in
 * a worker thread, and resolves with a {@link Storage} for it once it is open. Rejects with the
 * worker's error when the database cannot be opened (a newer schema, a bad path).
 */
export function openStorageThread(path: string, options: SqliteOptions = {}): Promise<Storage> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const fromSource = import.meta.url.endsWith('.ts');
  const worker = new Worker(BOOT, {
    eval: true,
    workerData: { path, module: import.meta.url, tsx: fromSource ? import.meta.resolve('tsx/esm/api') : undefined },
  });
  const waiting = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  let queue: Call[] = [];
  let nextId = 0;
  let gone: Error | undefined;
  let exited = false;
  let closing: Promise<void> | undefined;

  const post = () => {
    const calls = queue;
    queue = [];
    if (calls.length) worker.postMessage({ calls } satisfies ToWorker);
  };
  const call = (method: Method, args: unknown[]) =>
    new Promise<unknown>((resolve, reject) => {
      if (gone) return reject(gone);
      // The thread keeps the process alive only while an answer is awaited.
      if (waiting.size === 0) worker.ref();
      waiting.set(++nextId, { resolve, reject });
      if (queue.push([nextId, method, args]) === 1) setImmediate(post);
    });
  const fail = (error: Error) => {
    gone ??= error;
    for (const { reject } of waiting.values()) reject(gone);
    waiting.clear();
  };

  return new Promise<Storage>((resolve, reject) => {
    const storage = Object.fromEntries(METHODS.map((method) => [method, (...args: unknown[]) => call(method, args)])) as unknown as Storage;
    // Writes already asked for are committed first: the worker closes after answering them.
    storage.close = () =>
      (closing ??= new Promise<void>((done) => {
        if (exited) return done(); // it failed earlier and is gone already
        post();
        worker.ref();
        worker.once('exit', () => done());
        worker.postMessage({ close: true } satisfies ToWorker);
      }));
    worker.on('message', (message: FromWorker) => {
      if ('answers' in message) {
        for (const [id, value, error] of message.answers) {
          const waiter = waiting.get(id);
          waiting.delete(id);
          if (error) waiter?.reject(Object.assign(new Error(error.message), { name: error.name }));
          else waiter?.resolve(value);
        }
        if (waiting.size === 0 && !closing) worker.unref();
      } else if ('log' in message) {
        log(message.log);
      } else if ('closed' in message) {
        void worker.terminate();
      } else if ('ready' in message) {
        worker.unref();
        resolve(storage);
      } else if ('failed' in message) {
        const error = new Error(message.failed.split('\n')[0]!.replace(/^\w*Error: /, ''));
        fail(error);
        reject(error);
        void worker.terminate();
      }
    });
    worker.on('error', (error) => {
      log(`perch-server: the storage thread failed: ${error.stack ?? error.message}`);
      fail(new Error(`The storage thread failed: ${error.message}`));
      reject(error);
    });
    worker.on('exit', () => {
      exited = true;
      fail(new Error('The storage is closed.'));
    });
  });
}

/**
 * Runs in the worker: opens the database and answers calls until told to close. Exported for the
 * worker's entry point only.
 */
export function serveStorage(port: MessagePort, path: string): void {
  let storage: Storage;
  try {
    // 1,000 writes per transaction already get most of the batching gain (measured: ~40–50 µs of
    // SQLite per message at 500–2,000 per commit, 65–90 µs at 20).
    storage = openSqliteStorage(path, { log: (line) => port.postMessage({ log: line } satisfies FromWorker), maxBatch: 1000 });
  } catch (error) {
    port.postMessage({ failed: (error as Error).message } satisfies FromWorker);
    return;
  }
  let answers: Answer[] = [];
  const send = () => {
    const batch = answers;
    answers = [];
    port.postMessage({ answers: batch } satisfies FromWorker);
  };
  const answer = (item: Answer) => {
    if (answers.push(item) === 1) setImmediate(send);
  };
  port.on('message', (message: ToWorker) => {
    if ('close' in message) {
      void storage.close().finally(() => {
        if (answers.length) send();
        port.postMessage({ closed: true } satisfies FromWorker);
        port.close();
      });
      return;
    }
    for (const [id, method, args] of message.calls) {
      let result: Promise<unknown>;
      try {
        result = (storage[method] as (...a: unknown[]) => Promise<unknown>)(...args);
      } catch (error) {
        result = Promise.reject(error);
      }
      result.then(
        (value) => answer([id, value]),
        (error: unknown) => {
          const { message: text, name } = error instanceof Error ? error : new Error(String(error));
          answer([id, undefined, { message: text, name }]);
        },
      );
    }
  });
  port.postMessage({ ready: true } satisfies FromWorker);
}
