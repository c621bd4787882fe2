/**
 * The composition root of the server: one `node:http` server carrying WebSocket upgrades (any
 * path) and a few HTTP routes, the storage, the fan-out, the services, and the timers. Order
 * matters in `startServer`: storage first (it may refuse a newer schema), then the demo seed, then
 * listening, and only then the origin allowlist (it needs the real port).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { WebSocketServer, type ServerOptions as WsOptions } from 'ws';
import type { Id, ServerInfo } from '@perch/protocol';
import { CLOSE, MAX_FRAME_BYTES, MAX_TEXT_LENGTH } from '@perch/protocol';
import { Authenticator } from './auth.js';
import { commandTable } from './commands.js';
import { handleDemoRoute, seedDemo } from './demo.js';
import { LocalFanout } from './fanout.js';
import { resolveOptions, type ServerOptions } from './options.js';
import { PresenceTracker } from './presence.js';
import { addressKey, KeyedBuckets, KeyedLimit } from './rate-limit.js';
import { ChatService } from './services/chat.js';
import { FeedService } from './services/feed.js';
import { SocialService } from './services/social.js';
import { Session, type SessionHost } from './session.js';
import { sendText, serveScriptBundle, serveStatic } from './static.js';
import type { VisitorCursor } from './storage/storage.js';
import { openStorageThread } from './storage/storage-thread.js';

/** The version of this package, as `welcome` reports it. */
export const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** A running server. */
export interface RunningServer {
  /** `http://host:port` (use `ws://host:port/` for WebSocket clients). */
  url: string;
  port: number;
  /** The generated secret, when demo mode started without one (print it for tinkering). */
  devSecret?: string;
  /** How many WebSocket connections are open. */
  readonly connections: number;
  /** Revokes a visitor's tokens and closes their connections with 4001; resolves to the tokens revoked. */
  revokeVisitor(userId: Id): Promise<number>;
  /**
   * Runs the purge of abandoned visitors now (after the one running, if any), as the server does
   * at start and every hour; resolves to how many visitors it removed.
   */
  purgeVisitors(): Promise<number>;
  /**
   * Graceful shutdown: stops accepting, finishes in-flight requests, closes every socket with
   * 1001, waits for the last presence updates and closes the storage.
   */
  close(): Promise<void>;
}

const examplesDir = () => fileURLToPath(new URL('../../../examples', import.meta.url));
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);
/** Visitors the purge looks at per storage call: a few milliseconds of the storage thread at most. */
export const VISITOR_PURGE_BATCH = 500;
const HOUR_MS = 3_600_000;
const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

/** The origins a browser page served by this server (or the dev machine) would send. */
function ownOrigins(host: string, port: number): string[] {
  const hostPart = host.includes(':') ? `[${host}]` : host;
  const origins = [`http://${hostPart}:${port}`];
  if (LOOPBACK.has(host) || host === '0.0.0.0' || host === '::') {
    origins.push(`http://localhost:${port}`, `http://127.0.0.1:${port}`, `http://[::1]:${port}`);
  }
  return origins;
}

function refuseUpgrade(socket: Duplex, status: number, reason: string, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`);
  socket.destroy();
}

/** Starts a Perch server and resolves once it listens. */
export async function startServer(input: ServerOptions = {}): Promise<RunningServer> {
  const options = resolveOptions(input);
  const devSecret = options.demo && options.secret === undefined ? randomBytes(24).toString('base64url') : undefined;
  const secret = options.secret ?? devSecret;
  const ownsStorage = input.storage === undefined;
  // Other engines plug in here: pass `storage` (e.g. PostgreSQL) and `fanout` (e.g. Redis).
  const storage = input.storage ?? (await openStorageThread(options.db, { log: options.log }));
  const fanout = input.fanout ?? new LocalFanout();
  const deps = { storage, fanout, presence: new PresenceTracker(), now: options.now };
  const social = new SocialService(deps);
  const services = { chat: new ChatService(deps), social, feed: new FeedService(deps) };
  if (options.demo) await seedDemo(storage);
  const staticDir = options.staticDir ?? (options.demo && existsSync(examplesDir()) ? examplesDir() : undefined);

  const sessions = new Set<Session>();
  // Open connections per user (see SessionHost.admit).
  const perUser = new KeyedLimit<Session>(options.maxConnectionsPerUser);
  // Connections per address (see addressKey) that carry no signed-in user of the site: HTTP
  // requests, WebSockets before their hello, visitors. Bounded by maxAnonymousPerAddress, so that
  // one address cannot take every file descriptor and megabytes of memory with idle sockets.
  const anonymous = new KeyedLimit<Duplex>(options.maxAnonymousPerAddress);
  const background = new Set<Promise<unknown>>();
  let shuttingDown = false;
  let allClosed: (() => void) | undefined;
  const serverInfo: ServerInfo = {
    name: 'perch-server',
    version: VERSION,
    capabilities: { feed: true, presence: true, typing: true, receipts: true, groups: true, history: true, directory: true, edits: true, support: false },
    limits: { maxFrameBytes: MAX_FRAME_BYTES, maxTextLength: MAX_TEXT_LENGTH },
  };
  const authenticator = new Authenticator(
    { secret, audience: options.audience, issuer: options.issuer, clockToleranceSeconds: options.clockToleranceSeconds, visitorRate: options.visitorRate, log: options.log },
    storage,
    deps.now,
  );
  const host: SessionHost = {
    options,
    authenticator,
    commands: commandTable(services),
    social,
    fanout,
    identityBuckets: new KeyedBuckets(options.identityRate),
    serverInfo,
    isShuttingDown: () => shuttingDown,
    signedIn: (socket) => anonymous.release(socket),
    track(work) {
      background.add(work);
      void work.finally(() => background.delete(work));
    },
    admit: (session, userId) => perUser.take(session, userId),
    forget(session) {
      sessions.delete(session);
      perUser.release(session);
      if (sessions.size === 0) allClosed?.();
    },
  };

  const wsOptions: WsOptions & { closeTimeout: number } = {
    noServer: true,
    maxPayload: MAX_FRAME_BYTES,
    // ws ≥ 8.21: bound the pieces a message may arrive in and the chunks buffered while parsing.
    maxFragments: 1024,
    maxBufferedChunks: 4096,
    perMessageDeflate: false,
    clientTracking: false,
    closeTimeout: 5000,
  };
  const wss = new WebSocketServer(wsOptions);
  let allowed = new Set<string>();

  async function handleHttp(request: IncomingMessage, response: ServerResponse): Promise<void> {
    let url: URL;
    try {
      url = new URL(request.url ?? '/', 'http://perch.invalid');
    } catch {
      // e.g. `GET //`: a request line no URL parser takes is the client's mistake, not the server's.
      return sendText(request, response, 400, 'Bad request: the path is not a valid URL path.\n');
    }
    if (url.pathname === '/healthz') {
      response.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
      return void response.end(JSON.stringify({ ok: !shuttingDown, connections: sessions.size }));
    }
    if (options.demo && secret !== undefined && request.method === 'GET') {
      const context = { storage, secret, audience: options.audience, issuer: options.issuer };
      if (await handleDemoRoute(context, response, url)) return;
    }
    if (await serveScriptBundle(request, response, url)) return;
    if (staticDir !== undefined) return serveStatic(staticDir, request, response, url);
    if (url.pathname === '/') return sendText(request, response, 200, `perch-server ${VERSION}: connect a WebSocket client to this address.\n`);
    sendText(request, response, 404, 'Not found\n');
  }

  const http = createServer((request, response) => {
    handleHttp(request, response).catch((error: unknown) => {
      options.log(`perch-server: HTTP ${request.url} failed: ${String(error)}`);
      if (!response.headersSent) response.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      response.end('Internal error\n');
    });
  });
  http.on('connection', (socket: Socket) => {
    if (!anonymous.take(socket, addressKey(socket.remoteAddress ?? 'unknown'))) return void socket.destroy();
    socket.once('close', () => anonymous.release(socket));
  });
  http.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    if (shuttingDown) return refuseUpgrade(socket, 503, 'Service Unavailable', 'The server is shutting down.\n');
    const origin = request.headers.origin;
    // No Origin header: not a browser (a server, a CLI); it may connect but must still authenticate.
    if (origin !== undefined && !allowed.has(origin)) {
      return refuseUpgrade(socket, 403, 'Forbidden', `Origin ${origin} is not allowed; start the server with --origin ${origin} to allow it.\n`);
    }
    wss.handleUpgrade(request, socket, head, (ws) => {
      sessions.add(new Session(ws, socket, request.socket.remoteAddress ?? 'unknown', host));
    });
  });

  try {
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(options.port, options.host, () => {
        http.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    if (ownsStorage) await storage.close();
    throw error;
  }
  const port = (http.address() as AddressInfo).port;
  allowed = new Set([...ownOrigins(options.host, port), ...options.origins]);
  const heartbeat = setInterval(() => {
    for (const session of sessions) session.heartbeat();
  }, options.heartbeatMs);
  const sweeper = setInterval(() => {
    authenticator.sweep();
    host.identityBuckets.sweep();
  }, 10_000);
  heartbeat.unref();
  sweeper.unref();

  // Abandoned visitors expire: an anonymous hello creates one, so without an end they would fill
  // the disk. One run goes through the visitors unused for longer than the retention in bounded
  // batches (other storage calls run between them), and stops between two batches at shutdown.
  const retentionMs = options.visitorRetentionHours * HOUR_MS;
  let purging: Promise<number> = Promise.resolve(0);
  let purgeRunning = false;
  const purgeOnce = async (): Promise<number> => {
    purgeRunning = true;
    let deleted = 0;
    try {
      let after: VisitorCursor | undefined;
      do {
        if (shuttingDown) break;
        // Asked again for every batch: a visitor who connected during the run is spared too.
        const keep = new Set<Id>();
        for (const session of sessions) if (session.visitorId !== undefined) keep.add(session.visitorId);
        const now = deps.now();
        const batch = await storage.purgeVisitors({ usedBefore: now - retentionMs, keep: [...keep], now, limit: VISITOR_PURGE_BATCH, after });
        deleted += batch.deleted;
        after = batch.next;
      } while (after !== undefined);
    } catch (error) {
      if (!shuttingDown) options.log(`perch-server: the purge of abandoned visitors failed (it runs again within an hour): ${String(error)}`);
    } finally {
      purgeRunning = false;
    }
    if (deleted > 0) {
      options.log(`perch-server: removed ${deleted} abandoned visitor${deleted === 1 ? '' : 's'} (no conversation, unused for ${options.visitorRetentionHours} h)`);
    }
    return deleted;
  };
  const purgeVisitors = () => (purging = purging.then(purgeOnce));
  void purgeVisitors();
  const purger = setInterval(() => {
    if (!purgeRunning) void purgeVisitors();
  }, Math.min(HOUR_MS, Math.max(60_000, retentionMs)));
  purger.unref();

  let closing: Promise<void> | undefined;
  async function shutdown(): Promise<void> {
    shuttingDown = true;
    clearInterval(heartbeat);
    clearInterval(sweeper);
    clearInterval(purger);
    http.close();
    http.closeIdleConnections();
    // Finish what was asked before the shutdown began (bounded, in case a request hangs).
    await Promise.race([Promise.all([...sessions].map((session) => session.drain())), delay(5000)]);
    const closed = new Promise<void>((resolve) => (allClosed = resolve));
    if (sessions.size === 0) allClosed?.();
    for (const session of sessions) session.goAway();
    await Promise.race([closed, delay(3000)]);
    await Promise.race([Promise.allSettled([...background]), delay(3000)]);
    http.closeAllConnections();
    wss.close();
    await fanout.close();
    // A purge run stops after the batch in progress.
    await purging;
    if (ownsStorage) await storage.close();
  }

  const url = `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`;
  const running: RunningServer = {
    url,
    port,
    get connections() {
      return sessions.size;
    },
    async revokeVisitor(userId) {
      const revoked = await storage.revokeVisitorTokens(userId, Date.now());
      for (const session of sessions) if (session.userId === userId) session.kick(CLOSE.unauthorized, 'The visit was ended.');
      return revoked;
    },
    purgeVisitors,
    close: () => (closing ??= shutdown()),
  };
  if (devSecret !== undefined) running.devSecret = devSecret;
  return running;
}
