/**
 * A scripted stand-in for a Perch server, for the backend's unit tests: a `ws` server on
 * 127.0.0.1 with a random port whose connections the test drives frame by frame.
 */
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import type { BackendListener, CloseReason } from '@perch/core';

/** One client connection as the fake server sees it. */
export class FakePeer {
  readonly socket: WebSocket;
  /** The path and query the client asked for in its upgrade request. */
  readonly path: string;
  /** Every frame received, parsed. */
  readonly received: Array<Record<string, unknown>> = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  #waiters: Array<() => void> = [];

  constructor(socket: WebSocket, path: string) {
    this.socket = socket;
    this.path = path;
    socket.on('message', (data) => {
      this.received.push(JSON.parse(String(data)) as Record<string, unknown>);
      for (const wake of this.#waiters.splice(0)) wake();
    });
    this.closed = new Promise((resolve) => socket.on('close', (code, reason) => resolve({ code, reason: String(reason) })));
  }

  /** Waits for the `n`th frame (0-based) and returns it. */
  async frame(n: number): Promise<Record<string, unknown>> {
    while (this.received.length <= n) await new Promise<void>((resolve) => this.#waiters.push(resolve));
    return this.received[n]!;
  }

  /** Sends a frame (objects are JSON-encoded, strings go as they are). */
  send(frame: object | string): void {
    this.socket.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** Answers `hello` with `welcome` for alice; `session` adds to the welcome's session (e.g. `expiresIn`). */
  async welcome(capabilities: Record<string, boolean> = {}, limits = { maxFrameBytes: 65_536, maxTextLength: 10_000 }, session: object = {}): Promise<void> {
    await this.frame(0);
    this.send({
      type: 'welcome',
      v: 1,
      session: { user: { id: 'alice', name: 'Alice' }, ...session },
      server: { name: 'fake', version: '0', capabilities, limits },
    });
  }

  /** Waits for request frame `n` (counting hello as 0) and answers it with `result`. */
  async answer(n: number, result: unknown): Promise<Record<string, unknown>> {
    const req = await this.frame(n);
    this.send({ type: 'res', id: req.id, result });
    return req;
  }
}

/** A fake server: `peers()` yields connections as they arrive. */
export interface FakeServer {
  url: string;
  /** Resolves with the next connection (in arrival order). */
  next(): Promise<FakePeer>;
  close(): Promise<void>;
}

/** Starts a fake server on 127.0.0.1 with a random port. */
export async function fakeServer(): Promise<FakeServer> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => wss.once('listening', resolve));
  const arrived: FakePeer[] = [];
  const waiting: Array<(peer: FakePeer) => void> = [];
  wss.on('connection', (socket, request) => {
    const peer = new FakePeer(socket, request.url ?? '');
    const take = waiting.shift();
    if (take) take(peer);
    else arrived.push(peer);
  });
  const { port } = wss.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}/perch`,
    next: () => {
      const peer = arrived.shift();
      return peer ? Promise.resolve(peer) : new Promise((resolve) => waiting.push(resolve));
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close(() => resolve());
      }),
  };
}

/** A listener that records every call. */
export function recordingListener(): BackendListener & { calls: Array<[string, ...unknown[]]>; closes: CloseReason[] } {
  const calls: Array<[string, ...unknown[]]> = [];
  const closes: CloseReason[] = [];
  const record =
    (name: string) =>
    (...args: unknown[]) => {
      calls.push([name, ...args]);
    };
  return {
    calls,
    closes,
    message: record('message'),
    conversation: record('conversation'),
    post: record('post'),
    presence: record('presence'),
    typing: record('typing'),
    receipt: record('receipt'),
    contact: record('contact'),
    closed: (reason) => {
      closes.push(reason);
      calls.push(['closed', reason]);
    },
  };
}

/** Resolves after `ms`. */
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
