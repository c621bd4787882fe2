import { PerchError, type Auth, type AuthSource, type Backend, type BackendCapabilities, type BackendConnection, type BackendListener } from '@perch/core';
import { isRecord, type ServerInfo } from '@perch/protocol';
import { findWebSocket, type SocketConstructor, type SocketLike } from './socket.js';
import { WsConnection } from './ws-connection.js';

/** Options for {@link websocketBackend}. */
export interface WebSocketBackendOptions {
  /** The server's WebSocket address, `ws://` or `wss://`. Credentials never go in it: they travel in `hello`. */
  url: string;
  /**
   * The WebSocket class to use. Defaults to the global `WebSocket` (browsers, Node 22+), else the
   * `ws` package, which is then loaded on first connect.
   */
  WebSocket?: SocketConstructor;
  /** Milliseconds a request may wait for its answer before the connection counts as dead. Default 15 000. */
  requestTimeout?: number;
  /** Milliseconds from opening the socket to the server's `welcome`. Defaults to `requestTimeout`. */
  connectTimeout?: number;
  /**
   * Milliseconds without any frame from the server after which the client sends `ping`, to find a
   * dead connection that no request would reveal (browsers cannot see WebSocket pings). Default
   * 25 000; 0 turns the heartbeat off.
   */
  heartbeatInterval?: number;
  /** Milliseconds to wait for any frame after a `ping` before the connection counts as dead. Default 10 000. */
  heartbeatTimeout?: number;
}

/**
 * What the backend assumes before the first `welcome`: everything the reference server offers
 * except customer support. The server's `welcome` then says what it really has.
 */
export const ASSUMED_CAPABILITIES: Readonly<BackendCapabilities> = Object.freeze({
  feed: true,
  presence: true,
  typing: true,
  receipts: true,
  groups: true,
  history: true,
  directory: true,
  edits: true,
  support: false,
});

const CAPABILITY_KEYS = Object.keys(ASSUMED_CAPABILITIES) as Array<keyof BackendCapabilities>;

/** Updates `capabilities` in place (the core holds this very object) from the server's list. */
function applyCapabilities(capabilities: BackendCapabilities, server: ServerInfo): void {
  const offered: Record<string, unknown> = isRecord(server.capabilities) ? server.capabilities : {};
  for (const key of CAPABILITY_KEYS) capabilities[key] = offered[key] === true;
}

/** Checks the address once, when the backend is created, so a typo fails at once and loudly. */
function checkedUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new PerchError('bad_request', `websocketBackend: "${url}" is not a URL; give the server's address, e.g. "wss://chat.example.com/perch".`);
  }
  if (parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:') {
    throw new PerchError('bad_request', `websocketBackend: the URL must start with ws:// or wss://, not ${parsed.protocol}//.`);
  }
  if (parsed.username || parsed.password) {
    throw new PerchError('bad_request', 'websocketBackend: do not put credentials in the URL; pass them as the client\'s auth.');
  }
  return url;
}

/**
 * Creates a backend that speaks the Perch protocol over WebSocket to `url` (e.g. `@perch/server`).
 * Each `connect` opens one socket, says `hello` with the credentials and resolves on `welcome`;
 * reconnecting is the core's job. Works in browsers and in Node (through the `ws` package).
 */
export function websocketBackend(options: WebSocketBackendOptions): Backend {
  const url = checkedUrl(options.url);
  const requestTimeout = options.requestTimeout ?? 15_000;
  const connectTimeout = options.connectTimeout ?? requestTimeout;
  const capabilities: BackendCapabilities = { ...ASSUMED_CAPABILITIES };
  return {
    name: `ws:${url}`,
    capabilities,
    async connect(auth: Auth, listener: BackendListener, source?: AuthSource): Promise<BackendConnection> {
      if (!isRecord(auth)) throw new PerchError('unauthorized', 'No credentials given: pass { token } or { visitor } as auth.');
      const Socket = await findWebSocket(options.WebSocket);
      let socket: SocketLike;
      try {
        socket = new Socket(url);
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        throw new PerchError('unavailable', `Could not open a WebSocket to ${url}: ${reason}`);
      }
      return WsConnection.open(socket, auth, listener, {
        ...options, // heartbeatInterval and heartbeatTimeout, whose defaults WsConnection applies
        requestTimeout,
        connectTimeout,
        welcomed: (server) => applyCapabilities(capabilities, server),
        source,
      });
    },
  };
}
