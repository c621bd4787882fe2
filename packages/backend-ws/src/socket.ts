import { PerchError } from '@perch/core';

/**
 * Checks a handler type bivariantly, like a method parameter, so that both the DOM's
 * `WebSocket` and the `ws` package's class (whose handlers take richer event objects) fit.
 */
type Handler<E> = { bivarianceHack(event: E): void }['bivarianceHack'];

/** The part of a WebSocket this backend uses; the DOM's `WebSocket` and `ws`'s class both fit. */
export interface SocketLike {
  /** 0 connecting, 1 open, 2 closing, 3 closed. */
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: Handler<unknown> | null;
  onmessage: Handler<{ data: unknown }> | null;
  onclose: Handler<{ code: number; reason: string }> | null;
  onerror: Handler<unknown> | null;
}

/** A WebSocket class: the browser's global `WebSocket`, `ws`'s `WebSocket`, or a test double. */
export type SocketConstructor = new (url: string) => SocketLike;

/** `readyState` of an open socket (the same in every implementation). */
export const OPEN = 1;

/**
 * Finds a WebSocket class: the injected one, else the global one (browsers, Deno, Node 22+),
 * else the `ws` package, loaded only when needed so bundlers for the browser can leave it out.
 */
export async function findWebSocket(injected?: SocketConstructor): Promise<SocketConstructor> {
  if (injected) return injected;
  const global = (globalThis as { WebSocket?: SocketConstructor }).WebSocket;
  if (global) return global;
  try {
    const ws = await import('ws');
    const found = (ws as { WebSocket?: SocketConstructor }).WebSocket ?? (ws.default as SocketConstructor | undefined);
    if (found) return found;
  } catch {
    // fall through to the error below
  }
  throw new PerchError(
    'internal',
    'No WebSocket implementation is available: install the "ws" package (npm install ws) or pass the WebSocket option to websocketBackend().',
  );
}
