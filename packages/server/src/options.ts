/**
 * The options of {@link startServer} and their defaults, shared by the CLI and the programmatic API.
 */
import { resolve } from 'node:path';
import { HELLO_TIMEOUT_MS } from '@perch/protocol';
import type { Fanout } from './fanout.js';
import type { RateLimit } from './rate-limit.js';
import type { Storage } from './storage/storage.js';

/** Options of {@link startServer}; everything is optional. */
export interface ServerOptions {
  /** TCP port; 0 picks a free one (default 8080). */
  port?: number;
  /** Interface to bind (default 127.0.0.1). */
  host?: string;
  /** SQLite file, or `:memory:` (default `./perch.db`). Ignored when `storage` is given. */
  db?: string;
  /** A storage engine to use instead of SQLite (e.g. a future PostgreSQL one). */
  storage?: Storage;
  /** A fan-out to use instead of the in-process one (e.g. a future Redis one). */
  fanout?: Fanout;
  /** Extra browser origins allowed to connect, besides the server's own (e.g. `https://www.example.com`). */
  origins?: string[];
  /** The HS256 secret shared with the site. Without one, only visitors can sign in. */
  secret?: string;
  /** Expected `aud` claim (default `perch`). */
  audience?: string;
  /** Expected `iss` claim (default `perch`). */
  issuer?: string;
  /**
   * Seconds by which the site's clock and this server's may differ (default 5): a token is taken
   * that long past its `exp`, and a connection signed in with it is closed that long after it.
   */
  clockToleranceSeconds?: number;
  /** Seed a demo company into an empty database and serve `/demo/token` and `/demo/people`. */
  demo?: boolean;
  /** A folder to serve over HTTP at `/`, absolute or relative to the working directory (the demo serves the repository's examples/). */
  staticDir?: string;
  /** How long to wait for `hello`, in ms (default {@link HELLO_TIMEOUT_MS}). */
  helloTimeoutMs?: number;
  /** Ping interval in ms; a socket that has not answered the previous ping is dropped (default 30000). */
  heartbeatMs?: number;
  /** Requests per connection (default 30/s, burst 60). */
  connectionRate?: RateLimit;
  /** Requests per identity, over all its connections to this process (default 60/s, burst 120). */
  identityRate?: RateLimit;
  /** New visitors per remote address (default 30/min, burst 30). */
  visitorRate?: RateLimit;
  /** Throttled requests within 10 s after which a connection is closed with 4029 (default 200). */
  floodLimit?: number;
  /** Bytes that may wait in a socket's send buffer before the reader is cut off with 4003 (default 1 MiB). */
  maxBufferedBytes?: number;
  /**
   * Connections one remote address (an IPv6 one per /64) may hold open that carry no signed-in user
   * of the site: HTTP requests, WebSockets that have not signed in yet, and visitors (default 256).
   * Further connections from it are closed at once. Users signed in with a token do not count.
   */
  maxAnonymousPerAddress?: number;
  /**
   * Connections one user (or visitor) may hold open at once (default 32). A browser holds one for
   * all its tabs; a sign-in beyond this is refused with `rate_limited` and closed with 4029, so a
   * leaked token cannot tie up the server's sockets.
   */
  maxConnectionsPerUser?: number;
  /**
   * Hours after which a visitor who belongs to no conversation, has no connection open and has not
   * signed in (been created, or come back with its visitor token) is removed with its tokens
   * (default 24). Visitors who chatted are kept. The purge runs at start and then every hour.
   */
  visitorRetentionHours?: number;
  /** Where operational messages go (default: stderr). */
  log?: (line: string) => void;
  /**
   * The server's clock in ms since the epoch, for what it stores (default `Date.now`). For tests,
   * e.g. to age visitors past the retention; token expiry always follows the real clock.
   */
  now?: () => number;
}

/** {@link ServerOptions} with every default filled in. */
export interface ResolvedOptions {
  port: number;
  host: string;
  db: string;
  origins: string[];
  secret: string | undefined;
  audience: string;
  issuer: string;
  clockToleranceSeconds: number;
  demo: boolean;
  staticDir: string | undefined;
  helloTimeoutMs: number;
  heartbeatMs: number;
  connectionRate: RateLimit;
  identityRate: RateLimit;
  visitorRate: RateLimit;
  floodLimit: number;
  maxBufferedBytes: number;
  maxAnonymousPerAddress: number;
  maxConnectionsPerUser: number;
  visitorRetentionHours: number;
  log: (line: string) => void;
  now: () => number;
}

/** Fills in the defaults and checks the values, throwing an Error that names the bad option. */
export function resolveOptions(options: ServerOptions): ResolvedOptions {
  const positive = (name: string, value: number | undefined, fallback: number, allowZero = false): number => {
    const chosen = value ?? fallback;
    if (!Number.isFinite(chosen) || chosen < 0 || (!allowZero && chosen === 0)) {
      throw new Error(`${name} must be a ${allowZero ? 'non-negative' : 'positive'} number; got ${String(value)}.`);
    }
    return chosen;
  };
  const rate = (name: string, value: RateLimit | undefined, fallback: RateLimit): RateLimit => ({
    perSecond: positive(`${name}.perSecond`, value?.perSecond, fallback.perSecond),
    burst: positive(`${name}.burst`, value?.burst, fallback.burst),
  });
  const port = positive('port', options.port, 8080, true);
  if (!Number.isInteger(port) || port > 65535) throw new Error(`port must be an integer from 0 to 65535; got ${port}.`);
  return {
    port,
    host: options.host ?? '127.0.0.1',
    db: options.db ?? './perch.db',
    origins: (options.origins ?? []).map(normaliseOrigin),
    secret: options.secret === '' ? undefined : options.secret,
    audience: options.audience ?? 'perch',
    issuer: options.issuer ?? 'perch',
    clockToleranceSeconds: positive('clockToleranceSeconds', options.clockToleranceSeconds, 5, true),
    demo: options.demo ?? false,
    staticDir: options.staticDir === undefined ? undefined : resolve(options.staticDir),
    helloTimeoutMs: positive('helloTimeoutMs', options.helloTimeoutMs, HELLO_TIMEOUT_MS),
    heartbeatMs: positive('heartbeatMs', options.heartbeatMs, 30_000),
    connectionRate: rate('connectionRate', options.connectionRate, { perSecond: 30, burst: 60 }),
    identityRate: rate('identityRate', options.identityRate, { perSecond: 60, burst: 120 }),
    visitorRate: rate('visitorRate', options.visitorRate, { perSecond: 0.5, burst: 30 }),
    floodLimit: positive('floodLimit', options.floodLimit, 200),
    maxBufferedBytes: positive('maxBufferedBytes', options.maxBufferedBytes, 1024 * 1024),
    maxAnonymousPerAddress: positive('maxAnonymousPerAddress', options.maxAnonymousPerAddress, 256),
    maxConnectionsPerUser: positive('maxConnectionsPerUser', options.maxConnectionsPerUser, 32),
    visitorRetentionHours: positive('visitorRetentionHours', options.visitorRetentionHours, 24),
    log: options.log ?? ((line) => process.stderr.write(`${line}\n`)),
    now: options.now ?? Date.now,
  };
}

/** `https://Example.com/` → `https://example.com`; throws for anything that is not an http(s) origin. */
export function normaliseOrigin(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`--origin ${JSON.stringify(value)} is not a URL; write it like https://www.example.com.`);
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.origin === 'null') {
    throw new Error(`--origin ${JSON.stringify(value)} must be an http or https origin, like https://www.example.com.`);
  }
  if (url.pathname !== '/' || url.search !== '' || url.hash !== '') {
    throw new Error(`--origin ${JSON.stringify(value)} must be an origin only (scheme, host and port), without a path.`);
  }
  return url.origin;
}
