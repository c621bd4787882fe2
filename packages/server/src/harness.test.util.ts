/**
 * Test helpers: a server in this process or as a real child process, and a raw `ws` client that
 * speaks Perch frames.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import type { CommandName, Commands, HelloAuth } from '@perch/protocol';
import { mintToken, type ProfileClaims } from './auth.js';
import type { ServerOptions } from './options.js';
import { startServer, type RunningServer } from './server.js';

/** The secret every test server uses. */
export const SECRET = 'test-secret';
/** The `perch-server` command. */
export const BIN = fileURLToPath(new URL('../bin/perch-server.mjs', import.meta.url));

/** A parsed frame from the server. */
export type Frame = Record<string, unknown> & { type: string };

/** Starts an in-process server on a random port with an in-memory database. */
export function inProcess(options: ServerOptions = {}): Promise<RunningServer> {
  return startServer({ port: 0, db: ':memory:', secret: SECRET, log: () => undefined, ...options });
}

/** A signed token for a test user. */
export function token(sub: string, name = sub[0]?.toUpperCase() + sub.slice(1), claims: ProfileClaims = {}): Promise<string> {
  return mintToken({ secret: SECRET, sub, name, ...claims });
}

/** A server running as a child process of the test. */
export interface ChildServer {
  url: string;
  wsUrl: string;
  child: ChildProcess;
  /** Resolves with the exit code and signal once the process ended. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Everything the process wrote so far (stdout and stderr). */
  output(): string;
  /** Sends `signal` (SIGKILL by default) and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const children = new Set<ChildProcess>();
// A test run that dies (or is interrupted) must not leave servers behind.
process.once('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

/** Spawns `perch-server` with `args` and resolves once its first line gave the URL. */
export function spawnServer(args: string[], cwd = process.cwd()): Promise<ChildServer> {
  const child = spawn(process.execPath, [BIN, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  let output = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`perch-server did not start in 10 s:\n${output}`)), 10_000);
    child.stdout.on('data', (chunk: Buffer) => {
      const before = output;
      output += chunk.toString();
      const firstLine = output.split('\n')[0] ?? '';
      const match = /http:\/\/[^ ]+/.exec(firstLine);
      if (match && !/http:\/\/[^ ]+/.test(before.split('\n')[0] ?? '')) {
        clearTimeout(timer);
        resolve({
          url: match[0],
          wsUrl: match[0].replace('http', 'ws'),
          child,
          exited,
          output: () => output,
          stop: async (signal = 'SIGKILL') => {
            if (child.exitCode === null && child.signalCode === null) child.kill(signal);
            return exited;
          },
        });
      }
    });
    void exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`perch-server exited with ${code} before listening:\n${output}`));
    });
  });
}

/** A refusal from the server, as a rejected request. */
export class RequestFailed extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly retryAfter?: number,
  ) {
    super(`${code}: ${message}`);
  }
}

/** A raw WebSocket client speaking Perch frames. */
export class TestClient {
  readonly ws: WebSocket;
  /** Frames not yet consumed: events and errors without an id, in arrival order. */
  readonly inbox: Frame[] = [];
  /** Resolves with the close code and reason. */
  readonly closed: Promise<{ code: number; reason: string }>;
  private readonly pending = new Map<string, (frame: Frame) => void>();
  private readonly waiters = new Set<() => void>();
  private nextId = 0;

  private constructor(ws: WebSocket) {
    this.ws = ws;
    this.closed = new Promise((resolve) =>
      ws.once('close', (code, reason) => {
        // Requests the server never answered end with a pseudo-frame instead of hanging the test.
        for (const answer of this.pending.values()) answer({ type: 'closed', code });
        this.pending.clear();
        resolve({ code, reason: reason.toString() });
      }),
    );
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as Frame;
      const id = frame.id;
      if (typeof id === 'string' && this.pending.has(id)) {
        const answer = this.pending.get(id) as (frame: Frame) => void;
        this.pending.delete(id);
        answer(frame);
        return;
      }
      this.inbox.push(frame);
      for (const wake of [...this.waiters]) wake();
    });
    ws.on('error', () => undefined);
  }

  /** Opens a socket (optionally sending an Origin header); rejects when the handshake is refused. */
  static open(url: string, headers: Record<string, string> = {}): Promise<TestClient> {
    const ws = new WebSocket(url.replace(/^http/, 'ws'), { headers });
    const client = new TestClient(ws);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(client));
      ws.once('unexpected-response', (_request, response) => reject(new Error(`handshake refused with HTTP ${response.statusCode}`)));
      ws.once('error', reject);
    });
  }

  /** Opens a socket and signs in; resolves once `welcome` arrived. */
  static async signIn(url: string, auth: HelloAuth | string): Promise<TestClient & { welcome: Frame }> {
    const client = await TestClient.open(url);
    const welcome = await client.hello(typeof auth === 'string' ? { token: auth } : auth);
    if (welcome.type !== 'welcome') throw new Error(`sign-in refused: ${JSON.stringify(welcome)}`);
    return Object.assign(client, { welcome });
  }

  /** Sends hello and resolves with the answer (welcome or error). */
  async hello(auth: HelloAuth): Promise<Frame> {
    this.send({ type: 'hello', v: 1, auth });
    return this.next((frame) => frame.type === 'welcome' || frame.type === 'error');
  }

  send(frame: unknown): void {
    this.ws.send(JSON.stringify(frame));
  }

  /** Sends a request and resolves with the `res` or `error` frame (or `{ type: 'closed' }` when the socket closed first). */
  call(cmd: string, args: unknown = {}): Promise<Frame> {
    const id = `r${++this.nextId}`;
    if (this.ws.readyState !== WebSocket.OPEN) return Promise.resolve({ type: 'closed' });
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.send({ type: 'req', id, cmd, args });
    });
  }

  /** Sends a command and resolves with its result, or rejects with {@link RequestFailed}. */
  async request<N extends CommandName>(cmd: N, args: Commands[N]['args']): Promise<Commands[N]['result']> {
    const frame = await this.call(cmd, args);
    if (frame.type === 'res') return frame.result as Commands[N]['result'];
    throw new RequestFailed(String(frame.code), String(frame.message), frame.retryAfter as number | undefined);
  }

  /** Takes the first inbox frame matching `match`, waiting up to `timeout` ms for one. */
  next(match: (frame: Frame) => boolean, timeout = 3000): Promise<Frame> {
    return new Promise((resolve, reject) => {
      const look = () => {
        const index = this.inbox.findIndex(match);
        if (index === -1) return false;
        const [frame] = this.inbox.splice(index, 1);
        this.waiters.delete(look);
        clearTimeout(timer);
        resolve(frame as Frame);
        return true;
      };
      const timer = setTimeout(() => {
        this.waiters.delete(look);
        reject(new Error(`no matching frame within ${timeout} ms; inbox: ${JSON.stringify(this.inbox).slice(0, 500)}`));
      }, timeout);
      if (!look()) this.waiters.add(look);
    });
  }

  /** The next event named `name` whose data passes `match`. */
  async event<T = Record<string, unknown>>(name: string, match: (data: T) => boolean = () => true, timeout?: number): Promise<T> {
    const frame = await this.next((f) => f.type === 'event' && f.event === name && match(f.data as T), timeout);
    return frame.data as T;
  }

  /** Waits `ms` and returns the events named `name` that arrived (and stay in the inbox). */
  async eventsAfter(name: string, ms: number): Promise<Array<Record<string, unknown>>> {
    await new Promise((resolve) => setTimeout(resolve, ms));
    return this.inbox.filter((f) => f.type === 'event' && f.event === name).map((f) => f.data as Record<string, unknown>);
  }

  close(): void {
    this.ws.terminate();
  }
}

/** Resolves after `ms`. */
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
