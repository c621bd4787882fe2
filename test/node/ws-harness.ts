/**
 * Shared setup for the WebSocket integration tests: the real `perch-server` as a child process,
 * a fault-injecting WebSocket proxy between the clients and it, tokens, and clients that run the
 * core through `websocketBackend`.
 *
 *   client ──ws──▶ FaultProxy (latency, drops, lost acks, duplicated/reordered events, offline)
 *                      └──ws──▶ perch-server child process (SQLite :memory: or a temp file)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { seededRandom } from '@perch/backend-memory';
import { websocketBackend } from '@perch/backend-ws';
import { createClient, type BackendConnection, type BackendListener, type ClientOptions, type Message, type PerchClient } from '@perch/core';
import { mintToken } from '@perch/server';

import { until } from './harness.js';

export { assertNoDuplicates, confirmed, freshIndexedDb, texts, until } from './harness.js';

/** The HS256 secret the test servers share with the token minting below. */
export const SECRET = 'ws-integration-secret';
const BIN = fileURLToPath(new URL('../../packages/server/bin/perch-server.mjs', import.meta.url));
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** A `perch-server` child process. */
export interface ServerProcess {
  /** `ws://127.0.0.1:PORT`. */
  readonly url: string;
  /** Kills the process (SIGTERM: graceful; SIGKILL: a crash) and waits for it to exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * Starts the real server on 127.0.0.1 with a random port, on `db` (`:memory:` or a file), with
 * rate limits high enough that the tests measure delivery, not throttling.
 */
export async function startServer(db = ':memory:'): Promise<ServerProcess> {
  const args = [BIN, '--port', '0', '--host', '127.0.0.1', '--db', db, '--secret', SECRET, '--heartbeat-ms', '5000'];
  args.push('--rate-per-connection', '100000', '--rate-per-identity', '100000', '--flood-limit', '100000');
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => (running.delete(child), resolve())));
  let output = '';
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`perch-server did not start within 20 s:\n${output}`)), 20_000);
    const read = (chunk: Buffer) => {
      output += String(chunk);
      const match = /http:\/\/127\.0\.0\.1:(\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    };
    child.stdout!.on('data', read);
    child.stderr!.on('data', read);
    void exited.then(() => reject(new Error(`perch-server exited before listening:\n${output}`)));
  });
  // Keep draining its output so a chatty server never blocks on a full pipe.
  child.stdout!.resume();
  child.stderr!.resume();
  return {
    url: `ws://127.0.0.1:${port}`,
    kill: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}

/** A temporary directory with a database file path in it, and the function that removes it. */
export function tempDatabase(): { file: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'perch-ws-'));
  return { file: join(dir, 'perch.db'), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

const tokens = new Map<string, Promise<string>>();
/** A signed token for `user` (its display name is the capitalised id). */
export function tokenFor(user: string): Promise<string> {
  let token = tokens.get(user);
  if (!token) tokens.set(user, (token = mintToken({ secret: SECRET, sub: user, name: user[0]!.toUpperCase() + user.slice(1), ttlSeconds: 3600 })));
  return token;
}

/** A client for `user` that reaches the server at `url` through the WebSocket backend; reconnects fast. */
export async function wsClient(url: string, user: string, options: Partial<ClientOptions> = {}): Promise<PerchClient> {
  return createClient({
    backend: websocketBackend({ url, requestTimeout: 5_000 }),
    auth: { token: await tokenFor(user) },
    user,
    tabs: 'single',
    reconnect: { baseDelay: 5, maxDelay: 50 },
    ...options,
  });
}

const ignore = (): void => {};
const silent: BackendListener = {
  message: ignore,
  conversation: ignore,
  post: ignore,
  presence: ignore,
  typing: ignore,
  receipt: ignore,
  contact: ignore,
  closed: ignore,
};

/** A bare backend connection for `user`, straight to the server (to seed data or read the truth). */
export async function rawConnection(url: string, user: string): Promise<BackendConnection> {
  return websocketBackend({ url, requestTimeout: 10_000 }).connect({ token: await tokenFor(user) }, silent);
}

/** Every message the server holds for a conversation, in seq order, as `user` sees it. */
export async function serverMessages(url: string, user: string, conversationId: string): Promise<Message[]> {
  const connection = await rawConnection(url, user);
  try {
    const all: Message[] = [];
    for (;;) {
      const page = await connection.history({ conversationId, after: all.at(-1)?.seq ?? 0, limit: 200 });
      all.push(...page.messages);
      if (page.complete || page.messages.length === 0) return all;
    }
  } finally {
    connection.close();
  }
}

/** Sends `texts` as `user` straight to the server (not through a client), one after another. */
export async function sendAs(url: string, user: string, conversationId: string, texts: string[]): Promise<Message[]> {
  const connection = await rawConnection(url, user);
  try {
    const sent: Message[] = [];
    for (const text of texts) sent.push(await connection.sendMessage({ conversationId, clientId: crypto.randomUUID(), text, createdAt: Date.now() }));
    return sent;
  } finally {
    connection.close();
  }
}

/** Faults the proxy injects; all off by default. */
export interface ProxyFaults {
  /** Delay of every frame in each direction, ms (order within a direction is kept). */
  latency: number | [number, number];
  /** Chance that a server event frame is delivered twice. */
  duplicate: number;
  /** Chance that a server event frame is held back and delivered after the next one. */
  reorder: number;
}

type Frame = Record<string, unknown>;

/** A client's WebSocket and the proxy's own WebSocket to the server for it. */
class Link {
  user: string | undefined;
  readonly doomed = new Set<string>();
  readonly #toServer: Array<() => void> = [];
  /** The clientIds of every message this client sent. */
  readonly #sent = new Set<string>();
  #held: string | undefined;
  #heldTimer: ReturnType<typeof setTimeout> | undefined;
  #lane = { server: Promise.resolve(), client: Promise.resolve() };

  constructor(
    readonly proxy: FaultProxy,
    readonly client: WebSocket,
    readonly upstream: WebSocket,
  ) {
    client.on('error', ignore);
    upstream.on('error', ignore);
    upstream.on('open', () => {
      for (const send of this.#toServer.splice(0)) send();
    });
    client.on('message', (data, binary) => this.fromClient(data, binary));
    upstream.on('message', (data, binary) => this.fromServer(data, binary));
    client.on('close', () => {
      if (upstream.readyState === WebSocket.CONNECTING) upstream.terminate();
      else upstream.close();
      proxy.links.delete(this);
    });
    upstream.on('close', (code, reason) => this.after('client', () => this.endClient(code, String(reason))));
  }

  /** Cuts the client's connection abruptly (the client sees code 1006). */
  drop(): void {
    this.client.terminate();
    this.upstream.terminate();
  }

  private endClient(code: number, reason: string): void {
    const sendable = (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
    if (sendable) this.client.close(code, reason);
    else this.client.terminate();
  }

  /** Runs `action` on the direction's lane after the configured latency, keeping order. */
  private after(direction: 'server' | 'client', action: () => void): void {
    const wait = this.proxy.sampleLatency();
    const previous = this.#lane[direction];
    const ready = new Promise<void>((resolve) => setTimeout(resolve, wait));
    this.#lane[direction] = Promise.all([previous, ready]).then(() => {
      try {
        action();
      } catch {
        // the socket is gone; so is the frame
      }
    });
  }

  private fromClient(data: RawData, binary: boolean): void {
    let text = String(data);
    const frame = parse(text);
    if (frame?.type === 'req' && typeof frame.id === 'string') {
      if (frame.cmd === 'sendMessage') {
        this.#sent.add(String((frame.args as Frame).clientId));
        if (this.proxy.takeAckLoss()) this.doomed.add(frame.id);
      }
      const rewritten = this.proxy.rewrite?.(frame);
      if (rewritten) text = JSON.stringify(rewritten);
    }
    this.after('server', () => {
      const send = () => this.upstream.readyState === WebSocket.OPEN && this.upstream.send(binary ? data : text);
      if (this.upstream.readyState === WebSocket.CONNECTING) this.#toServer.push(send);
      else send();
    });
  }

  private fromServer(data: RawData, binary: boolean): void {
    const text = String(data);
    const frame = parse(text);
    const forward = (t: string) => this.after('client', () => this.client.readyState === WebSocket.OPEN && this.client.send(binary ? data : t));
    if (frame?.type === 'welcome') this.user = ((frame.session as Frame).user as Frame).id as string;
    const id = frame?.type === 'res' || frame?.type === 'error' ? frame.id : undefined;
    if (typeof id === 'string' && this.doomed.delete(id)) {
      // The server persisted the message; its acknowledgement is lost with the connection.
      this.proxy.acksLost++;
      this.drop();
      return;
    }
    if (frame?.type !== 'event') return forward(text);
    const copies = this.proxy.chance(this.proxy.faults.duplicate) ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      if (this.#held === undefined && this.proxy.chance(this.proxy.faults.reorder)) {
        this.#held = text;
        this.#heldTimer = setTimeout(() => this.releaseHeld(forward), 20);
        continue;
      }
      forward(text);
      this.releaseHeld(forward);
    }
    if (frame.event === 'message' && this.#sent.has(String((frame.data as Frame).clientId))) this.proxy.ownEchoes++;
  }

  private releaseHeld(toClient: (text: string) => void): void {
    clearTimeout(this.#heldTimer);
    const held = this.#held;
    this.#held = undefined;
    if (held !== undefined) toClient(held);
  }
}

function parse(text: string): Frame | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Frame) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A WebSocket proxy on 127.0.0.1 that forwards frames both ways between clients and the server,
 * and injects faults: latency, dropped connections, lost acknowledgements, duplicated and
 * reordered events, and refusing connections while "offline".
 */
export class FaultProxy {
  readonly faults: ProxyFaults = { latency: 0, duplicate: 0, reorder: 0 };
  readonly links = new Set<Link>();
  /** How many acknowledgements were lost so far. */
  acksLost = 0;
  /** How many `message` events carried a client's own message back to the connection that sent it. */
  ownEchoes = 0;
  /** Rewrites a client's request before it reaches the server (return undefined to keep it). */
  rewrite: ((frame: Frame) => Frame | undefined) | undefined;
  /** Chance that each `sendMessage` acknowledgement is lost with its connection. */
  ackLossRate = 0;
  #upstream: string;
  #offline = false;
  #loseAcks = 0;
  readonly #random: () => number;
  readonly #wss: WebSocketServer;

  private constructor(wss: WebSocketServer, upstream: string, seed: number) {
    this.#wss = wss;
    this.#upstream = upstream;
    this.#random = seededRandom(seed);
    wss.on('connection', (client) => this.links.add(new Link(this, client, new WebSocket(this.#upstream))));
  }

  /** Starts a proxy in front of the server at `upstream`. */
  static async start(upstream: string, seed = 1): Promise<FaultProxy> {
    const state = { offline: () => false };
    const wss = new WebSocketServer({
      host: '127.0.0.1',
      port: 0,
      // While offline, the proxy answers the upgrade with 503: the client cannot connect at all.
      verifyClient: (_info, done) => done(!state.offline(), 503, 'Offline (test proxy)'),
    });
    await new Promise<void>((resolve) => wss.once('listening', resolve));
    const proxy = new FaultProxy(wss, upstream, seed);
    state.offline = () => proxy.#offline;
    return proxy;
  }

  /** The address clients connect to. */
  get url(): string {
    return `ws://127.0.0.1:${(this.#wss.address() as AddressInfo).port}`;
  }

  /** Points new connections at another server (e.g. after a restart on a new port). */
  setUpstream(url: string): void {
    this.#upstream = url;
  }

  /** Going offline cuts every connection and refuses new ones until back online. */
  setOffline(offline: boolean): void {
    this.#offline = offline;
    if (offline) this.dropConnections();
  }

  /** Cuts the connections of the users `which` picks (all by default). */
  dropConnections(which: (user: string | undefined) => boolean = () => true): void {
    for (const link of [...this.links]) if (which(link.user)) link.drop();
  }

  /** Loses the acknowledgement of the next `n` messages sent, each with its connection. */
  loseNextAcks(n = 1): void {
    this.#loseAcks += n;
  }

  /** Decides whether the next `sendMessage` loses its ack. */
  takeAckLoss(): boolean {
    if (this.#loseAcks > 0) {
      this.#loseAcks--;
      return true;
    }
    return this.chance(this.ackLossRate);
  }

  /** True with probability `p` (seeded). */
  chance(p: number): boolean {
    return p > 0 && this.#random() < p;
  }

  /** A latency sample in ms. */
  sampleLatency(): number {
    const l = this.faults.latency;
    return typeof l === 'number' ? l : l[0] + Math.floor(this.#random() * (l[1] - l[0] + 1));
  }

  /** Cuts everything and stops listening. */
  async close(): Promise<void> {
    this.dropConnections();
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
  }
}

/** A server with a proxy in front of it. */
export interface Stack {
  server: ServerProcess;
  proxy: FaultProxy;
  /** The proxy's address (what clients use). */
  url: string;
  /**
   * Kills the server with `signal` (SIGKILL: a crash), waits `downtime` ms, and starts a new one
   * on the same database, which the proxy then forwards to. Needs a database file.
   */
  restart(signal?: NodeJS.Signals, downtime?: number): Promise<void>;
  /** Stops the proxy and the server. */
  stop(): Promise<void>;
}

/** Starts a server (on `db`) and a proxy in front of it. */
export async function startStack(db = ':memory:', seed = 1): Promise<Stack> {
  const server = await startServer(db);
  const proxy = await FaultProxy.start(server.url, seed);
  const stack: Stack = {
    server,
    proxy,
    url: proxy.url,
    restart: async (signal = 'SIGKILL', downtime = 100) => {
      if (db === ':memory:') throw new Error('restart() needs a database file: an in-memory one dies with the server.');
      await stack.server.kill(signal);
      await new Promise((resolve) => setTimeout(resolve, downtime));
      stack.server = await startServer(db);
      proxy.setUpstream(stack.server.url);
    },
    stop: async () => {
      await proxy.close();
      await stack.server.kill();
    },
  };
  return stack;
}

/**
 * Connects alice and bob through the proxy of `stack`, opens their direct conversation and waits
 * until bob lists it.
 */
export async function alicePlusBob(stack: Stack) {
  const alice = await wsClient(stack.url, 'alice');
  const bob = await wsClient(stack.url, 'bob');
  await Promise.all([alice.connect(), bob.connect()]);
  const conversation = await alice.openDirect('bob');
  await until(() => bob.conversations.get().some((c) => c.id === conversation.id), 'bob sees the conversation');
  return { alice, bob, id: conversation.id };
}
